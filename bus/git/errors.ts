import { GitbusError } from '../../schemas/errors.js';

/** Bytes that should have been pkt-lines were not: a broken or foreign server, or a truncated response. */
export class PktLineError extends GitbusError {
  readonly code = 'PKT_LINE_MALFORMED';
  constructor(reason: string, offset: number) {
    super(
      `malformed git protocol data at byte ${offset}: ${reason}`,
      'check that the remote is a git repository served by a working git; run the command again, and report a bug if it repeats',
      { reason, offset },
    );
  }
}

/** A caller passed something that cannot be an object id or ref name; a bug in the caller, not the remote. */
export class InvalidGitArgumentError extends GitbusError {
  readonly code = 'GIT_INVALID_ARGUMENT';
  constructor(what: string, value: string) {
    super(`invalid ${what}: ${JSON.stringify(value)}`, 'this is a bug in gitbus: report it with the command you ran', {
      what,
      value,
    });
  }
}

/** A pack index (.idx) that is not a well-formed version 2 index. */
export class PackIndexError extends GitbusError {
  readonly code = 'PACK_INDEX_INVALID';
  constructor(path: string, reason: string) {
    super(`pack index ${path} is not a valid version 2 index: ${reason}`, 'delete the .idx file and fetch again, or run `git index-pack` on the matching .pack', {
      path,
      reason,
    });
  }
}

/** A fetched pack that cannot be read object by object: corrupt, thin, or not a pack. */
export class PackReadError extends GitbusError {
  readonly code = 'PACK_INVALID';
  constructor(where: string, reason: string) {
    super(`the pack ${where} cannot be read: ${reason}`, 'run the command again (the fetch is made afresh); if it repeats, check the remote with `git fsck` and report a bug', {
      where,
      reason,
    });
  }
}
