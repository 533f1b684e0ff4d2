import { GitbusError } from '../schemas/errors.js';

/** `gitbus resume` of a task that never ran: there is no session and no worktree to continue. */
export class NeverRanError extends GitbusError {
  readonly code = 'NEVER_RAN';
  constructor(id: string, state: string) {
    super(
      `task ${id} never ran (it is ${state}), so there is no session to resume`,
      `wait until it has run ("gitbus show ${id}"), or dispatch a new task`,
      { id, state },
    );
  }
}

/** `gitbus resume` of a task that has no claude session: another runner, an interactive run, or none recorded. */
export class NoSessionError extends GitbusError {
  readonly code = 'NO_SESSION';
  constructor(id: string, why: string, fix: string) {
    super(`task ${id} has no claude session to resume: ${why}`, fix, { id, why });
  }
}

/**
 * `gitbus resume` of a task that is still running (or will run again): resuming its session now would run two
 * claudes in one session, and two tasks in one worktree.
 */
export class StillRunningError extends GitbusError {
  readonly code = 'STILL_RUNNING';
  constructor(id: string, state: string, node: string | null) {
    super(
      `task ${id} is ${state}${node ? ` on node ${node}` : ''}; resuming its session now would run two claudes in one session`,
      `wait until it ends ("gitbus show ${id}"), or cancel it ("gitbus cancel ${id}"), then resume it`,
      { id, state, node },
    );
  }
}
