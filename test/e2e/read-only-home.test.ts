import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, json, spawnBounded, TEST_CACHE_HOME, neutralCwd } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { until } from '../helpers/wait.js';

type ErrorJson = { error: { code: string; message: string; fix: string } };

/** Mounting a folder read-only in a mount namespace of its own needs root (or CAP_SYS_ADMIN): try it once. */
function readOnlyMountWorks(): boolean {
  const probe = join('/tmp', `gitbus-ro-probe-${process.pid}`);
  mkdirSync(probe, { recursive: true });
  try {
    return spawnSync('unshare', ['-m', 'sh', '-c', `mount --bind ${probe} ${probe} && mount -o remount,ro,bind ${probe}`], { stdio: 'ignore', timeout: 10_000 }).status === 0;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
const canMount = readOnlyMountWorks();
if (!canMount && process.env['CI'] === 'true') throw new Error('cannot mount a folder read-only (unshare -m), and CI must run the read-only home tests: run them as root');
if (!canMount) console.warn('read-only home tests skipped: unshare -m with a bind mount is not permitted here (run as root)');

const cleanups: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups) await c();
});

/** `gitbus ARGS` by the node of `home`, with that home mounted read-only for this process alone. */
function gitbusReadOnly(home: string, args: string[]) {
  const env = { ...process.env, XDG_CACHE_HOME: TEST_CACHE_HOME, GITBUS_HOME: home };
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return spawnBounded('unshare', ['-m', 'sh', '-c', `mount --bind '${home}' '${home}' && mount -o remount,ro,bind '${home}' && exec ${quoted}`], { cwd: neutralCwd(), env, timeoutMs: 60_000 });
}

describe.skipIf(!canMount)('a node whose home is read-only', () => {
  it('is LOCAL_IO (exit 10) naming the folder when it must fetch what main gained, not an internal error', async () => {
    const bus = await makeBus({ node: 'alpha' });
    cleanups.push(bus.cleanup);
    const b = await bus.addNode('b');
    // main moves after b last fetched: b's next command must write the new objects into its clone.
    for (let i = 0; i < 3; i++) await bus.dispatch('alpha', [`moved ${i}`]);
    const r = await gitbusReadOnly(b, ['status', '--json']);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(10);
    const err = json<ErrorJson>(r).error;
    expect(err.code).toBe('LOCAL_IO');
    expect(err.message).toContain(b);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("a watcher whose clone is read-only says LOCAL_IO once with the fix, not at every wake, and goes on", async () => {
    const bus = await makeBus({ node: 'alpha', initArgs: ['--heartbeat', '1s'] });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('w', [], ['--runner', 'shell']);
    const clone = join(w, 'clone.git');
    // The clone alone is read-only (in this process's mount namespace): the watcher's lock and logs are writable.
    const env = { ...process.env, XDG_CACHE_HOME: TEST_CACHE_HOME, GITBUS_HOME: w };
    const child = spawn('unshare', ['-m', 'sh', '-c', `mount --bind '${clone}' '${clone}' && mount -o remount,ro,bind '${clone}' && exec '${process.execPath}' '${BIN}' watch --json`], { cwd: neutralCwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const errors = () => out.split('\n').filter((l) => l.startsWith('{') && l.includes('"type":"error"')).map((l) => JSON.parse(l) as { code: string; fix?: string });
    await until('the failure to be said', () => errors().length > 0, 30_000, () => out);
    expect(errors()[0]?.code).toBe('LOCAL_IO');
    expect(errors()[0]?.fix).toContain('read-only');
    // Every beat (each second) and every move of main wakes it, and each wake fails the same way: said once.
    for (let i = 0; i < 3; i++) await bus.dispatch('alpha', [`moved ${i}`, '--to', 'alpha']);
    const saidAt = Date.now();
    await until('5 s more', () => Date.now() - saidAt >= 5_000, 10_000);
    expect(errors(), out).toHaveLength(1);
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
  }, 120_000);
});
