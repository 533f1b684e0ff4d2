import type { Handoff } from '../../schemas/handoff.js';
import type { BusContext } from '../context.js';
import { updateObservations } from '../liveness-store.js';
import { MAIN } from '../repo.js';
import { cardTakers, noTaker } from '../model/planner.js';
import type { PolicyTask } from '../model/node-policy.js';
import type { Snapshot } from '../model/snapshot.js';
import { isDown, takersDownText, type NodeDown } from '../model/takers-down.js';
import { currentBeats } from './beat-cache.js';
import { isLocalRemote } from './budget-report.js';
import { nodeLiveness } from './node-liveness.js';
import { takerCards } from './status-no-taker.js';

/*
 * Whether the nodes that may take a task run, for a single task: what `dispatch` warns of and what a wait that timed
 * out says (status judges all its tasks at once, bus/ops/status.ts). Judged as status judges nodes, from this node's
 * observations of the heartbeat refs and the nodes' own last beats.
 */

/**
 * More takers than this are not looked at: a plain task many nodes may take is seldom left to down nodes alone, and
 * each taker's heartbeat may cost a read of the remote.
 */
const MAX_TAKERS = 8;

/** A listing of the remote's refs at most this old is the heartbeats' as they are now. */
const LISTING_FRESH_MS = 5_000;

/** Which of `nodes` are down now (stopped, silent, or never beat), as `status` would show them. */
export async function downAmong(ctx: BusContext, snap: Snapshot, nodes: readonly string[], now = Date.now()): Promise<Map<string, NodeDown>> {
  const out = new Map<string, NodeDown>();
  if (nodes.length === 0) return out;
  // A dispatch to a local remote reads main's file alone: the heartbeat refs are listed here, once.
  if (Date.now() - ctx.repo.listedAt > LISTING_FRESH_MS) await ctx.repo.remoteHead(MAIN);
  const obs = updateObservations(ctx.paths.home, ctx.repo.lastRefs, ctx.repo.listedAt, snap.settings.leaseMs);
  const beats = await currentBeats(ctx, nodes.filter((n) => obs.nodes[n] !== undefined));
  for (const n of nodes) {
    const read = beats.get(n);
    // A heartbeat ref that holds no commit is no heartbeat: the node never beat, as status shows it.
    const beat = read && 'beat' in read ? read.beat : null;
    const seen = read && 'notACommit' in read ? { ...obs, nodes: Object.fromEntries(Object.entries(obs.nodes).filter(([k]) => k !== n)) } : obs;
    const { liveness, beatAt } = nodeLiveness(seen, n, beat, snap.settings, isLocalRemote(ctx), now);
    if (isDown(liveness)) out.set(n, { liveness, beatAt });
  }
  return out;
}

/**
 * Why a task with this handoff waits although node cards let nodes take it: each of them is down (takersDownText);
 * null when one runs, when no card lets a node take it (noTaker's to say), or for a manual task.
 */
export async function takersDownFor(ctx: BusContext, snap: Snapshot, h: Pick<Handoff, 'to' | 'labels' | 'runner' | 'command'> & PolicyTask): Promise<string | null> {
  const takers = cardTakers(h, takerCards(await snap.nodes(), snap.forged));
  if (takers.length === 0 || takers.length > MAX_TAKERS) return null;
  const now = Date.now();
  return takersDownText(takers, h.to !== undefined, await downAmong(ctx, snap, takers, now), now);
}

/**
 * Why task `id` is still pending, as `status` says it under the task: no node's card lets a watcher take it (or it is
 * manual), or every node that may is down; null when it is not pending, or nothing keeps it so but the queue.
 */
export async function whyPending(ctx: BusContext, snap: Snapshot, id: string): Promise<string | null> {
  const view = snap.has(id) ? await snap.view(id) : undefined;
  const h = view?.handoff;
  if (!view || view.state !== 'pending' || !h) return null;
  return noTaker(h, takerCards(await snap.nodes(), snap.forged)) ?? (await takersDownFor(ctx, snap, h));
}
