import { firstLine } from '../../schemas/errors.js';
import type { NodeConfig } from '../home.js';
import type { Snapshot } from '../model/snapshot.js';
import { ok, skip, warn, type Check } from '../ops/doctor-check.js';
import { trustNotEnforced } from './enforcing-nodes.js';

const NAME = 'trust.nodes';

/**
 * `gitbus doctor`'s `trust.nodes`: on a bus with a trust root, the nodes that do not enforce it (docs/PROTOCOL.md
 * §12, "Pinning"), by their cards and this node's own pin. Asked on any node: the admin who started the root is the
 * one who must hear that the nodes already on the bus still run unsigned work.
 */
export async function checkTrustNodes(home: string, config: NodeConfig, snap: Snapshot | null): Promise<Check> {
  if (!snap) return skip(NAME, 'the bus could not be read');
  let r;
  try {
    r = await trustNotEnforced(snap, home, config.trust ?? {}, await snap.nodes(), config.node);
  } catch (err) {
    return skip(NAME, `the trust root cannot be read (${firstLine(err)}; see trust.root)`);
  }
  if (!r) return skip(NAME, 'the bus has no trust root, so there is nothing for nodes to enforce');
  if (r.nodes.length === 0) return ok(NAME, 'every node on the bus enforces the trust root (each card says it pinned it)');
  return warn(NAME, `${r.nodes.map((n) => n.node).join(', ')} do not enforce trust version ${r.version} and run any handoff, signed or not (${r.nodes.map((n) => `${n.node}: ${n.reason}`).join('; ')})`, r.fix);
}
