import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { gitbus, json } from '../helpers/cli.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { makeBus } from '../helpers/bus.js';
import { until } from '../helpers/wait.js';
import { runsHere } from '../../watcher/running-record.js';

/**
 * A claim given back by hand while its run still goes on this machine: `release` on the holder while its watcher runs
 * the task, and `leave --release` after the watcher was killed and its run went on. Given back, the task would run on
 * another node beside the run, and the run's result would be refused. Both are refused (RUN_STILL_GOES, exit 5),
 * with the fix. Real watcher processes, a real bus.
 */
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups) await c();
});

describe('giving back a claim whose run still goes here', () => {
  it('release while the watcher runs it, and leave --release after the watcher died with its run going: refused, exit 5, the claim kept', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('worker', [], ['--runner', 'shell']);
    const id = await bus.dispatch('boss', ['still going', '--command', 'sleep 131', '--to', 'worker']);
    const watcher = startWatcher(w, ['--poll', '1s', '--no-serve'], children);
    await until('the run', () => [...runsHere(w).keys()].includes(`${id}.1`), 30_000, () => JSON.stringify(watcher.events()) + watcher.stderr());

    const r = await gitbus(['release', id, '--json'], { home: w });
    expect(r.code, r.stderr).toBe(5);
    expect(json<{ error: { code: string; fix: string } }>(r).error).toMatchObject({ code: 'RUN_STILL_GOES', fix: expect.stringContaining('gitbus cancel ID') as string });
    const shown = json<{ state: string }>(await gitbus(['show', id, '--json'], { home: bus.home('boss') }));
    expect(shown.state).toBe('claimed');

    // The watcher killed, its run going on: leaving with --release would give the task to another node beside it.
    watcher.child.kill('SIGKILL');
    await watcher.exited;
    expect([...runsHere(w).keys()]).toContain(`${id}.1`);
    const left = await gitbus(['leave', '--release', '--json'], { home: w });
    expect(left.code, left.stderr).toBe(5);
    expect(json<{ error: { code: string } }>(left).error.code).toBe('RUN_STILL_GOES');
    expect(json<{ state: string }>(await gitbus(['show', id, '--json'], { home: bus.home('boss') })).state).toBe('claimed');
    for (const pid of runsHere(w).values()) process.kill(-pid, 'SIGKILL');
  }, 90_000);
});
