import type { BusContext } from '../context.js';
import type { Snapshot } from '../model/snapshot.js';
import type { RankNode } from '../model/claim-rank.js';
import { silenceFrom, type Observations } from '../model/liveness.js';
import { budgetOf, presenceMs } from '../model/budget.js';
import { readObservations } from '../liveness-store.js';
import { claimHolders } from './claim-holders.js';
import { isLocalRemote } from './budget-report.js';

/**
 * The nodes the claim ranking weighs (bus/model/claim-rank.ts), from one snapshot and this node's observations of
 * the heartbeat refs: every node with a card on main (`nodes/<name>.md`, readable or not), live when this observer
 * last saw its heartbeat move within a presence interval plus a lease (an idle node marks presence rarely and is
 * still live). A heartbeat ref with no card on main is no node of the bus (one that left, or refs pushed by hand):
 * counted as able, 200 of them held a real node's claim back by 200 rank steps (23 s). Reads only what the claim's
 * decision already read (cards and claims are parsed once per blob).
 */
export async function rankFleet(ctx: BusContext, snap: Snapshot, obs: Observations = readObservations(ctx.paths.home)): Promise<RankNode[]> {
  const holders = await claimHolders(snap);
  const cards = new Map((await snap.nodes()).map((n) => [n.node, n.card]));
  const names = cards.keys();
  const s = snap.settings;
  const liveFor = presenceMs(s, budgetOf(s, isLocalRemote(ctx)), Object.keys(obs.nodes).length) + s.leaseMs;
  const out: RankNode[] = [];
  for (const node of names) {
    const o = obs.nodes[node];
    const live = o !== undefined && obs.listedAt !== null && obs.listedAt - silenceFrom(o) <= liveFor;
    const card = cards.get(node);
    out.push({ node, live, holding: holders.get(node)?.length ?? 0, ...(card ? { card } : {}) });
  }
  return out;
}
