/** The longest delay Node's timers take: above it a timer fires at once (with a TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * setTimeout for a delay a person chose (a task's `timeout: 30d`), which may exceed what one timer holds (~24.8
 * days): it is waited out in steps, so the call happens when asked, not at once.
 */
export function setLongTimeout(fn: () => void, ms: number): { clear(): void } {
  let timer: NodeJS.Timeout;
  const arm = (left: number) => {
    timer = setTimeout(() => (left > MAX_TIMER_MS ? arm(left - MAX_TIMER_MS) : fn()), Math.min(left, MAX_TIMER_MS));
  };
  arm(ms);
  return { clear: () => clearTimeout(timer) };
}

/**
 * A delay a timer can hold: at most MAX_TIMER_MS. For repeating waits (a heartbeat, a retry, a grace period) whose
 * setting may be longer, waiting ~24.8 days instead is harmless, and firing at once in a loop is not.
 */
export const timerMs = (ms: number): number => Math.min(ms, MAX_TIMER_MS);
