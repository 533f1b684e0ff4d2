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
 * What a run's command left behind once it exited (a `sleep 600 &`, a server it started, a tool still holding its
 * output): the run is over, so its process group goes too, SIGTERM then SIGKILL after KILL_GRACE_MS. The group id
 * stays valid while any member lives; with none left this signals nothing.
 */
export function endGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  termThenKill(pid);
}

/** Groups sent SIGTERM whose SIGKILL is yet to come: the group's id -> when it is due. */
const dying = new Map<number, number>();

/**
 * SIGTERM to a group now, SIGKILL after KILL_GRACE_MS. The timer does not hold the process open (a watcher that is
 * done exits), so a process about to exit first waits for groupsEnded: a child that ignores SIGTERM would otherwise
 * outlive the watcher and its run's record, and run beside the task's next attempt.
 */
export function termThenKill(pid: number): void {
  killGroup(pid, 'SIGTERM');
  dying.set(pid, Date.now() + KILL_GRACE_MS);
  setTimeout(() => {
    dying.delete(pid);
    killGroup(pid, 'SIGKILL');
  }, KILL_GRACE_MS).unref();
}

/** How often groupsEnded looks whether a group is gone. */
const GONE_POLL_MS = 50;

/**
 * Resolves once every group sent SIGTERM here is gone or has had its SIGKILL: at once when none is left, and at most
 * KILL_GRACE_MS after the last SIGTERM.
 */
export async function groupsEnded(): Promise<void> {
  while (dying.size > 0) {
    for (const [pid, due] of dying) {
      if (!groupLives(pid)) dying.delete(pid);
      else if (Date.now() >= due) {
        killGroup(pid, 'SIGKILL');
        dying.delete(pid);
      }
    }
    if (dying.size > 0) await new Promise((r) => setTimeout(r, GONE_POLL_MS));
  }
}

/** Whether any process of the group still lives (signal 0 checks without signalling). */
function groupLives(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the process has exited, as Node saw it. */
export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Stops a run's process group when its timeout passes or `abort` fires (a cancel, a shutdown): SIGTERM, then
 * SIGKILL after KILL_GRACE_MS. The group is signalled even when its leader has already exited, since what it
 * started may still run (and hold the output the runner waits on); but an exit that came first stands, so
 * `reason()` names a stop only when it came while the leader still ran. `dispose()` once the run is over.
 */
export function stopOnTimeoutOrAbort(child: ChildProcess, timeoutMs: number | undefined, abort: AbortSignal): { reason(): StopReason | null; dispose(): void } {
  let ended: StopReason | null = null;
  let signalled = false;
  const stop = (why: StopReason) => {
    if (signalled || child.pid === undefined) return;
    signalled = true;
    if (!hasExited(child)) ended = why;
    termThenKill(child.pid);
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
