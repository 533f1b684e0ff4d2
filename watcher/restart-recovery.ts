import type { BusContext } from '../bus/context.js';
import { openAttempt } from '../bus/model/index-tree.js';
import { currentSnapshot } from '../bus/ops/query.js';
import { release } from '../bus/ops/release.js';
import { firstLine } from '../schemas/errors.js';
import { keptResultIds } from './outbox.js';
import { forgetRunning, killLeftover, listRunning } from './running-record.js';
import type { WatchOptions } from './watch-events.js';
import type { Snapshot } from '../bus/model/snapshot.js';

/** The `by` of claims a watcher makes (BusContext.actor when the CLI opens the bus for `gitbus watch`). */
export const WATCHER_ACTOR = 'watcher';

/** After a crash: runs recorded in the home whose watcher is gone are stopped (before anything else runs). */
export function stopLeftovers(ctx: BusContext): void {
  for (const r of listRunning(ctx.paths.home)) {
    killLeftover(r);
    forgetRunning(ctx.paths.home, r.id, r.attempt);
  }
}

/**
 * After a crash, once the remote is reachable: every claim this node's watcher holds is released (this process
 * has claimed nothing yet), so those tasks go back to the queue at once; waiting for the lease would not help,
 * since this node's heartbeat is alive again. Claims a person made on this node (`by` is their name, not
 * `watcher`) are theirs to keep, and so are claims whose result the node keeps (keptResultIds).
 */
export async function recoverClaims(ctx: BusContext, opts: WatchOptions): Promise<void> {
  const snap = await currentSnapshot(ctx);
  // Only the tasks with claims are read: the rest need not be indexed (a watcher's first look, or `watch --once`).
  snap.useLean(true);
  const kept = keptResultIds(ctx.paths.home);
  // Names alone rule out a task without an open claim, or with a response: only the rest can be claimed (or
  // cancelling), so only their views are built (with 5,000 pending tasks, one instead of 5,000 at every start), as a
  // few views are: the parse cache of every task is loaded only for many.
  const open = snap.filesWith(['claims']).filter((f) => !f.response && openAttempt(f) !== null);
  for (const v of await snap.viewsOf(open.map((f) => f.id))) {
    const id = v.id;
    if ((v.state !== 'claimed' && v.state !== 'cancelling') || v.claim?.node !== ctx.config.node || v.claim.data?.by !== WATCHER_ACTOR) continue;
    if (kept.has(id)) continue;
    try {
      await release(ctx, id, 'the watcher restarted; the earlier run was lost');
      opts.onEvent({ type: 'released', id, attempt: v.claim.attempt, reason: 'restart' });
    } catch (err) {
      opts.onEvent({ type: 'error', message: firstLine(err), code: (err as { code?: string }).code ?? null });
    }
  }
}

/**
 * Claims of this watcher that it is not running and has no result for: a claim whose push reached the remote while
 * the connection dropped before the answer came back, so the watcher took it for a failure. Nobody else would take
 * such a task while this node beats. Pure over what it is given: the caller decides when it is safe to look (no
 * claim of its own on the way) and releases only what two looks in a row found (`previous`).
 */
export async function orphanedClaims(ctx: BusContext, snap: Snapshot, mine: (id: string) => boolean): Promise<{ id: string; attempt: number }[]> {
  const kept = keptResultIds(ctx.paths.home);
  const out: { id: string; attempt: number }[] = [];
  const maybe = snap.filesWith(['claims']).filter((f) => !f.response && !mine(f.id) && !kept.has(f.id));
  for (const v of await snap.viewsOf(maybe.map((f) => f.id))) {
    if ((v.state !== 'claimed' && v.state !== 'cancelling') || v.claim?.node !== ctx.config.node || v.claim.data?.by !== WATCHER_ACTOR) continue;
    out.push({ id: v.id, attempt: v.claim.attempt });
  }
  return out;
}
