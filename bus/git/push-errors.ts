import { GitbusError } from '../../schemas/errors.js';

/** What kind of refusal a push got; only 'stale' is worth retrying after re-reading the remote. */
export type PushRejectionKind = 'stale' | 'hook' | 'denied' | 'other';

/** The remote received the push and refused to move the ref. */
export class PushRejectedError extends GitbusError {
  readonly code = 'PUSH_REJECTED';
  readonly kind: PushRejectionKind;
  readonly reason: string;
  constructor(args: { ref: string; kind: PushRejectionKind; reason: string; remote: string; messages: string }) {
    const fix: Record<PushRejectionKind, string> = {
      stale: 'the remote ref moved since it was read: re-read the remote and decide again (callers retry this automatically)',
      hook: 'a hook on the remote refused the change: read its message above and change what you push, or the hook',
      denied: 'the remote does not allow this update: check your permissions and the remote repository configuration',
      other: 'read the reason above; if it does not explain itself, try the same push with the git CLI to see more detail',
    };
    const said = args.messages.trim();
    const detail = said ? `\n  remote: ${said.split('\n').join('\n  remote: ')}` : '';
    super(`push of ${args.ref} to ${args.remote} rejected (${args.kind}): ${args.reason}${detail}`, fix[args.kind], {
      ref: args.ref,
      kind: args.kind,
      reason: args.reason,
      remote: args.remote,
      messages: args.messages,
    });
    this.kind = args.kind;
    this.reason = args.reason;
  }
}

/** The push did not get as far as a decision about the ref: transport failure, unpack error, garbled report. */
export class PushFailedError extends GitbusError {
  readonly code = 'PUSH_FAILED';
  constructor(message: string, data: Record<string, unknown>, cause?: unknown) {
    super(
      message,
      'check that the remote is reachable and healthy (`git fsck` on it, free disk space), then try again',
      data,
      cause === undefined ? undefined : { cause },
    );
  }
}


/** A push of several refs to a host that does not offer to apply them all or none (receive-pack's `atomic`). */
export class AtomicPushUnsupportedError extends GitbusError {
  readonly code = 'ATOMIC_PUSH_UNSUPPORTED';
  constructor(remote: string) {
    super(
      `the remote ${remote} does not apply a push of several refs all or none (its receive-pack does not advertise "atomic")`,
      'let it: "git config receive.advertiseAtomic true" in the bare repository on the server (git 2.4 or later offers it by default)',
      { remote },
    );
  }
}
