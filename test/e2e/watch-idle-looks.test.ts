import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { gitCli } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';
import { countLooks, pushesAtPace } from '../helpers/look-count.js';
import { IDLE_LOOK_MS } from '../../watcher/idle-looks.js';

/**
 * An idle watcher on a bus pushed to many times a second with work that is not its own (issue 14, "no herd"): it
 * looks at the remote a few times a second rather than at every push, sees the last push, and still claims a task
 * for it as soon as its next look comes.
 */
const children: ChildProcess[] = [];
/** The pace of the other work's pushes: several within each IDLE_LOOK_MS. */
const PACE_MS = 100;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups) await c();
});

describe('an idle watcher on a busy bus', () => {
  it('looks at the remote at most every IDLE_LOOK_MS while pushes for others come, sees the last, and claims its own task', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const home = await bus.addNode('worker', [], ['--runner', 'shell']);
    // The node the other work is for; no watcher runs for it.
    await bus.addNode('other', [], ['--runner', 'shell']);
    const w = startWatcher(home, ['--poll', '10m'], children);
    await until('the watcher to start', () => w.events().some((e) => e.type === 'started'), 60_000, w.stderr);
    const remoteMain = () => gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']).trim();
    const cloneMain = () => gitCli(['--git-dir', join(home, 'clone.git'), 'rev-parse', 'main']).trim();
    // Its first rounds done: the watcher's clone holds main as the remote has it.
    await until('the first look', () => cloneMain() === remoteMain(), 15_000, w.stderr);

    const counted = countLooks(home);
    const pushes = 40;
    const t0 = Date.now();
    try {
      const spanMs = await pushesAtPace(pushes, PACE_MS, (i) => bus.dispatch('boss', [`other work ${i}`, '--command', 'true', '--to', 'other']));
      // The last push is looked at (the held wake at the interval's end), not left to the poll ten minutes away.
      const last = remoteMain();
      await until('the last push looked at', () => cloneMain() === last, 10_000, w.stderr);
      const looks = counted.looks();
      // A look a quarter of a second while the pushes came (the code before looked at each), and a trailing one or two.
      const bound = Math.ceil((Date.now() - t0) / IDLE_LOOK_MS) + 3;
      expect(looks, `${looks} looks for ${pushes} pushes in ${spanMs} ms`).toBeLessThanOrEqual(Math.min(bound, pushes - 10));
      expect(looks).toBeGreaterThan(0);
    } finally {
      counted.close();
    }

    // Work for it is still claimed at its next look, and run.
    const id = await bus.dispatch('boss', ['its own', '--command', 'true', '--to', 'worker']);
    await until('its task finished', () => w.events().some((e) => e.type === 'finished' && e.id === id), 20_000, w.stderr);
    expect(w.events().find((e) => e.type === 'finished' && e.id === id)?.status).toBe('succeeded');
    expect(w.events().filter((e) => e.type === 'error')).toEqual([]);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  }, 120_000);
});
