import { tryParseDuration } from '../../schemas/duration.js';
import { type Handoff } from '../../schemas/handoff.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import { nodeOfPrincipal, type NodeTrust } from '../../schemas/trust-root.js';
import type { Signer } from '../model/node-policy.js';
import { signAgainWords, unreadSidecarWords, type Sidecar, type UnreadSidecar } from './file-signatures.js';
import { principalsFor } from './allowed-signers.js';
import { isRevoked } from './chain.js';
import { signedMessage } from './messages.js';
import { principalsOf, ruleAllows } from './policy-rules.js';
import { checkSshsig } from './sshsig.js';
import type { TrustVersion } from './version-content.js';

/**
 * Whether a node may act on a handoff (docs/PROTOCOL.md §12, "What a node verifies before acting"), pure: its
 * signature must verify for these exact bytes at this path in the handoff namespace, by a key the accepted trust
 * version lists for handoffs and this node has not revoked, and a rule of that version must let the signer make
 * this node run the handoff's runner within the rule's limits. Anything else is untrusted, with the reason.
 */

export type HandoffTrust =
  /** `via`: how an unsigned handoff got its signer's trust (`schedule <template>`: an instance of a signed template). */
  | { trusted: true; signer: Signer; rule: number; via?: string }
  /**
   * `leaveAlone`: another node may be running it (its claim was removed under it, seen-ended.ts): this node neither
   * claims it nor answers it, even addressed to it; a refusal is otherwise answered `failed` there (the watcher).
   * `tampered`: something was pushed where its signature goes (a folder, a link): the fix repairs the bus, so it
   * stands even for a task that ended, whose other fixes (sign it, dispatch it again) no longer apply.
   */
  | { trusted: false; reason: string; fix: string; leaveAlone?: true; tampered?: true };

/** The trust state a node enforces: the version it accepted from its pin forward, and its own revocations. */
export interface EnforcedTrust {
  accepted: TrustVersion;
  node: NodeTrust;
}

/** The node that would run the handoff, as the trust rules name nodes. */
export interface TrustTarget {
  name: string;
  labels: readonly string[];
}

const SIGN_FIX = 'dispatch it again from a node with a signing key an allowed signer holds (node.yaml signingKey, or git\'s SSH signing key), or sign it with "gitbus sign"';

/**
 * How an unsigned (or badly signed) handoff gets a signature that counts. A resume continues a session that lives on
 * one node, so a copy dispatched anywhere else is no fix: it is signed where it is, or resumed again with a key.
 */
function signFix(path: string, handoff: Handoff | undefined): string {
  if (handoff?.resumes === undefined && handoff?.claude?.resume === undefined) return SIGN_FIX;
  const again = handoff.resumes !== undefined ? `"gitbus resume ${handoff.resumes} PROMPT"` : `"gitbus dispatch TITLE --runner claude${handoff.to ? ` --to ${handoff.to}` : ''} --resume-session ${handoff.claude?.resume ?? 'SESSION'}"`;
  return `sign it where it is with a key an allowed signer holds ("gitbus sign ${path}" in a checkout of the bus, then commit the signature), or cancel it and resume again from a node with such a signing key (${again}): the session it resumes lives on one node, so a copy dispatched elsewhere cannot continue it`;
}

/** `unread`: what holds the sidecar's name without being a file (file-signatures.ts), said instead of "no signature". */
export function handoffTrust(path: string, bytes: Uint8Array, sidecars: readonly Sidecar[], handoff: Handoff | undefined, trust: EnforcedTrust, target: TrustTarget, now: Date, unread: readonly UnreadSidecar[] = []): HandoffTrust {
  const v = trust.accepted;
  const sidecar = sidecars[0];
  if (!sidecar) {
    const u = unread[0];
    if (u) {
      const w = unreadSidecarWords(u, path, `${signAgainWords(path)}, or dispatch it again`);
      return { trusted: false, reason: `unsigned: ${w.reason}, and this bus has a trust root (version ${v.version})`, fix: w.fix, tampered: true };
    }
    return { trusted: false, reason: `unsigned: ${path} has no signature (signatures/${path}.sig), and this bus has a trust root (version ${v.version})`, fix: signFix(path, handoff) };
  }
  const m = signedMessage(path, bytes);
  const check = checkSshsig(sidecar.content, m.message, m.namespace);
  if (!check.ok) {
    const why = check.error.message.split('\n')[0] ?? check.reason;
    return { trusted: false, reason: `bad signature (${check.reason}): ${why}`, fix: check.reason === 'mismatch' ? `a signature is bound to its file's path and bytes: ${signFix(path, handoff)}` : signFix(path, handoff) };
  }
  const key = check.signer;
  if (isRevoked(trust.node, key.fingerprint)) {
    return { trusted: false, reason: `signed by ${key.fingerprint}, a key this node revoked (node.yaml trust.revoke)`, fix: 'have someone whose key is not revoked dispatch it again' };
  }
  const principals = principalsOf(v, key, m.namespace, trust.node, now);
  if (principals.length === 0) {
    // A listed key that may not sign handoffs now (expired, not valid yet, other namespaces): adding it again fixes nothing.
    const line = principalsFor(v.signers, key, m.namespace, now).refused.find((r) => r.principals.some((p) => nodeOfPrincipal(p) === undefined && !isRevoked(trust.node, key.fingerprint, p)));
    if (line) {
      return { trusted: false, reason: `signed by ${line.principals.join(', ')} (${key.fingerprint}), whose key trust version ${v.version} lists but does not let it sign handoffs now: ${line.reason}`, fix: `an admin lists a key that may sign handoffs now for ${line.principals.join(', ')} ("gitbus trust add signer"), or dispatch it with such a key` };
    }
    return { trusted: false, reason: `signed by ${key.fingerprint}, which trust version ${v.version} does not list as a signer of handoffs${isRevokedPrincipalOnly(v, key.fingerprint, trust.node) ? ' (its principals are revoked on this node)' : ''}`, fix: `an admin adds the key ("gitbus trust add signer"), or dispatch it with a listed key` };
  }
  if (!handoff) return { trusted: false, reason: 'the handoff does not parse', fix: 'dispatch it again' };
  const runner = effectiveRunner(handoff);
  const timeoutMs = handoff.timeout === undefined ? undefined : tryParseDuration(handoff.timeout);
  const budgetUsd = handoff.claude?.maxBudgetUsd;
  const verdict = ruleAllows(v, { principals, runner, node: { name: target.name, labels: target.labels }, ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(budgetUsd !== undefined ? { budgetUsd } : {}) });
  if (!verdict.allowed) {
    return { trusted: false, reason: `signed by ${principals.join(', ')} (${key.fingerprint}), who may not make node ${target.name} run this ${runner} task: ${verdict.reason}`, fix: 'an admin adds a rule for it ("gitbus trust add rule"), or dispatch it to a node the signer may use' };
  }
  return { trusted: true, signer: { principals, fingerprint: key.fingerprint }, rule: verdict.rule };
}

function isRevokedPrincipalOnly(v: TrustVersion, fingerprint: string, node: NodeTrust): boolean {
  return v.signers.entries.some((e) => e.key.fingerprint === fingerprint && e.principals.some((p) => isRevoked(node, fingerprint, p)));
}
