import { readFileSync } from 'node:fs';

/**
 * Polls `check` until it holds or the deadline passes: every wait in the tests is bounded. `explain` adds what
 * the test knows about the state (a log, a process list) to the timeout message.
 */
export async function until(what: string, check: () => Promise<boolean> | boolean, deadlineMs = 60_000, explain: () => string = () => ''): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) {
      const more = explain();
      throw new Error(`timed out after ${deadlineMs / 1000} s waiting for ${what}${more ? `\n${more}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Whether a process with this id exists (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A process that ended and is not reaped yet (a zombie: its parent, or a PID 1 that reaps late) lives no more, as
  // the product judges it (bus/lock.ts isAlive).
  return !isZombie(pid);
}

/** Whether `pid` is a zombie, on Linux (its /proc stat's state is Z). */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z';
  } catch {
    return false;
  }
}

/** `p`, or a rejection naming `what` once `ms` have passed: a wait on a process's end, bounded. */
export async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s waiting for ${what}`)), ms)));
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}
