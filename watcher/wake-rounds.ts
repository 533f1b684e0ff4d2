import type { RemoteHealth } from './remote-health.js';
import type { WakeReason } from './wake-reason.js';
import { idleLooks, type IdleLooks } from './idle-looks.js';

export interface WakeRoundsDeps {
  stop: AbortSignal;
  health: Pick<RemoteHealth, 'isDown' | 'earlyLook'>;
  /** A round of housekeeping (watcher/housekeeping.ts); false when it could not reach the remote. */
  keepHouse: () => Promise<boolean>;
  /** A wake while a drain runs: housekeeping at most every BUSY_HOUSE_MS (watcher/busy-housekeeping.ts). */
  busyWake: () => void;
  /** The claims of a wake (watcher/claims.ts `drain`). */
  drain: (why: WakeReason) => Promise<void>;
  /** How many runs this watcher has started so far. */
  starts: () => number;
  /** Runs going on now. */
  runs: () => number;
  /** How many looks so far found main moved by others (a fetch), not where this node's own writes left it. */
  fetched: () => number;
  /** The idle rounds' holding of wakes (watcher/idle-looks.ts); made here by default. */
  idle?: (wake: () => void) => IdleLooks;
}

export interface WakeRounds {
  /** A reason to look at the remote: served now, joined to the round under way, or (idle-looks.ts) held briefly. */
  wake: (why: WakeReason) => Promise<void>;
  /** The round under way, if any. */
  readonly draining: Promise<void> | null;
  stop: () => void;
}

/**
 * The watcher's wakes (watcher/watch.ts): each starts a round (housekeeping, then claims) unless one runs, in which
 * case it is remembered and served when that ends, so no change is missed. While the remote is down only the retry
 * timer, a heartbeat that got through and one early look per wait may look, so that file events cannot turn the
 * backoff into a busy loop. A push that finds the watcher idle after a round that found others' pushes and nothing
 * for it waits for the end of IDLE_LOOK_MS (watcher/idle-looks.ts).
 */
export function wakeRounds(deps: WakeRoundsDeps): WakeRounds {
  const { stop, health, keepHouse, busyWake, drain, starts, runs, fetched } = deps;
  let draining: Promise<void> | null = null;
  const mayLook = (why: WakeReason): boolean => {
    if (stop.aborted) return false;
    if (!health.isDown || why === 'retry' || why === 'beat') return true;
    return why === 'change' && health.earlyLook();
  };
  let wakeAgain: WakeReason | null = null;
  // Its one wake comes from a timer, once `wake` below exists.
  const idle = (deps.idle ?? idleLooks)(() => void wake('change'));
  const wake = (why: WakeReason): Promise<void> => {
    // Only pushes are held: a tick, a freed slot, a rank's deadline, a retry or a beat is served as it comes; and
    // not while a run goes, though no round started it (a claim that rode with a result): the push may cancel it.
    if (why === 'change' && draining === null && !health.isDown && runs() === 0 && idle.hold()) return Promise.resolve();
    if (!mayLook(why)) return draining ?? Promise.resolve();
    // Counted before the housekeeping below starts this round's look.
    const startsBefore = starts();
    const fetchedBefore = fetched();
    // Housekeeping (cancels above all) runs at every wake, even while all slots are busy and the drain is waiting
    // for a run to end: a cancel pushed to a local remote is acted on within moments, not at the next beat. While a
    // drain runs, at most every BUSY_HOUSE_MS: a bus pushed to many times a second is not looked at for each push.
    // During an outage no: mayLook lets through only the retry timer, a beat and one early look per wait, and each
    // must look, or the outage is never seen to end while a run holds the slots.
    if (draining && !health.isDown) busyWake();
    else void keepHouse();
    if (draining) {
      // A remembered change outranks a freed slot: it may have woken the other watchers too.
      wakeAgain = wakeAgain === 'change' || wakeAgain === 'tick' ? wakeAgain : why;
      return draining;
    }
    idle.began();
    draining = (async () => {
      let reason: WakeReason | null = why;
      do {
        const now: WakeReason = reason ?? why;
        wakeAgain = null;
        if (!(await keepHouse())) break;
        await drain(now);
        reason = wakeAgain;
      } while (wakeAgain && !stop.aborted && !health.isDown);
    })().finally(() => {
      // Idle on a busy bus: others' pushes came, and none was work for this node. A round that found main where this
      // node left it (after its own answer: its push, then its own write of the clone's main, each a file event) says
      // nothing of the bus's pace, and the next push, perhaps its next task, is looked at at once.
      idle.ended(starts() === startsBefore && fetched() > fetchedBefore);
      draining = null;
    });
    return draining;
  };
  return {
    wake,
    get draining() {
      return draining;
    },
    stop: () => idle.stop(),
  };
}
