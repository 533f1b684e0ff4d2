import { existsSync } from 'node:fs';
import type { NodeCard } from '../../schemas/node-card.js';
import type { NodeTrust } from '../../schemas/trust-root.js';
import { linkPath } from './chain-files.js';
import { parseLink } from './chain.js';
import { acceptedOf, loadPin, pinPath } from './pin.js';
import { evaluateTrust, readChain, type ChainOnBus, type ChainSource } from './root.js';
import { adminKeysOf } from './version-content.js';

/**
 * Which nodes on a bus with a trust root do not enforce it (docs/PROTOCOL.md §12, "Pinning"): a node that joined
 * before the root existed runs any handoff, signed or not, until a person pins the root there, and nothing else
 * would say so. Each node's card says which version it pinned (`trustPin`); this node's own pin is read from its
 * home. A card is anyone's to write, so this is a report for people (status, doctor, trust list, the web view),
 * never a decision.
 */

export interface NodeNotEnforcing {
  node: string;
  reason: string;
}

export interface TrustNotEnforced {
  /** The version this node judges by: the one it accepts, else the newest the bus has. */
  version: number;
  /** Nodes on the bus that do not enforce the root, in the cards' order. */
  nodes: NodeNotEnforcing[];
  /** The admin key fingerprints a node pins (`gitbus trust pin --trust`), as this node knows them; empty: unknown. */
  fingerprints: string[];
  /** Where `fingerprints` come from: the version this node accepts, or (it pinned nothing) the bus as it is. */
  from: 'accepted' | 'bus' | null;
  fix: string;
}

/** The command that pins the root on a node that joined before it. */
export function pinCommand(fingerprints: readonly string[]): string {
  return fingerprints.length > 0 ? `gitbus trust pin --trust ${fingerprints.join(',')}` : 'gitbus trust pin';
}

/**
 * The nodes of `cards` that do not enforce the bus's root, pure: this node (`self`) by its own pin, any other by its
 * card: a card without `trustPin`, or one naming a version whose digest is not the bus's (another root). A card that
 * does not parse says nothing (lint and status report it); nor does a pin of a version the bus no longer has.
 */
export function nodesNotEnforcing(chain: ChainOnBus, cards: readonly { node: string; card?: Pick<NodeCard, 'trustPin'> | undefined }[], self: { node: string; pinned: boolean }): NodeNotEnforcing[] {
  if (!chain.present) return [];
  const out: NodeNotEnforcing[] = [];
  for (const { node, card } of cards) {
    if (node === self.node) {
      if (!self.pinned) out.push({ node, reason: 'this node has not pinned it' });
      continue;
    }
    if (!card) continue;
    const pin = card.trustPin;
    if (!pin) {
      out.push({ node, reason: 'its card says it pinned no trust root (or it runs a gitbus older than the cards that say so: upgrade it)' });
      continue;
    }
    const link = chain.versions.get(pin.version)?.link;
    const bus = link ? parseLink(link, linkPath(pin.version)) : undefined;
    if (bus !== undefined && typeof bus !== 'string' && bus.digest !== pin.digest) {
      out.push({ node, reason: `its card says it pinned another trust root: version ${pin.version} ${pin.digest}, where the bus's version ${pin.version} is ${bus.digest}` });
    }
  }
  return out;
}

function fixOf(nodes: readonly NodeNotEnforcing[], fps: readonly string[], from: TrustNotEnforced['from'], version: number): string {
  const run = `"${pinCommand(fps)}"`;
  const where = from === 'accepted' ? `${run} (the admin keys of trust version ${version}, as this node accepts it)` : from === 'bus' ? `${run} after checking the fingerprints with your admins (this node has not pinned the root: they are as the bus has them)` : `"gitbus trust pin", which shows the admin keys to check`;
  const other = nodes.some((n) => n.reason.startsWith('its card says it pinned another')) ? '; a node that pinned another root moves its trust-pin.json aside first' : '';
  return `on each of them, run ${where}${other}. A watcher there needs no restart`;
}

/**
 * The nodes on the bus at `source` that do not enforce its trust root, as this node (home) sees it; null when the bus
 * has none. `cards`: the bus's node cards, as the caller read them.
 */
export async function trustNotEnforced(source: ChainSource, home: string, node: NodeTrust, cards: readonly { node: string; card?: Pick<NodeCard, 'trustPin'> | undefined }[], self: string, now = new Date()): Promise<TrustNotEnforced | null> {
  const chain = await readChain(source);
  if (!chain.present) return null;
  const nodes = nodesNotEnforcing(chain, cards, { node: self, pinned: existsSync(pinPath(home)) });
  let version = chain.newest;
  let fingerprints: string[] = [];
  let from: TrustNotEnforced['from'] = null;
  if (nodes.length > 0) {
    try {
      const pin = loadPin(home);
      const report = evaluateTrust(chain, pin, pin ? acceptedOf(pin, home) : null, { node, now });
      if (report.accepted) {
        version = report.accepted.version;
        fingerprints = [...new Set(adminKeysOf(report.accepted).map((a) => a.fingerprint))];
        from = pin ? 'accepted' : 'bus';
      }
    } catch {
      // A damaged pin file: `trust.root` says so; the nodes are named all the same.
    }
  }
  return { version, nodes, fingerprints, from, fix: nodes.length > 0 ? fixOf(nodes, fingerprints, from, version) : '' };
}
