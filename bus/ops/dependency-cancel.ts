import { renderBusFile } from '../../schemas/bus-file.js';
import { listingMessage } from './commit-message.js';
import { pathFor } from '../../schemas/layout.js';
import type { Cancel } from '../../schemas/cancel.js';
import { transact, type TransactOptions } from '../cas.js';
import type { BusContext } from '../context.js';
import { doomedByDependencies, type BlockedTask, type DependencyState } from '../model/dependencies.js';
import { openAttempt } from '../model/index-tree.js';
import type { FileChange } from '../store/objects.js';
import { archivedStates } from './archived-trust.js';

export interface DependencyCancel {
  id: string;
  reason: string;
}

/**
 * Cancels every blocked task whose dependency ended without success (or is a schedule's template), or that waits
 * on itself through a ring of blocked tasks, and every schedule's template whose `after` can never be met
 * (docs/PROTOCOL.md §4, §5a): a cancel file with the
 * reason, so that the task ends `cancelled` instead of waiting forever. Every watcher runs this at housekeeping;
 * the compare-and-swap lets exactly one write each cancel, and the others find it there. `opts.peek`: decide
 * from a snapshot already read first; only a cancel to write syncs.
 */
export async function cancelDoomed(ctx: BusContext, now = () => new Date(), opts: Pick<TransactOptions, 'peek'> = {}): Promise<DependencyCancel[]> {
  const r = await transact(ctx, 'cancel-doomed', async (snap) => {
    const candidates: string[] = [];
    // Only a task whose handoff names dependencies can be blocked: the rest are ruled out without building their views.
    for (const id of await snap.handoffIdsWhere('after', (h) => (h.after?.length ?? 0) > 0, false)) {
      const f = snap.index.tasks.get(id);
      if (f && !f.response && !f.cancel && openAttempt(f) === null) candidates.push(id);
    }
    const blocked: BlockedTask[] = [];
    const states = new Map<string, DependencyState>();
    const templates: BlockedTask[] = [];
    for (const v of await snap.viewsOf(candidates, (missing) => archivedStates(ctx, missing))) {
      // A template whose `after` can never be met would dispatch an instance cancelled at once at every due time:
      // it is cancelled as a blocked task is, which ends the schedule (§5a).
      if (v.state === 'scheduled' && v.handoff?.after?.length) templates.push({ id: v.id, after: v.handoff.after });
      if (v.state !== 'blocked') continue;
      blocked.push({ id: v.id, after: v.waitingFor });
      for (const d of v.waitingOn) states.set(d.id, d.state);
    }
    if (templates.length > 0) {
      // A template is not blocked (its instances are), so its dependencies' states are looked up here.
      const deps = [...new Set(templates.flatMap((t) => t.after))].filter((d) => !states.has(d));
      for (const v of await snap.viewsOf(deps.filter((d) => snap.has(d)), (missing) => archivedStates(ctx, missing))) states.set(v.id, v.state);
      for (const [id, state] of await archivedStates(ctx, deps.filter((d) => !snap.has(d)))) states.set(id, state);
      blocked.push(...templates);
    }
    // The reasons of live cancelled dependencies: one cancelled earlier for its own dependencies passes on why.
    const reasons = new Map<string, string>();
    for (const [d, state] of states) {
      const reason = state === 'cancelled' && snap.has(d) ? (await snap.view(d))?.cancel?.reason : undefined;
      if (reason) reasons.set(d, reason);
    }
    const doomed = doomedByDependencies(blocked, (d) => states.get(d) ?? 'unknown', (d) => reasons.get(d));
    const cancelled: DependencyCancel[] = [];
    const changes: FileChange[] = [];
    for (const [id, reason] of doomed) {
      const data: Cancel = { id, by: `${ctx.actor}@${ctx.config.node}`, cancelled: now().toISOString(), reason };
      changes.push({ path: pathFor({ kind: 'cancel', id }), content: renderBusFile('cancel', data, '') });
      cancelled.push({ id, reason });
    }
    if (changes.length === 0) return { result: { cancelled } };
    return { result: { cancelled }, commit: { changes, message: listingMessage(`gitbus: cancel ${cancelled.length} task(s) whose dependencies can never succeed`, cancelled.map((c) => `${c.id}: ${c.reason}`)) } };
  }, opts);
  return r.cancelled;
}
