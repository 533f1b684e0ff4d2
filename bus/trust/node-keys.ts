import { NODE_KEY_NAMESPACES, nodeOfPrincipal, nodePrincipal, type NodeTrust, type UnlistedNodes } from '../../schemas/trust-root.js';
import { principalsFor } from './allowed-signers.js';
import { isRevoked } from './chain.js';
import type { SshPublicKey } from './ssh-key.js';
import type { TrustVersion } from './version-content.js';

/**
 * Nodes' own keys in a trust version (docs/PROTOCOL.md §12, "Node keys"), pure. A node's key is an allowed_signers
 * line whose principal is `node:<name>`, limited to the namespaces of the files a node writes in its own name
 * (claims, releases, responses, its card). A `node:` principal never speaks for anything else, whatever its line
 * says, and a person's principal never speaks for a node.
 */

/** The allowed_signers line gitbus writes for a node's key. */
export function nodeSignerLine(node: string, key: SshPublicKey): string {
  return `${nodePrincipal(node)} namespaces="${NODE_KEY_NAMESPACES.join(',')}" ${key.line} gitbus node ${node}`;
}

/** Every node `v` lists a key for, with its keys (this node's revocations applied: a revoked key is not listed). */
export function listedNodeKeys(v: TrustVersion, trust: NodeTrust): Map<string, SshPublicKey[]> {
  const out = new Map<string, SshPublicKey[]>();
  for (const e of v.signers.entries) {
    if (isRevoked(trust, e.key.fingerprint)) continue;
    for (const p of e.principals) {
      const node = nodeOfPrincipal(p);
      if (node === undefined || isRevoked(trust, e.key.fingerprint, p)) continue;
      const keys = out.get(node) ?? [];
      if (!keys.some((k) => k.fingerprint === e.key.fingerprint)) keys.push(e.key);
      out.set(node, keys);
    }
  }
  return out;
}

/** Whether `v` lists a key for `node` at all (even one not valid now): its files must then be signed by it. */
export function listsNode(v: TrustVersion, node: string): boolean {
  const principal = nodePrincipal(node);
  return v.signers.entries.some((e) => e.principals.includes(principal));
}

/** The nodes `key` may write for in `namespace` now: the `node:` principals of its lines, minus revocations. */
export function nodesSpokenFor(v: TrustVersion, key: SshPublicKey, namespace: string, trust: NodeTrust, now: Date): string[] {
  if (isRevoked(trust, key.fingerprint)) return [];
  if (!(NODE_KEY_NAMESPACES as readonly string[]).includes(namespace)) return [];
  return principalsFor(v.signers, key, namespace, now)
    .principals.filter((p) => !isRevoked(trust, key.fingerprint, p))
    .flatMap((p) => {
      const node = nodeOfPrincipal(p);
      return node === undefined ? [] : [node];
    });
}

export function unlistedNodesOf(v: TrustVersion): UnlistedNodes {
  return v.policy.unlistedNodes ?? 'accept';
}
