import { parseDuration } from '../../schemas/duration.js';
import { nodeOfPrincipal, type NodeTrust, type TrustRule } from '../../schemas/trust-root.js';
import { principalsFor, type AllowedSigner } from './allowed-signers.js';
import { isRevoked } from './chain.js';
import type { SshPublicKey } from './ssh-key.js';
import type { TrustVersion } from './version-content.js';

/**
 * What an accepted trust version allows, pure (docs/PROTOCOL.md §12), for the code that enforces it: which
 * principals a key speaks for (after this node's revocations), and whether a rule lets them make a node run a
 * runner within the rule's limits.
 */

/** The principals `fingerprint` speaks for in `namespace`: allowed_signers entries of that key, minus revocations. */
export function principalsOf(v: TrustVersion, key: SshPublicKey, namespace: string, node: NodeTrust, now: Date): string[] {
  if (isRevoked(node, key.fingerprint)) return [];
  // A node's key (`node:<name>`) speaks for its node's own files only (node-keys.ts), never as a person.
  return principalsFor(v.signers, key, namespace, now).principals.filter((p) => !isRevoked(node, key.fingerprint, p) && nodeOfPrincipal(p) === undefined);
}

/** allowed_signers with this node's revocations applied: revoked keys dropped, revoked principals taken off. */
export function effectiveSigners(v: TrustVersion, node: NodeTrust): AllowedSigner[] {
  return v.signers.entries.flatMap((e) => {
    if (isRevoked(node, e.key.fingerprint)) return [];
    const principals = e.principals.filter((p) => !isRevoked(node, e.key.fingerprint, p));
    return principals.length > 0 ? [{ ...e, principals }] : [];
  });
}

export interface DispatchRequest {
  /** The principals the handoff's signing key speaks for (principalsOf). */
  principals: string[];
  runner: string;
  /** The node that would run it. */
  node: { name: string; labels: readonly string[] };
  timeoutMs?: number;
  budgetUsd?: number;
}

export type RuleVerdict = { allowed: true; rule: number } | { allowed: false; reason: string };

function covers(rule: TrustRule, r: DispatchRequest): string | undefined {
  if (!rule.signers.includes('*') && !rule.signers.some((s) => r.principals.includes(s))) return `not for ${r.principals.join(', ') || 'this signer'}`;
  if (!rule.runners.includes('*') && !rule.runners.includes(r.runner as TrustRule['runners'][number])) return `not for the ${r.runner} runner`;
  const byName = rule.nodes?.includes('*') || rule.nodes?.includes(r.node.name);
  const byLabel = rule.labels?.some((l) => r.node.labels.includes(l));
  if (!byName && !byLabel) return `not for node ${r.node.name}`;
  if (rule.maxTimeout !== undefined && (r.timeoutMs === undefined || r.timeoutMs > parseDuration(rule.maxTimeout))) return `only with a timeout of at most ${rule.maxTimeout}`;
  if (rule.maxBudgetUsd !== undefined && (r.budgetUsd === undefined || r.budgetUsd > rule.maxBudgetUsd)) return `only with a budget of at most ${rule.maxBudgetUsd} USD`;
  return undefined;
}

/** Whether some rule of `v` covers the request; the first that does is named, else why the nearest did not. */
export function ruleAllows(v: TrustVersion, r: DispatchRequest): RuleVerdict {
  const rules = v.policy.rules ?? [];
  const misses: string[] = [];
  for (const [i, rule] of rules.entries()) {
    const miss = covers(rule, r);
    if (miss === undefined) return { allowed: true, rule: i + 1 };
    misses.push(`rule ${i + 1}: ${miss}`);
  }
  return { allowed: false, reason: rules.length === 0 ? `trust version ${v.version} has no rules: nobody may dispatch` : `no rule of trust version ${v.version} allows it (${misses.join('; ')})` };
}
