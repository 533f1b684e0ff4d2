import { nodeOfPrincipal, nodePrincipal, type UnlistedNodes } from '../../schemas/trust-root.js';
import { unlistedNodesOf } from './node-keys.js';
import { parsePublicKeyLine, type SshPublicKey } from './ssh-key.js';
import type { TrustVersion } from './version-content.js';

/**
 * Where nodes' keys stand in one trust version (docs/PROTOCOL.md §12, "Node keys"), pure: which are listed, which
 * cards offer a key an admin has not listed yet, and how this node's own key compares. For `gitbus trust list`,
 * `gitbus doctor` (`trust.node-key`) and the step after join and pin.
 */

/** The command an admin runs to list (or rotate) `node`'s key after checking `fingerprint` with the node. */
export function addNodeCommand(node: string, fingerprint: string): string {
  return `gitbus trust add node ${node} --fingerprint ${fingerprint}`;
}

/** The keys `v` lists for `node` (one, as gitbus writes it; more only in a hand-made file). */
export function nodeKeysIn(v: TrustVersion, node: string): SshPublicKey[] {
  const principal = nodePrincipal(node);
  return v.signers.entries.filter((e) => e.principals.includes(principal)).map((e) => e.key);
}

/** The key a node card offers, parsed; undefined when it offers none or one that does not parse (lint reports it). */
export function offeredKey(line: string | undefined): SshPublicKey | undefined {
  if (line === undefined) return undefined;
  try {
    return parsePublicKeyLine(line, 'the node card\'s key').key;
  } catch {
    return undefined;
  }
}

export interface NodeKeysView {
  unlistedNodes: UnlistedNodes;
  /** Every node key the version lists. */
  listed: { node: string; fingerprint: string; keyType: string }[];
  /** Nodes whose card offers a key the version does not list for them (`listed`: the one it lists instead). */
  awaiting: { node: string; fingerprint: string; listed: string[]; command: string }[];
  /** Nodes on the bus that neither have a key listed nor offer one on their card. */
  unkeyed: string[];
}

/** Every `node:<name>` line of `v`, as node and key. */
export function listedNodes(v: TrustVersion): { node: string; fingerprint: string; keyType: string }[] {
  return v.signers.entries.flatMap((e) =>
    e.principals.flatMap((p) => {
      const node = nodeOfPrincipal(p);
      return node === undefined ? [] : [{ node, fingerprint: e.key.fingerprint, keyType: e.key.type }];
    }),
  );
}

export function nodeKeysView(v: TrustVersion, cards: readonly { node: string; key?: string | undefined }[]): NodeKeysView {
  const listed = listedNodes(v);
  const awaiting: NodeKeysView['awaiting'] = [];
  const unkeyed: string[] = [];
  for (const card of cards) {
    const keys = nodeKeysIn(v, card.node).map((k) => k.fingerprint);
    const offered = offeredKey(card.key);
    if (offered && !keys.includes(offered.fingerprint)) awaiting.push({ node: card.node, fingerprint: offered.fingerprint, listed: keys, command: addNodeCommand(card.node, offered.fingerprint) });
    else if (!offered && keys.length === 0) unkeyed.push(card.node);
  }
  return { unlistedNodes: unlistedNodesOf(v), listed, awaiting, unkeyed };
}

/**
 * This node's own key against the version it accepts:
 * - `listed`: the version lists exactly this key for it;
 * - `unlisted`: the version lists no key for it;
 * - `differs`: the version lists another key (the node made a new one, or another machine took the name over);
 * - `no-key`: the node has no key in its home.
 */
export type OwnKeyStanding =
  | { state: 'listed'; fingerprint: string }
  | { state: 'unlisted'; fingerprint: string; unlistedNodes: UnlistedNodes }
  | { state: 'differs'; fingerprint: string; listed: string[] }
  | { state: 'no-key'; listed: string[]; unlistedNodes: UnlistedNodes };

export function ownKeyStanding(v: TrustVersion, node: string, own: SshPublicKey | null): OwnKeyStanding {
  const listed = nodeKeysIn(v, node).map((k) => k.fingerprint);
  if (!own) return { state: 'no-key', listed, unlistedNodes: unlistedNodesOf(v) };
  if (listed.length === 0) return { state: 'unlisted', fingerprint: own.fingerprint, unlistedNodes: unlistedNodesOf(v) };
  if (listed.includes(own.fingerprint)) return { state: 'listed', fingerprint: own.fingerprint };
  return { state: 'differs', fingerprint: own.fingerprint, listed };
}

/**
 * What `trust init` writes for nodes it does not list: `refuse` when this node is the bus's only node (nothing
 * runs elsewhere yet, so every later node is listed as it joins), else `accept` (the others keep working until an
 * admin lists their keys).
 */
export function defaultUnlistedNodes(self: string, nodesOnBus: readonly string[]): { value: UnlistedNodes; why: string } {
  const others = nodesOnBus.filter((n) => n !== self);
  if (others.length === 0) return { value: 'refuse', why: `${self} is the only node on the bus, so every node that joins later is listed as it joins; a node not listed claims nothing` };
  const shown = others.slice(0, 5).join(', ') + (others.length > 5 ? `, +${others.length - 5} more` : '');
  return { value: 'accept', why: `the bus has other nodes (${shown}) whose keys are not listed yet; they keep working until an admin lists them, then "gitbus trust unlisted-nodes refuse"` };
}
