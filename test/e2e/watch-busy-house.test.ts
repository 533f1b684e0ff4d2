import { renameSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { cancelInProcess } from '../helpers/in-process.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { gitCli } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';
import { countLooks, pushesAtPace } from '../helpers/look-count.js';
import { BUSY_HOUSE_MS } from '../../watcher/busy-housekeeping.js';

/**
 * A watcher busy with a run on a bus pushed to many times a second (issue 14, "no herd"): it looks at the remote a
 * few times a second, not at every push of the others, and still stops a cancelled run within moments.
 */
const children: ChildProcess[] = [];
/** The pace of the other nodes' pushes: several within each BUSY_HOUSE_MS. */
const PACE_MS = 75;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups) await c();
});

describe('a busy watcher on a busy bus', () => {
  it('looks at the remote at most every BUSY_HOUSE_MS while it runs, and still stops a cancelled run', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const home = await bus.addNode('worker', [], ['--runner', 'shell']);
    // A node with no watcher running, for the other work.
    await bus.addNode('idle', [], ['--runner', 'shell']);
    const w = startWatcher(home, ['--poll', '10m'], children);
    await until('the watcher to start', () => w.events().some((e) => e.type === 'started'), 60_000, w.stderr);
    const id = await bus.dispatch('boss', ['a long run', '--command', 'sleep 60', '--to', 'worker']);
    await until('the run to start', () => w.events().some((e) => e.type === 'claimed' && e.id === id), 30_000, w.stderr);

    const counted = countLooks(home);
    const pushes = 40;
    try {
      // Other work on the bus (for a node whose watcher is off), a push every PACE_MS for a few seconds.
      const spanMs = await pushesAtPace(pushes, PACE_MS, (i) => bus.dispatch('boss', [`other work ${i}`, '--command', 'true', '--to', 'idle']));
      const looks = counted.looks();
      // A look a second while the pushes came (the code before looked at each), and a trailing one or two.
      const bound = Math.ceil(spanMs / BUSY_HOUSE_MS) + 3;
      expect(looks, `${looks} looks for ${pushes} pushes in ${spanMs} ms`).toBeLessThanOrEqual(Math.min(bound, pushes - 5));
      expect(looks).toBeGreaterThan(0);
    } finally {
      counted.close();
    }

    // A cancel is still acted on while the run goes on: within moments, not at the next poll (ten minutes).
    await cancelInProcess(bus.home('boss'), id, 'enough');
    await until('the run stopped', () => w.events().some((e) => e.type === 'finished' && e.id === id), 20_000, w.stderr);
    expect(w.events().find((e) => e.type === 'finished' && e.id === id)?.status).toBe('cancelled');
    expect(w.events().filter((e) => e.type === 'error')).toEqual([]);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  }, 120_000);

  it('a busy watcher whose remote goes away and comes back sees it back at its retries, and stops a cancelled run', async () => {
    const bus = await makeBus({ node: 'boss', initArgs: ['--heartbeat', '2m', '--lease', '10m'] });
    cleanups.push(bus.cleanup);
    const home = await bus.addNode('worker', [], ['--runner', 'shell']);
    // A poll of 2 s: file watching of a remote renamed away and back is not what this test is about.
    const w = startWatcher(home, ['--poll', '2s', '--retry', '300ms', '--retry-max', '300ms'], children);
    await until('the watcher to start', () => w.events().some((e) => e.type === 'started'), 60_000, w.stderr);
    const id = await bus.dispatch('boss', ['a long run', '--command', 'sleep 120', '--to', 'worker']);
    await until('the run to start', () => w.events().some((e) => e.type === 'claimed' && e.id === id), 30_000, w.stderr);
    const away = `${bus.remote}.away`;
    renameSync(bus.remote, away);
    // A file event (the remote's refs/heads, still watched under its new name) wakes the watcher: its look fails.
    const main = gitCli(['--git-dir', away, 'rev-parse', 'main']).trim();
    writeFileSync(join(away, 'refs', 'heads', 'poke'), `${main}\n`);
    await until('the remote-down event', () => w.events().some((e) => e.type === 'remote-down'), 10_000, w.stderr);
    renameSync(away, bus.remote);
    // Retries every 300 ms while the run goes on: back within moments, not when the run ends (two minutes).
    await until('the remote-up event', () => w.events().some((e) => e.type === 'remote-up'), 15_000, w.stderr);
    await cancelInProcess(bus.home('boss'), id, 'enough');
    await until('the run stopped', () => w.events().some((e) => e.type === 'finished' && e.id === id), 20_000, w.stderr);
    expect(w.events().find((e) => e.type === 'finished' && e.id === id)?.status).toBe('cancelled');
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  }, 120_000);
});
