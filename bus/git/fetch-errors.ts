import { GitbusError } from '../../schemas/errors.js';

/**
 * upload-pack refused the wanted commit ("not our ref"): the ref moved (or was rewritten) between reading the
 * remote's refs and fetching. Re-read the refs and fetch the new tip.
 */
export class FetchWantGoneError extends GitbusError {
  readonly code = 'FETCH_WANT_GONE';
  constructor(want: string, remote: string, cause?: unknown) {
    super(
      `${remote} no longer has commit ${want} reachable from any ref (the branch moved or was rewritten while fetching)`,
      're-read the remote refs and fetch the current tip (callers retry this automatically)',
      { want, remote },
      cause === undefined ? undefined : { cause },
    );
  }
}

/** A fetch failed for any other reason: transport, a malformed response, a corrupt pack. */
export class FetchFailedError extends GitbusError {
  readonly code = 'FETCH_FAILED';
  constructor(message: string, data: Record<string, unknown>, cause?: unknown) {
    super(
      message,
      'check that the remote is reachable and healthy (`git fsck` on it), then try again',
      data,
      cause === undefined ? undefined : { cause },
    );
  }
}

