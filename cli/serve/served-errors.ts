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
