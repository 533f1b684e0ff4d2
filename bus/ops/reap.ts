import { renderBusFile } from '../../schemas/bus-file.js';
import { listingMessage } from './commit-message.js';
import { pathFor } from '../../schemas/layout.js';
import type { TaskResponse } from '../../schemas/response.js';
import { transact, type TransactOptions } from '../cas.js';
import type { BusContext } from '../context.js';
import type { FileChange } from '../store/objects.js';
import { expiredHolders } from './claim.js';
import { holdersToTakeOver, trustOf, whyClaimNothing } from '../trust/node-files.js';

export interface Reaped {
  id: string;
  status: 'failed' | 'cancelled';
  reason: string;
}

/**
 * Ends tasks whose holder went silent past the lease when nobody may take them over: a task being cancelled
 * becomes `cancelled`, a task that used all its attempts becomes `failed`, each with a response that says why.
 * (Tasks with attempts left are reclaimed by `claim` instead.) A task given back (released) at its last attempt
 * fails too. Written by whichever node notices first.
 * `opts.peek`: decide from a snapshot already read first; only a reap that has something to write syncs.
 */
export async function reapExpired(ctx: BusContext, now = () => new Date(), opts: Pick<TransactOptions, 'peek'> = {}): Promise<Reaped[]> {
  const r = await transact(ctx, 'reap', async (snap) => {
    // A reap reads the tasks with claims and releases only: no index of every task (a watcher's first wake).
    snap.useLean(true);
    const trust = trustOf(snap);
    // What this node writes would count as forged everywhere (its key is not the one listed, or unlisted nodes are
    // refused): an end it wrote would only be written again at every look.
    if (trust && whyClaimNothing(ctx.paths.home, ctx.config.node, trust.accepted)) return { result: { reaped: [] } };
    const expired = holdersToTakeOver(trust, ctx.config.node, await expiredHolders(ctx, snap));
    const reaped: Reaped[] = [];
    const changes: FileChange[] = [];
    const end = (id: string, status: Reaped['status'], attempt: number, reason: string) => {
      const data: TaskResponse = { id, status, node: ctx.config.node, attempt, finished: now().toISOString(), reason };
      changes.push({ path: pathFor({ kind: 'response', id }), content: renderBusFile('response', data, `## Summary\n\n${reason}.\n`) });
      reaped.push({ id, status, reason });
    };
    // Given back at its last attempt (a watcher stopped during the run, a person's claim and release): nobody may
    // claim it again, so it fails rather than stay pending for ever. Only tasks with a release can be such.
    const given = snap.filesWith(['releases']).filter((f) => !f.response && !f.cancel);
    for (const view of await snap.viewsOf(given.map((f) => f.id))) {
      if (view.state !== 'pending' || view.claim || view.attempts < snap.settings.maxAttempts) continue;
      end(view.id, 'failed', view.attempts, `given back at attempt ${view.attempts}, the last of ${snap.settings.maxAttempts} attempts, so no node may claim it again`);
    }
    if (expired.size === 0 && changes.length === 0) return { result: { reaped } };
    // Only a task with a claim has a holder.
    for (const view of expired.size === 0 ? [] : await snap.viewsOf(snap.filesWith(['claims']).map((f) => f.id))) {
      const id = view.id;
      const holder = view.claim?.node;
      if (!holder || !expired.has(holder) || (view.state !== 'claimed' && view.state !== 'cancelling')) continue;
      const silent = `node ${holder} went silent for longer than the lease (${snap.settings.leaseMs / 1000}s) during attempt ${view.claim?.attempt}`;
      let status: Reaped['status'];
      let reason: string;
      if (view.state === 'cancelling') {
        status = 'cancelled';
        reason = `cancelled; ${silent}`;
      } else if (view.attempts >= snap.settings.maxAttempts) {
        status = 'failed';
        reason = `${silent}, the last of ${snap.settings.maxAttempts} attempts`;
      } else continue;
      end(id, status, view.claim?.attempt ?? view.attempts, reason);
    }
    if (changes.length === 0) return { result: { reaped } };
    return { result: { reaped }, commit: { changes, message: listingMessage(`gitbus: reap ${reaped.length} task(s) whose node went silent or that used all their attempts`, reaped.map((x) => `${x.id} ${x.status}`)) } };
  }, opts);
  return r.reaped;
}
