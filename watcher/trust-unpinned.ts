import { pinsTrust } from '../bus/trust/enforce.js';
import { pinCommand } from '../bus/trust/enforcing-nodes.js';
import { linkPath } from '../bus/trust/chain-files.js';
import { parseLink } from '../bus/trust/chain.js';
import { evaluateTrust, readChain } from '../bus/trust/root.js';
import { adminKeysOf } from '../bus/trust/version-content.js';
import type { Snapshot } from '../bus/model/snapshot.js';
import type { BusContext } from '../bus/context.js';
import type { WatchEvent } from './watch-events.js';

/**
 * A watcher of a node that has not pinned the bus's trust root (it joined before the root existed) says so once,
 * event `trust-root-unpinned`: nothing else on that node would, and it runs any handoff, signed or not. It never
 * pins by itself: the keys the bus shows are what anyone with push access could have written, and a person
 * checking their fingerprints is the point of pinning (docs/PROTOCOL.md §12, "Pinning"). Said once per root (its
 * version 1's digest); the chain is read only when trust/ changed, so a wake costs nothing more.
 */
export function unpinnedRootNotice(ctx: Pick<BusContext, 'paths' | 'config'>, onEvent: (e: WatchEvent) => void): (snap: Snapshot) => Promise<void> {
  let looked = '';
  const said = new Set<string>();
  return async (snap) => {
    if (pinsTrust(ctx.paths.home)) return;
    const trust = snap.root.find((e) => e.path === 'trust' && e.type === 'tree');
    if (!trust || trust.oid === looked) return;
    looked = trust.oid;
    const chain = await readChain(snap);
    const first = chain.versions.get(1)?.link;
    const link = first ? parseLink(first, linkPath(1)) : undefined;
    if (!link || typeof link === 'string' || said.has(link.digest)) return;
    const report = evaluateTrust(chain, null, null, { node: ctx.config.trust ?? {}, now: new Date() });
    // A root no machine can accept yet (version 1 waits for signatures, or is refused) is nothing to pin.
    if (!report.accepted) return;
    said.add(link.digest);
    const fingerprints = [...new Set(adminKeysOf(report.accepted).map((a) => a.fingerprint))];
    onEvent({ type: 'trust-root-unpinned', version: report.accepted.version, fingerprints, fix: `check the admin key fingerprints with your admins (these are as the bus has them), then run "${pinCommand(fingerprints)}" on this node` });
  };
}
