import { renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import type { Release } from '../../schemas/release.js';
import { transact, type TransactStats } from '../cas.js';
import type { BusContext } from '../context.js';
import { RunStillGoesError } from '../give-back-errors.js';
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
  /**
   * Whether the release was written: always, unless `keepLast` was asked and this was the last allowed attempt as
   * this very snapshot says (the claim then stays the caller's, to answer with its reason).
   */
  released: boolean;
}

export interface ReleaseOptions {
  /**
   * Write nothing when this is the task's last allowed attempt: a holder that gives a claim back for a reason of its
   * own (its project remote away) answers `failed` with that reason instead, rather than leave the task to a reap
   * that cannot say it. Decided from the snapshot the release would commit on, so that a `maxAttempts` changed in
   * gitbus.yaml meanwhile is what counts, not what the holder last saw.
   */
  keepLast?: boolean;
  /**
   * The process group of this machine's run of a claim (`<id>.<attempt>`), when one still goes: the CLI's release is
   * refused then (RunStillGoesError). The watcher gives back only what it stopped, and asks nothing.
   */
  runsHere?: (claim: string) => number | undefined;
}

/**
 * Gives a claim back: the task is pending again and its next claim takes the next attempt number, unless that was
 * its last allowed attempt: then it fails.
 */
export async function release(ctx: BusContext, ref: string, reason?: string, now = () => new Date(), opts: ReleaseOptions = {}): Promise<ReleaseResult & TransactStats> {
  return transact<ReleaseResult>(ctx, 'release', async (snap) => {
    const view = await heldTask(snap, ref, ctx.config.node, 'release', archivedIdCheck(ctx)).catch((err: unknown) => refuseIfArchived(ctx, ref, err, 'release'));
    const claim = `${view.id}.${view.claim.attempt}`;
    const pid = opts.runsHere?.(claim);
    if (pid !== undefined) throw new RunStillGoesError([{ claim, pid }], 'release');
    const becomes: ReleaseResult['becomes'] = view.attempts >= snap.settings.maxAttempts ? 'failed' : 'pending';
    const decided = { id: view.id, attempt: view.claim.attempt, maxAttempts: snap.settings.maxAttempts, becomes };
    if (opts.keepLast && becomes === 'failed') return { result: { ...decided, released: false } };
    const data: Release = { id: view.id, attempt: view.claim.attempt, node: ctx.config.node, released: now().toISOString() };
    if (reason) data.reason = reason;
    const path = pathFor({ kind: 'release', id: view.id, attempt: view.claim.attempt });
    return {
      result: { ...decided, released: true },
      commit: { changes: [{ path, content: renderBusFile('release', data, '') }], message: `gitbus: release ${view.id} attempt ${view.claim.attempt} by ${ctx.config.node}` },
    };
  });
}
