import { availableParallelism } from 'node:os';

/** What the ceiling needs of a throughput row (bench/throughput.ts Throughput). */
export interface OneWatcher {
  perSecond: number;
  cpuMsPerTask: number;
}

/**
 * What no number of watchers on this machine can pass with no-op tasks: its cores kept busy by nothing but one
 * watcher's own CPU per task (its cycle: fetch, decide, claim, run `true`, answer). Every watcher added spends at
 * least that per task it takes, plus its wakes on the others' commits, so where this is below 2x one watcher the
 * issue's 8-watcher target cannot be met here whatever the protocol does; on machines of their own the watchers'
 * CPU does not add up, and the rows with real work measure the coordination (docs/PERFORMANCE.md).
 */
export function noOpCeiling(one: OneWatcher, cores = availableParallelism()): string {
  const ceiling = (cores * 1000) / Math.max(one.cpuMsPerTask, 0.001);
  const times = ceiling / one.perSecond;
  const verdict = times >= 2 ? 'leaves room for the target of 2x' : 'the target of 2x cannot be met on this machine';
  return `this machine's ceiling for no-op tasks, any number of watchers: ${cores} cores / ${one.cpuMsPerTask.toFixed(0)} ms of CPU a task (one watcher's own) = ${ceiling.toFixed(1)} tasks/s, ${times.toFixed(2)}x one watcher: ${verdict}`;
}

/**
 * Why 8 watchers fall below 4 with no-op tasks on shared cores: each watcher looks at every other watcher's push (to
 * learn what changed), so each one added costs a share of CPU per task; when the rows already keep the cores busy,
 * tasks per second are cores / CPU per task, and more watchers can only mean fewer. On machines of their own those
 * looks run in parallel and do not add up.
 */
export function addedWatcherCost(four: OneWatcher, eight: OneWatcher, cores = availableParallelism()): string {
  const used = (t: OneWatcher) => (t.perSecond * t.cpuMsPerTask) / 1000;
  const perAdded = (eight.cpuMsPerTask - four.cpuMsPerTask) / 4;
  const busy = used(four) >= 0.75 * cores && used(eight) >= 0.75 * cores;
  const verdict = busy
    ? 'both rows keep the cores busy, so 8 watchers cannot match 4 here while a look costs CPU'
    : 'the cores are not kept busy: the rows measure the coordination';
  return `each watcher added: ${perAdded.toFixed(0)} ms of CPU a task (its looks at the others' pushes); cores in use: 4 watchers ${used(four).toFixed(2)}, 8 watchers ${used(eight).toFixed(2)} of ${cores}: ${verdict}`;
}
