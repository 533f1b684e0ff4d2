import { GitbusError } from '../../schemas/errors.js';

/**
 * The standby running a served command ended before it said how the command ended (the watcher's machine killed it,
 * out of memory, kill -9): the command may have done part of its work, as one killed in its own process would.
 */
export class ServedCommandLostError extends GitbusError {
  readonly code = 'SERVED_COMMAND_LOST';
  constructor() {
    super(
      "the watcher's process that ran this command ended before it finished; it may have done part of its work",
      'see what it did with "gitbus status", then run the command again; GITBUS_SERVE=0 runs commands in their own process',
    );
  }
}

/**
 * `gitbus serve` on a home whose commands are served already: by its watcher (which serves them itself), or by
 * another `gitbus serve`; or on a home whose watcher runs with --no-serve (its commands are not to be served). Two
 * servers would take the socket from each other.
 */
export class AlreadyServedError extends GitbusError {
  readonly code = 'ALREADY_SERVED';
  constructor(home: string, by: 'watcher' | 'no-serve' | 'server', owner: { pid: number; since: string } | null, lock?: string) {
    const who = owner ? ` (pid ${owner.pid}, since ${owner.since})` : '';
    super(
      by === 'watcher'
        ? `the watcher of ${home}${who} serves its commands already`
        : by === 'no-serve'
          ? `the watcher of ${home}${who} runs with --no-serve: this home's commands are not served`
          : owner
            ? `another "gitbus serve" serves the commands of ${home}${who}`
            : `${lock ?? 'serve.lock'} is held, but cannot be read`,
      by === 'watcher'
        ? 'nothing to do: a running watcher serves the short commands itself'
        : by === 'no-serve'
          ? 'restart the watcher without --no-serve to have them served'
          : owner
            ? `nothing to do; to restart it, stop that one first (kill ${owner.pid})`
            : `if no "gitbus serve" is starting this instant, delete ${lock ?? 'serve.lock'} and run gitbus serve again`,
      { home, by, ...(owner ? { pid: owner.pid, since: owner.since } : {}), ...(lock && !owner ? { lock } : {}) },
    );
  }
}
