import { cron } from '../bus/model/cron-lib.js';

/** How early a timer may fire by the wall clock and still be waited for: beyond it, the clock was set back. */
const EARLY_MS = 1000;

/** The watcher's poll timer: stopped on shutdown, or when the poll interval changes and a new one takes its place. */
export interface PollTimer {
  stop(): void;
}

/**
 * Calls `onTick` at every time the cron expression `expr` (with seconds, UTC: watcher/poll-schedule.ts) names,
 * on a timer of its own rather than the cron package's CronJob: a CronJob that finds its next time already past
 * (a loaded machine, a process paused) writes "[Cron] Missed execution deadline" to the console, which no option
 * turns off, into the watcher's stderr and the service's journal. Here a late timer is a late tick, nothing more:
 * the next time is taken from when it fired, so ticks missed meanwhile are not made up (a wake looks at everything).
 * `onTick` errors go to `report`. `now` is the wall clock (a test steps it).
 */
export function pollTimer(expr: string, onTick: () => void, report: (err: unknown) => void, now: () => number = Date.now): PollTimer {
  const time = new (cron().CronTime)(expr, 'UTC');
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const arm = (): void => {
    if (stopped) return;
    // The first time after this second: never now, so one tick cannot run twice.
    const due = time.getNextDateFrom(new Date(now()), 'UTC').toMillis();
    const fire = (): void => {
      timer = null;
      if (stopped) return;
      // A timer may fire a little before the wall clock reaches its time: wait the rest, or the next time would be this
      // one. More than that early, the wall clock was set back (NTP, a restored VM) while the timer, which keeps to
      // the monotonic clock, waited: its time has come all the same, and waiting the rest would stop polling for as
      // long as the clock went back (found in review).
      const rest = due - now();
      if (rest > 0 && rest <= EARLY_MS) {
        timer = setTimeout(fire, rest);
        return;
      }
      arm();
      try {
        onTick();
      } catch (err) {
        report(err);
      }
    };
    timer = setTimeout(fire, Math.max(1, due - now()));
  };
  arm();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
