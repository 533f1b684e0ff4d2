import { GitbusError } from '../../schemas/errors.js';

/**
 * Why a signature does not count, as a stable word scripts and later policy code branch on
 * (docs/PROTOCOL.md §11). `unsigned` is not a failure of a signature but the absence of one.
 */
export type SignatureFailure =
  /** Not an armored SSHSIG, bad base64, a field cut short, trailing bytes, a key blob that does not parse. */
  | 'malformed'
  /** A version, hash, key type or signature algorithm gitbus does not verify (sk-*, certificates, ssh-dss, SHA-1 RSA). */
  | 'unsupported'
  /** Made for another kind of file (another namespace): a claim signature shown as a handoff's. */
  | 'wrong-namespace'
  /** Does not match these bytes at this path: the file changed after signing, or the signature was copied from another file. */
  | 'mismatch'
  /** A co-signature whose file name names another key than the one that signed it. */
  | 'misnamed';

/** A signature that cannot be read at all. */
export class SignatureMalformedError extends GitbusError {
  readonly code = 'SIGNATURE_MALFORMED';
  readonly reason = 'malformed' as const;
  constructor(what: string, fix = 'sign the file again ("gitbus sign PATH"): the signature file is damaged or is not an SSH signature') {
    super(`not a valid SSH signature: ${what}`, fix, { reason: 'malformed', what });
  }
}

/** A well-formed signature of a kind gitbus does not verify (yet). */
export class SignatureUnsupportedError extends GitbusError {
  readonly code = 'SIGNATURE_UNSUPPORTED';
  readonly reason = 'unsupported' as const;
  constructor(what: string, fix: string) {
    super(`unsupported SSH signature: ${what}`, fix, { reason: 'unsupported', what });
  }
}

/** A readable signature that does not verify for the bytes, path and namespace it is checked against. */
export class SignatureInvalidError extends GitbusError {
  readonly code = 'SIGNATURE_INVALID';
  readonly reason: 'wrong-namespace' | 'mismatch' | 'misnamed';
  constructor(reason: 'wrong-namespace' | 'mismatch' | 'misnamed', message: string, fix: string, data: Record<string, unknown> = {}) {
    super(message, fix, { reason, ...data });
    this.reason = reason;
  }
}

export type SignatureError = SignatureMalformedError | SignatureUnsupportedError | SignatureInvalidError;

export function isSignatureError(err: unknown): err is SignatureError {
  return err instanceof SignatureMalformedError || err instanceof SignatureUnsupportedError || err instanceof SignatureInvalidError;
}

/** A path gitbus does not sign: not a bus file of a signed kind nor a file of trust/. */
export class NotSignableError extends GitbusError {
  readonly code = 'NOT_SIGNABLE';
  constructor(path: string, why: string) {
    super(
      `${path} is not a file gitbus signs: ${why}`,
      'sign a bus file by its path in the bus: handoffs/<id>.md, claims/<id>.<n>.md, releases/<id>.<n>.md, cancels/<id>.md, responses/<id>.md, nodes/<node>.md, env/<profile>/manifest.yaml, or a file under trust/',
      { path, why },
    );
  }
}

/**
 * A handoff without `created` on a bus whose trust root bounds handoff age (bus/trust/undated-handoff.ts): every node
 * that enforces the root would refuse it as stale once signed, so it is not signed.
 */
export class HandoffUndatedError extends GitbusError {
  readonly code = 'HANDOFF_UNDATED';
  constructor(path: string, reason: string, fix: string) {
    super(`${path} has ${reason}`, fix, { path, field: 'created' });
  }
}

/** No key to sign with was configured anywhere gitbus looks. */
export class SigningKeyMissingError extends GitbusError {
  readonly code = 'SIGNING_KEY_MISSING';
  readonly looked: string[];
  constructor(looked: string[], keyFlag = true) {
    super(
      `no SSH key to sign with (looked at: ${looked.join('; ')})`,
      `${keyFlag ? 'pass --key ~/.ssh/id_ed25519 (a private key, or a public key whose private half is in ssh-agent), or ' : ''}set signingKey: PATH in node.yaml, or configure git\'s SSH signing ("git config --global gpg.format ssh" and "git config --global user.signingkey ~/.ssh/id_ed25519.pub")`,
      { looked },
    );
    this.looked = looked;
  }
}

/** The key exists but cannot be used without a person: a passphrase-protected key (or a public key) the agent does not hold. */
export class SigningKeyLockedError extends GitbusError {
  readonly code = 'SIGNING_KEY_LOCKED';
  constructor(path: string, why: string, fix: string) {
    super(`cannot sign with ${path}: ${why}`, fix, { path, why });
  }
}

/** The key file cannot be read or is not an SSH key. */
export class SigningKeyInvalidError extends GitbusError {
  readonly code = 'SIGNING_KEY_INVALID';
  constructor(path: string, why: string, fix: string) {
    super(`cannot sign with ${path}: ${why}`, fix, { path, why });
  }
}

/** ssh-keygen failed, was missing, or did not finish in time. */
export class SigningFailedError extends GitbusError {
  readonly code = 'SIGNING_FAILED';
  constructor(why: string, fix: string, data: Record<string, unknown> = {}) {
    super(`signing failed: ${why}`, fix, { why, ...data });
  }
}

/** `gitbus sign` on a file that already carries another signer's signature, which is written once. */
export class AlreadySignedError extends GitbusError {
  readonly code = 'ALREADY_SIGNED';
  constructor(path: string, sidecar: string, fingerprint: string) {
    super(
      `${path} is already signed by ${fingerprint} (${sidecar}); a bus file carries one signature, written once`,
      `leave it as it is; if that signature is wrong, remove ${sidecar} before it is committed and sign again`,
      { path, sidecar, fingerprint },
    );
  }
}

/** A bus with a trust root this node pinned, and no key to sign with: what would be written, no node would run. */
export class SigningRequiredError extends GitbusError {
  readonly code = 'SIGNING_REQUIRED';
  constructor(version: number, looked: string[]) {
    super(
      `this bus has a trust root (version ${version}): nodes act only on signed handoffs, and there is no SSH key to sign with (looked at: ${looked.join('; ')})`,
      'configure a key an allowed signer holds: signingKey: ~/.ssh/id_ed25519 in node.yaml, or git\'s SSH signing ("git config --global gpg.format ssh" and "git config --global user.signingkey ~/.ssh/id_ed25519.pub"); or, while the bus migrates to signed handoffs, pass --unsigned to write it unsigned anyway (nodes that enforce trust will refuse it)',
      { version, looked },
    );
  }
}
