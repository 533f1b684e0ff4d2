import type { Claim } from '../../schemas/claim.js';
import type { BusContext } from '../context.js';
import { UnknownTaskError } from '../errors.js';
import { claimsByAttempt } from '../model/task-file-order.js';
import type { RanTask } from '../model/resume-plan.js';
import { liveTaskId } from './archive-lookup.js';
import { archivedRuns } from './archived-trust.js';
import { snapshotOrLast } from './query.js';

/**
 * A task's handoff, response and claims as the bus holds them: live on main, else in the archive (by full id). Under
 * trust, as this node counts them: a claim or response forged in a node's name is not there, either way.
 */
export async function readRanTask(ctx: BusContext, ref: string): Promise<RanTask> {
  const { snap, offline } = await snapshotOrLast(ctx);
  const id = await liveTaskId(ctx, snap, ref, offline !== null);
  if (id !== null) {
    const view = await snap.view(id);
    if (!view) throw new UnknownTaskError(ref);
    const claims: Claim[] = [];
    for (const [, c] of claimsByAttempt(view.files)) {
      const p = await snap.parse<Claim>(c);
      if (p.ok) claims.push(p.data);
    }
    return { id, state: view.state, handoff: view.handoff ?? null, response: view.response ?? null, claims, problems: view.problems };
  }
  const t = (await archivedRuns(ctx, [ref], { thorough: true })).get(ref);
  if (!t) throw new UnknownTaskError(ref);
  return { id: t.id, state: t.state, handoff: t.handoff, response: t.response, claims: t.claims, problems: t.problems };
}
