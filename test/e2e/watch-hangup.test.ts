import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, gitbus, json, ROOT, spawnBounded } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { until } from '../helpers/wait.js';

/**
 * A watcher run in a terminal that is closed (a window, an SSH session): the terminal hangs up, the kernel and the
 * shell send SIGHUP, and every write to the terminal fails (EIO). It stops as on SIGTERM: its run is stopped, its task
 * given back, exit 0; the writes it makes meanwhile are dropped. Before, the hangup killed it at once (Node's default),
 * and once handled, its first event after the hangup threw EIO and ended it mid-stop. A real pseudo-terminal
 * (test/fixtures/hangup-after.py).
 */
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

const python = (() => {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!python && process.env['CI'] !== 'true')('a watcher whose terminal hangs up', () => {
  it('stops its run, gives the task back and exits 0, the writes to the gone terminal dropped', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('worker', [], ['--runner', 'shell']);
    const id = await bus.dispatch('boss', ['in a terminal', '--command', 'sleep 143', '--to', 'worker']);
    const r = await spawnBounded('python3', [join(ROOT, 'test/fixtures/hangup-after.py'), '"type":"claimed"', '60', process.execPath, BIN, 'watch', '--json', '--no-serve', '--grace', '1s'], {
      env: { ...process.env, GITBUS_HOME: w },
      timeoutMs: 90_000,
    });
    expect(r.stdout.trim(), r.stderr).toBe('exit 0');
    const shown = json<{ state: string; files: { path: string; text: string }[] }>(await gitbus(['show', id, '--json'], { home: bus.home('boss') }));
    expect(shown.files.map((f) => f.path)).toContain(`releases/${id}.1.md`);
    await until('the run to be gone', () => !execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).includes('sleep 143'), 10_000);
  }, 120_000);
});
