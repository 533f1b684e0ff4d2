import type { Running } from './claimed-run.js';
import type { ResultDelivery } from './result-delivery.js';
import type { WatchOptions } from './watch-events.js';
import { timerMs } from '../bus/long-timeout.js';
import { groupsEnded } from './runners/process-group.js';

export interface ShutdownDeps {
  opts: Pick<WatchOptions, 'onEvent' | 'graceMs' | 'hurry'>;
  /** This watcher's runs by task id. */
  running: ReadonlyMap<string, Running>;
  /** Aborted when the grace period is over: the runs still going stop and give their tasks back (watcher/claimed-run.ts). */
  kill: AbortController;
  /** Results on their way to the bus (watcher/result-delivery.ts). */
  delivery: Pick<ResultDelivery, 'flush' | 'held' | 'settled'>;
  /** The heartbeat that says the watcher stopped (watcher/heartbeats.ts). */
  goodbye: () => Promise<void>;
  report: (err: unknown) => void;
}

export interface Shutdown {
  /** The runs still going get the grace period (WatchOptions.graceMs, default 30 s), then are aborted; resolves when all are over. */
  endRuns: () => Promise<void>;
  /** The last steps once no run is left: held results get one more try, the goodbye beat, the `stopped` event. */
  finish: () => Promise<void>;
}

/** Resolves when `stop` is aborted (at once when it already is). */
export function stoppedBy(stop: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => (stop.aborted ? resolve() : stop.addEventListener('abort', () => resolve(), { once: true })));
}

/**
 * The end of a watcher (SIGTERM/SIGINT, or `--once` done): it claims nothing more, its runs get the grace period
 * and are then aborted (each gives its task back), results it could keep only in memory get a last try, and its
 * last heartbeat says it stopped.
 */
export function shutdown(deps: ShutdownDeps): Shutdown {
  const { opts, running, kill, delivery, report } = deps;
  /** Before exiting: results held in memory (a full disk) get one more try; any left are named, since they die with this process. */
  const lastChance = async (): Promise<void> => {
    if (delivery.held.size === 0) return;
    await delivery.flush().catch(report);
    for (const e of delivery.held.values()) opts.onEvent({ type: 'error', message: `the result of ${e.id} (attempt ${e.attempt}, ${e.input.status}) could be neither stored nor pushed and is lost with this watcher; the task will run again`, code: 'DISK_FULL' });
  };
  // One grace period for the whole stop, runs and background pushes alike: a service manager's stop timeout
  // (systemd's TimeoutStopSec, launchd's ExitTimeOut) allows for one, then kills the watcher before its goodbye.
  let deadline: number | undefined;
  const graceLeft = (): number => (opts.hurry?.aborted ? 0 : Math.max(0, (deadline ??= Date.now() + (opts.graceMs ?? 30_000)) - Date.now()));
  /** What is left of the grace period, cut short when the person asks again (WatchOptions.hurry). */
  const graceOver = <T>(value: T): Promise<T> =>
    new Promise<T>((r) => {
      setTimeout(() => r(value), timerMs(graceLeft())).unref();
      opts.hurry?.addEventListener('abort', () => r(value), { once: true });
    });
  return {
    endRuns: async () => {
      const left = graceLeft();
      if (running.size === 0) return;
      // Said at once: a person who pressed Ctrl-C would otherwise see nothing until the runs end, up to the grace.
      const going = () => [...running.keys()];
      opts.onEvent({ type: 'stopping', runs: going(), graceMs: left });
      if (left > 0) opts.hurry?.addEventListener('abort', () => running.size > 0 && opts.onEvent({ type: 'stopping', runs: going(), graceMs: 0 }), { once: true });
      const all = Promise.all([...running.values()].map((r) => r.done)).then(() => 'done' as const);
      if (left === 0 || (await Promise.race([graceOver('grace' as const), all])) === 'grace') kill.abort();
      await all;
    },
    finish: async () => {
      // A refused push tried again, or the delivery of one that landed, may be under way beside the drain: it gets
      // what is left of the grace period (a node run only by `--once` would otherwise never publish it). Cut short,
      // nothing is lost: the note stays in <home>/pushes/ until the bus has the delivery, and the next start publishes it.
      await Promise.race([delivery.settled(), graceOver(undefined)]);
      // What the runs left in their groups (a child that ignores SIGTERM) is killed before the watcher goes.
      await groupsEnded();
      await lastChance();
      await deps.goodbye();
      opts.onEvent({ type: 'stopped' });
    },
  };
}
