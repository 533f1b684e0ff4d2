import { execFileSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listRunning } from '../../watcher/running-record.js';
import { BIN, gitbus, json, ROOT, spawnBounded } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { groupAlive, groupArgs, running } from '../helpers/process-group.js';
import { until } from '../helpers/wait.js';
import { startWatcher } from '../helpers/watcher-process.js';

/**
 * How a watcher stops with a run under way: on SIGTERM it waits out the SIGKILL of what the run left that ignores
 * SIGTERM (before, that child outlived it and ran beside the task's next attempt); a hangup (its terminal or SSH
 * session closed) stops it as SIGTERM does, and a Ctrl-C after it ends the grace period at once; on a real
 * pseudo-terminal that hangs up (test/fixtures/hangup-after.py), the writes to the gone terminal are dropped and it
 * exits 0 (before, Node's default ended it at once, and once handled, its first event threw EIO).
 */
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups) await c();
});

async function busWithWorker(command: string) {
  const bus = await makeBus({ node: 'boss' });
  cleanups.push(bus.cleanup);
  const worker = await bus.addNode('worker', [], ['--runner', 'shell']);
  const id = await bus.dispatch('boss', ['a run under way', '--command', command, '--to', 'worker']);
  return { bus, worker, id };
}

const python = (() => {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('a watcher stopped with a run under way', () => {
  it('on SIGTERM kills what its run left that ignores SIGTERM before it exits, and nothing of the run outlives it', async () => {
    const { worker, id } = await busWithWorker('(trap "" TERM; exec sleep 117) & sleep 118');
    const w = startWatcher(worker, ['--grace', '1s', '--no-serve'], children);
    const explain = () => JSON.stringify(w.events()) + w.stderr();
    await until('the run record', () => listRunning(worker).some((r) => r.id === id), 30_000, explain);
    const pid = listRunning(worker).find((r) => r.id === id)?.pid ?? 0;
    // The deaf child is up (it and its shell's sleep are in the run's group).
    await until('the run to start its child', () => groupArgs(pid).includes('sleep 117'), 30_000, () => groupArgs(pid));
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    // Killed by the time the watcher is gone: it waited out the SIGKILL the deaf child needed (a moment more for its
    // new parent to reap it). Before, the child lived on, its SIGKILL timer gone with the watcher.
    await until('the deaf child to be gone', () => !groupAlive(pid), 5_000, () => groupArgs(pid));
    expect(w.events().some((e) => e.type === 'released' && e.id === id)).toBe(true);
  }, 90_000);

  it('on a hangup stops as on SIGTERM, and a Ctrl-C after it ends the grace period at once: the run stopped, its task given back, exit 0', async () => {
    const { worker, id } = await busWithWorker('sleep 119');
    const w = startWatcher(worker, ['--grace', '10m', '--no-serve'], children);
    const explain = () => JSON.stringify(w.events()) + w.stderr();
    await until('the run', () => running('sleep 119'), 30_000, explain);
    // A hangup starts the stop (Node's default would end the process there, the run left behind and its claim held);
    // a Ctrl-C after it ends the 10-minute grace period (a second hangup would not: a closing terminal sends two).
    // Repeated until it is gone, since signals of one kind sent close together may arrive as one.
    w.child.kill('SIGHUP');
    const interrupts = setInterval(() => w.child.kill('SIGINT'), 500);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([w.exited, new Promise<'in its grace period'>((r) => (timer = setTimeout(() => r('in its grace period'), 60_000)))]);
    clearTimeout(timer);
    clearInterval(interrupts);
    expect(code, explain()).toBe(0);
    expect(w.events().some((e) => e.type === 'released' && e.id === id), explain()).toBe(true);
    // Said at once, not after the wait: what it waits for and how long; then that the wait was cut short.
    const stopping = w.events().filter((e) => e.type === 'stopping').map(({ type, runs, graceMs }) => ({ type, runs, graceMs }));
    expect(stopping, explain()).toEqual([
      { type: 'stopping', runs: [id], graceMs: expect.any(Number) },
      { type: 'stopping', runs: [id], graceMs: 0 },
    ]);
    expect(stopping[0]?.graceMs).toBeGreaterThan(9 * 60_000);
    await until('the run to be gone', () => !running('sleep 119'), 10_000);
  }, 120_000);

  it.skipIf(!python && process.env['CI'] !== 'true')('on a real terminal that hangs up: its run stopped, the task given back, exit 0, the writes to the gone terminal dropped', async () => {
    const { bus, worker, id } = await busWithWorker('sleep 143');
    const r = await spawnBounded('python3', [join(ROOT, 'test/fixtures/hangup-after.py'), '"type":"claimed"', '60', process.execPath, BIN, 'watch', '--json', '--no-serve', '--grace', '1s'], {
      env: { ...process.env, GITBUS_HOME: worker },
      timeoutMs: 90_000,
    });
    expect(r.stdout.trim(), r.stderr).toBe('exit 0');
    const shown = json<{ files: { path: string }[] }>(await gitbus(['show', id, '--json'], { home: bus.home('boss') }));
    expect(shown.files.map((f) => f.path)).toContain(`releases/${id}.1.md`);
    await until('the run to be gone', () => !running('sleep 143'), 10_000);
  }, 120_000);
});
