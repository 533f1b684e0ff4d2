import type { ChildProcess } from 'node:child_process';
import type { RunOutcome } from './runner.js';
import { setLongTimeout } from '../../bus/long-timeout.js';

/** After SIGTERM, how long a task's processes get to exit before SIGKILL. */
export const KILL_GRACE_MS = 5_000;

export type StopReason = 'timed-out' | 'cancelled';

/** Signals a whole process group: a task's command and everything it started. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

export function failedToStart(started: Date, reason: string): RunOutcome {
  return { status: 'failed', exitCode: null, started, finished: new Date(), outputTail: '', reason };
}

/**
 * Stops a run's process group when its timeout passes or `abort` fires (a cancel, a shutdown): SIGTERM, then
 * SIGKILL after KILL_GRACE_MS. `reason()` says which happened; `dispose()` once the process has exited.
 */
export function stopOnTimeoutOrAbort(child: ChildProcess, timeoutMs: number | undefined, abort: AbortSignal): { reason(): StopReason | null; dispose(): void } {
  let ended: StopReason | null = null;
  const stop = (why: StopReason) => {
    if (ended || child.exitCode !== null || child.pid === undefined) return;
    ended = why;
    killGroup(child.pid, 'SIGTERM');
    setTimeout(() => child.pid !== undefined && killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS).unref();
  };
  const timer = timeoutMs ? setLongTimeout(() => stop('timed-out'), timeoutMs) : undefined;
  const onAbort = () => stop('cancelled');
  abort.addEventListener('abort', onAbort, { once: true });
  if (abort.aborted) onAbort();
  return {
    reason: () => ended,
    dispose: () => {
      timer?.clear();
      abort.removeEventListener('abort', onAbort);
    },
  };
}
