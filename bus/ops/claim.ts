import { renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import type { Claim } from '../../schemas/claim.js';
import type { Handoff } from '../../schemas/handoff.js';
import { InvalidTaskError, NotClaimableError, NothingClaimableError, TaskStateError } from '../errors.js';
import { transact, type TransactStats } from '../cas.js';
import type { BusContext } from '../context.js';
import { openAttempt } from '../model/index-tree.js';
import { claimQueue, eligibility, pickFromQueue, type NodeFacts } from '../model/planner.js';
import { resolveTaskId } from '../model/resolve-id.js';
import type { Snapshot } from '../model/snapshot.js';
import type { TaskView } from '../model/task-view.js';
import { archivedStates } from './archive-lookup.js';

export type ClaimTarget = { id: string } | { next: true; runners?: readonly string[] };

export interface ClaimResult {
  id: string;
  attempt: number;
  node: string;
  title: string;
  /** The claimed task's handoff, so that whoever claimed can run it without another read. */
  handoff: Handoff;
  body: string;
}

export async function claim(ctx: BusContext, target: ClaimTarget, now = () => new Date()): Promise<ClaimResult & TransactStats> {
  return transact(ctx, 'claim', async (snap, round) => {
    const who: NodeFacts = { node: ctx.config.node, labels: ctx.config.labels };
    let view: TaskView;
    if ('id' in target) {
      const id = resolveTaskId(snap.ids(), target.id);
      view = await viewWithDeps(ctx, snap, id);
      const e = eligibility(view, who, snap.settings.maxAttempts);
      if (!e.ok) {
        if (view.state === 'invalid') throw new InvalidTaskError(id, view.problems.map((p) => `${p.path}${p.field ? ` ${p.field}` : ''}: ${p.reason}`));
        if (view.state === 'claimed' || view.state === 'cancelling') throw new TaskStateError(id, `claimed by ${view.claim?.node ?? 'an unknown node'}`, 'claim it', e.fix, { holder: view.claim?.node ?? null });
        throw new NotClaimableError(id, e.reason, e.fix);
      }
    } else {
      // Names alone rule out most tasks; parse only the handoffs that could be claimable.
      const candidates = [...snap.index.tasks.values()].filter((f) => !f.response && !f.cancel && openAttempt(f) === null).map((f) => f.id);
      const external = await archivedStates(ctx, await snap.missingDependencies(candidates));
      const views: TaskView[] = [];
      for (const id of candidates) {
        const v = await snap.view(id, (d) => external.get(d));
        if (v) views.push(v);
      }
      const queue = claimQueue(views, target.runners ? { ...who, runners: target.runners } : who, snap.settings.maxAttempts);
      const first = pickFromQueue(queue, round);
      if (!first) throw new NothingClaimableError(ctx.config.node, views.length);
      view = first;
    }
    const attempt = view.attempts + 1;
    const data: Claim = { id: view.id, attempt, node: ctx.config.node, claimed: now().toISOString(), by: ctx.actor };
    const path = pathFor({ kind: 'claim', id: view.id, attempt });
    return {
      result: { id: view.id, attempt, node: ctx.config.node, title: view.handoff?.title ?? '', handoff: view.handoff as Handoff, body: view.handoffBody ?? '' },
      commit: { changes: [{ path, content: renderBusFile('claim', data, '') }], message: `gitbus: claim ${view.id} attempt ${attempt} by ${ctx.config.node}` },
    };
  });
}

async function viewWithDeps(ctx: BusContext, snap: Snapshot, id: string): Promise<TaskView> {
  const external = await archivedStates(ctx, await snap.missingDependencies([id]));
  const v = await snap.view(id, (d) => external.get(d));
  if (!v) throw new Error(`unreachable: ${id} resolved but has no view`);
  return v;
}
