import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { BIN, tempDir } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';

/**
 * A watcher's file events on a local remote (watcher/wake-on-change.ts), with polls ten minutes apart so that only
 * a file event can wake it within the test's bounds: a remote replaced under it by another process is watched anew,
 * and a folder the kernel will not watch is said once, with the fix, while the others still wake it.
 */
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups.reverse()) await c();
});

/** Dispatches a task to `node` at each check (a push each, at most 20) until the watcher has claimed one of them. */
async function claimedSoon(bus: Awaited<ReturnType<typeof makeBus>>, watcher: WatcherProcess, node: string, what: string): Promise<void> {
  const ids: string[] = [];
  await until(`a task dispatched ${what} to be claimed`, async () => {
    if (watcher.events().some((e) => e.type === 'claimed' && ids.includes(e.id ?? ''))) return true;
    if (ids.length < 20) ids.push(await bus.dispatch('boss', [`${what} ${ids.length}`, '--command', 'true', '--to', node]));
    return false;
  }, 15_000, watcher.stderr);
}

describe('watch: file events of a local remote', () => {
  it.concurrent('a remote replaced by a copy, by another process, while the watcher runs is watched anew: a task dispatched after is claimed at once', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('worker', [], ['--runner', 'shell']);
    const watcher = startWatcher(w, ['--poll', '10m', '--retry', '300ms', '--retry-max', '300ms'], children);
    await until('the watcher to start', () => watcher.events().some((e) => e.type === 'started'), 60_000, watcher.stderr);
    // As a person would: a copy made, the old one moved aside and the copy moved into its place, in a shell. The
    // watcher gets there whichever way the events fall: the move re-watches the path, a look that finds it away is an
    // outage whose end re-watches it; test/integration/wake-on-change.test.ts pins each way alone.
    const r = bus.remote;
    await promisify(execFile)('sh', ['-c', `git clone -q --bare "${r}" "${r}.new" && mv "${r}" "${r}.old" && mv "${r}.new" "${r}"`]);
    await claimedSoon(bus, watcher, 'worker', 'after the copy');
    watcher.child.kill('SIGTERM');
    expect(await watcher.exited).toBe(0);
  }, 120_000);

  it.concurrent("a folder the kernel will not watch (ENOSPC) is said once with the fix; the remote's folders still wake the watcher", async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('worker', [], ['--runner', 'shell']);
    const dir = await tempDir('gitbus-enospc-');
    cleanups.push(dir.cleanup);
    // node:fs's watch refuses the clone's refs folder as the kernel does past fs.inotify.max_user_watches.
    const preload = join(dir.path, 'no-watch.mjs');
    writeFileSync(
      preload,
      `import { createRequire, syncBuiltinESMExports } from 'node:module';
const fs = createRequire(import.meta.url)('node:fs');
const real = fs.watch;
fs.watch = (path, ...rest) => {
  if (String(path).endsWith('clone.git/refs/heads')) throw Object.assign(new Error("ENOSPC: System limit for number of file watchers reached, watch '" + path + "'"), { code: 'ENOSPC', errno: -28, syscall: 'watch' });
  return real(path, ...rest);
};
syncBuiltinESMExports();
`,
    );
    const watcher = startWatcher(w, ['--poll', '10m'], children, { NODE_OPTIONS: `--import=${preload}` });
    await until('the watcher to start', () => watcher.events().some((e) => e.type === 'started'), 60_000, watcher.stderr);
    await claimedSoon(bus, watcher, 'worker', 'with a folder unwatched');
    const said = watcher.events().filter((e) => e.type === 'file-events-unavailable');
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ why: 'ENOSPC', folder: join(w, 'clone.git', 'refs', 'heads') });
    expect(String(said[0]?.['fix'])).toContain('fs.inotify.max_user_watches');
    expect(watcher.events().filter((e) => e.type === 'error')).toEqual([]);
    watcher.child.kill('SIGTERM');
    expect(await watcher.exited).toBe(0);
    // For people: a warning with the fix on a line of its own.
    const human = spawn(process.execPath, [BIN, 'watch', '--poll', '10m'], { env: { ...process.env, GITBUS_HOME: w, NODE_OPTIONS: `--import=${preload}` }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(human);
    let out = '';
    human.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    human.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => human.on('close', (code) => r(code)));
    await until('the warning to be printed', () => out.includes('watching as worker') && out.includes('fix: raise'), 60_000, () => out);
    human.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain(`warning: file events for ${join(w, 'clone.git', 'refs', 'heads')} are not available (ENOSPC)`);
    expect(out).toMatch(/\n {2}fix: raise the kernel's limits on file watches \(sysctl fs\.inotify\.max_user_watches/);
  }, 120_000);
});
