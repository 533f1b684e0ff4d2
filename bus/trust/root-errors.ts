import { GitbusError } from '../../schemas/errors.js';

/** Errors of the trust root (docs/PROTOCOL.md §12); the signature library's own are in errors.ts. */

export class TrustPinInvalidError extends GitbusError {
  readonly code = 'TRUST_PIN_INVALID';
  constructor(path: string, why: string) {
    super(`this node's trust pin ${path} cannot be used: ${why}`, `restore it from a backup, or move it aside and pin again with "gitbus trust pin --trust FINGERPRINT,..." (compare the fingerprints with your admins')`, { path, why });
  }
}

/** Join (or `trust pin`) on a bus with a trust root, with nobody to ask and nothing given. */
export class TrustPinRequiredError extends GitbusError {
  readonly code = 'TRUST_PIN_REQUIRED';
  constructor(version: number, digest: string, admins: { principal: string; fingerprint: string }[]) {
    const list = admins.map((a) => `${a.principal} ${a.fingerprint}`).join(', ');
    super(
      `the bus has a trust root (version ${version}, ${digest}) with the admin keys ${list}, and there is no terminal to ask whether to trust them`,
      `check those fingerprints with your admins, then run again with --trust ${[...new Set(admins.map((a) => a.fingerprint))].join(',')} (or --trust-root ${digest})`,
      { version, digest, admins },
    );
  }
}

/** What was given to pin does not match the bus's trust root. */
export class TrustPinMismatchError extends GitbusError {
  readonly code = 'TRUST_PIN_MISMATCH';
  constructor(message: string, fix: string, data: Record<string, unknown> = {}) {
    super(message, fix, data);
  }
}

/** A person at the terminal said no to the admin keys shown. */
export class TrustDeclinedError extends GitbusError {
  readonly code = 'TRUST_DECLINED';
  constructor(digest: string) {
    super(`the trust root ${digest} was not accepted; nothing was written`, 'join again once you have checked the admin fingerprints with your admins', { digest });
  }
}

/** The bus's trust root cannot be accepted from its first version (or from the version this node holds). */
export class TrustRootRefusedError extends GitbusError {
  readonly code = 'TRUST_ROOT_REFUSED';
  constructor(reason: string, fix: string, data: Record<string, unknown> = {}) {
    super(`the bus's trust root is not accepted: ${reason}`, fix, data);
  }
}

export class NoTrustRootError extends GitbusError {
  readonly code = 'NO_TRUST_ROOT';
  constructor() {
    super('the bus has no trust root (no trust/chain/)', 'start one with "gitbus trust init --admin NAME=PUBKEYFILE --key KEYFILE"');
  }
}

export class TrustRootExistsError extends GitbusError {
  readonly code = 'TRUST_ROOT_EXISTS';
  constructor(newest: number) {
    super(`the bus already has a trust root (newest version ${newest})`, 'change it with "gitbus trust add" or "gitbus trust remove"; see it with "gitbus trust list"', { newest });
  }
}

export class TrustNotPinnedError extends GitbusError {
  readonly code = 'TRUST_NOT_PINNED';
  constructor() {
    super('this node has not pinned the bus\'s trust root', 'pin it with "gitbus trust pin" (it shows the admin keys), or "gitbus trust pin --trust FINGERPRINT,..." after checking them with your admins');
  }
}

/** The key given is not one that may sign this trust change. */
export class NotTrustAdminError extends GitbusError {
  readonly code = 'NOT_TRUST_ADMIN';
  constructor(fingerprint: string, version: number, admins: string[]) {
    super(
      `the key ${fingerprint} is not an admin key of trust version ${version} (admins: ${admins.join(', ')})`,
      'sign with an admin\'s key (--key), or ask an admin to make the change',
      { fingerprint, version, admins },
    );
  }
}

/** A proposal (or a refused version) sits where the next version would go. */
export class TrustVersionTakenError extends GitbusError {
  readonly code = 'TRUST_VERSION_TAKEN';
  constructor(version: number, state: string, fix: string) {
    super(`trust version ${version} is already on the bus (${state})`, fix, { version, state });
  }
}

/** The change would make a version no node could use (an admin without a key, a threshold above the admins). */
export class TrustChangeInvalidError extends GitbusError {
  readonly code = 'TRUST_CHANGE_INVALID';
  constructor(reason: string, fix: string) {
    super(`the trust change is not valid: ${reason}`, fix, { reason });
  }
}

/** `trust sign VERSION` on a version with nothing left to sign. */
export class TrustNothingToSignError extends GitbusError {
  readonly code = 'TRUST_NOTHING_TO_SIGN';
  constructor(version: number, why: string, fix: string) {
    super(`trust version ${version}: ${why}`, fix, { version, why });
  }
}

/** Node keys (docs/PROTOCOL.md §12, "Node keys"): a key read from a node card is untrusted until a person checks it. */
function checkOnNode(node: string): string {
  return `compare it with the fingerprint "gitbus trust node-key" (or "gitbus doctor", check trust.node-key) shows on ${node}`;
}

/** `trust add node NAME` without a key: the card's key needs a person's yes (or --fingerprint), and nobody was asked. */
export class NodeKeyUnconfirmedError extends GitbusError {
  readonly code = 'NODE_KEY_UNCONFIRMED';
  constructor(node: string, fingerprint: string, keyType: string) {
    super(
      `node ${node}'s card offers the key ${fingerprint} (${keyType}); anyone who can push could have written that card, and there is no terminal to ask whether the key is ${node}'s`,
      `${checkOnNode(node)}; then run: gitbus trust add node ${node} --fingerprint ${fingerprint}`,
      { node, fingerprint, keyType },
    );
  }
}

/** `--fingerprint` names another key than the one offered (or given). */
export class NodeKeyMismatchError extends GitbusError {
  readonly code = 'NODE_KEY_MISMATCH';
  constructor(node: string, offered: string, given: string, from: 'card' | 'key') {
    super(
      `${from === 'card' ? `node ${node}'s card offers` : 'the key given is'} ${offered}, not ${given}; nothing was written`,
      from === 'card'
        ? `the card may have been forged, or ${node} made a new key since you checked: ${checkOnNode(node)} again`
        : 'check that you gave the right key file, and the fingerprint from the node',
      { node, offered, given, from },
    );
  }
}

/** A person at the terminal said no to the key a node card offers. */
export class NodeKeyDeclinedError extends GitbusError {
  readonly code = 'NODE_KEY_DECLINED';
  constructor(node: string, fingerprint: string) {
    super(`the key ${fingerprint} offered by node ${node}'s card was not accepted; nothing was written`, `check the fingerprint on ${node}, then run the command again`, { node, fingerprint });
  }
}

/** `trust add node NAME` without a key, and the node's card offers none that can be used. */
export class NodeKeyNotOfferedError extends GitbusError {
  readonly code = 'NODE_KEY_NOT_OFFERED';
  constructor(node: string, why: string) {
    super(
      `node ${node} offers no key to list: ${why}`,
      `on ${node}, run "gitbus trust pin" (or "gitbus trust node-key" when it already pinned): it makes the node's key and offers it on its card; or give the key: gitbus trust add node ${node} PUBKEY`,
      { node, why },
    );
  }
}
