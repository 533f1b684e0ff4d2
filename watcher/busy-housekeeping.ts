import { monotonicMs } from '../bus/monotonic.js';

/**
 * How often, at most, a watcher whose drain is running keeps house for a wake (a push of another node, a tick): its
 * cancels are then seen within a second, and a bus pushed to many times a second is looked at once a second, not at
 * every push. Eight watchers of no-op tasks on one remote made ~30 pushes a second, each looked at by every watcher;
 * a quarter of a second kept more of that cost than a second did (issue 14, docs/PERFORMANCE.md "What an added
 * watcher costs, session 61").
 */
export const BUSY_HOUSE_MS = 1_000;

export interface BusyHousekeeping {
  /**
   * A wake while the drain runs: housekeeping now if none started within the interval, else once at its end; and
   * when a round is under way, once more after it (a round already past its look would not see the wake's change).
   */
  wake: () => void;
  /** A round started another way (the drain's own, a tick's): the interval counts from now, the round is awaited. */
  started: (round: Promise<unknown>) => void;
  stop: () => void;
}

/**
 * `keep` (the watcher's housekeeping; a call while a round runs joins it, or returns null when none may run now) at
 * most once per `everyMs` for the wakes that arrive while a drain runs.
 */
export function busyHousekeeping(keep: () => Promise<unknown> | null, everyMs = BUSY_HOUSE_MS, now: () => number = monotonicMs): BusyHousekeeping {
  let last = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let owed = false;
  let stopped = false;
  const track = (round: Promise<unknown>) => {
    running = round;
    const settled = () => {
      if (running !== round) return;
      running = null;
      if (owed && !stopped) {
        owed = false;
        wake();
      }
    };
    round.then(settled, settled);
  };
  const run = () => {
    timer = null;
    if (running !== null) {
      owed = true;
      return;
    }
    last = now();
    const round = keep();
    if (round !== null) track(round);
  };
  const wake = () => {
    if (stopped) return;
    if (running !== null) {
      owed = true;
      return;
    }
    if (timer) return;
    const wait = last + everyMs - now();
    if (wait <= 0) return run();
    // Trailing: the change that arrived within the interval is looked at when it ends, not left to the next push.
    timer = setTimeout(run, wait);
    timer.unref();
  };
  return {
    wake,
    started: (round) => {
      last = now();
      track(round);
    },
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
