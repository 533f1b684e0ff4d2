import { monotonicMs } from '../bus/monotonic.js';

/**
 * How often, at most, an idle watcher looks at the remote while other nodes push work that is not its own.
 * A node whose labels, runners or address take none of a busy bus's work looked at every push (a fetch, a snapshot,
 * a claim decision that found nothing), about 10 ms of CPU each on the bench machine: seven such watchers beside one
 * that worked cost three times its CPU and cut its throughput by three quarters (issue 14, "no herd";
 * docs/PERFORMANCE.md "An idle watcher on a busy bus, session 64"). A quarter of a second is the longest a new task
 * for such a node waits for its look, and only while the bus is pushed to more often than that: a push that comes a
 * quarter of a second after the last round began is looked at at once, and so is one after a round that found main
 * where this node left it (wake-rounds.ts): the next task of a node that just answered one is claimed at once.
 */
export const IDLE_LOOK_MS = 250;

export interface IdleLooks {
  /**
   * A wake for a push of another node, while no round runs: true when it is held, because the last round found
   * others' pushes and nothing to do, and began less than the interval ago; a single wake then comes at the
   * interval's end, which looks at every push held meanwhile.
   */
  hold: () => boolean;
  /** A round of the watcher began (a look, its housekeeping, its claims). */
  began: () => void;
  /** That round ended; `idle`: it found others' pushes and started no run (wake-rounds.ts holds nothing while one goes). */
  ended: (idle: boolean) => void;
  stop: () => void;
}

/** The wakes an idle watcher's rounds may hold (IDLE_LOOK_MS), and the one `wake` made for them at the interval's end. */
export function idleLooks(wake: () => void, everyMs = IDLE_LOOK_MS, now: () => number = monotonicMs): IdleLooks {
  let began = Number.NEGATIVE_INFINITY;
  let idle = false;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  return {
    hold: () => {
      if (!idle || stopped) return false;
      const wait = began + everyMs - now();
      if (wait <= 0) return false;
      if (!timer) {
        // stop() clears it.
        timer = setTimeout(() => {
          timer = null;
          wake();
        }, wait);
        timer.unref();
      }
      return true;
    },
    began: () => {
      began = now();
    },
    ended: (wasIdle) => {
      idle = wasIdle;
    },
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
