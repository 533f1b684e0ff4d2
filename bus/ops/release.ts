import { renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import type { Release } from '../../schemas/release.js';
import { transact, type TransactStats } from '../cas.js';
import type { BusContext } from '../context.js';
import { heldTask } from './holder.js';
import { refuseIfArchived } from './archived-refusal.js';
import { archivedIdCheck } from './archive-lookup.js';

export interface ReleaseResult {
  id: string;
  attempt: number;
  /** gitbus.yaml's `maxAttempts` as the release was decided. */
  maxAttempts: number;
  /**
   * What the task is after the release: `pending` again, or `failed` when that was its last allowed attempt (nobody
   * may claim it again; the first watcher to look writes the failed response, docs/PROTOCOL.md §5a "Reaping").
   */
  becomes: 'pending' | 'failed';
}

/**
 * Gives a claim back: the task is pending again and its next claim takes the next attempt number, unless that was
 * its last allowed attempt: then it fails.
 */
export async function release(ctx: BusContext, ref: string, reason?: string, now = () => new Date()): Promise<ReleaseResult & TransactStats> {
  return transact(ctx, 'release', async (snap) => {
    const view = await heldTask(snap, ref, ctx.config.node, 'release', archivedIdCheck(ctx)).catch((err: unknown) => refuseIfArchived(ctx, ref, err, 'release'));
    const data: Release = { id: view.id, attempt: view.claim.attempt, node: ctx.config.node, released: now().toISOString() };
    if (reason) data.reason = reason;
    const path = pathFor({ kind: 'release', id: view.id, attempt: view.claim.attempt });
    return {
      result: { id: view.id, attempt: view.claim.attempt, maxAttempts: snap.settings.maxAttempts, becomes: view.attempts >= snap.settings.maxAttempts ? 'failed' : 'pending' },
      commit: { changes: [{ path, content: renderBusFile('release', data, '') }], message: `gitbus: release ${view.id} attempt ${view.claim.attempt} by ${ctx.config.node}` },
    };
  });
}
