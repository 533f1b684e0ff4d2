import type { BusContext } from '../bus/context.js';
import type { Snapshot } from '../bus/model/snapshot.js';
import { isQueued } from '../bus/queue.js';
import { factOf, type TaskFact } from './hear-back.js';
import { stillNews, type Ledger } from './session-ledger.js';

/**
 * The facts of a ledger's tasks as `snap` shows them: the tasks the session was already told about are skipped,
 * since nothing more will be said of them, unless it was told their branch was not pushed yet (a delivery may come). A task missing from main is queued (this node's queue still holds
 * it) or gone (archived, refused).
 */
export async function factsOf(ctx: BusContext, snap: Snapshot, ledger: Ledger): Promise<Map<string, TaskFact>> {
  const out = new Map<string, TaskFact>();
  for (const t of ledger.tasks) {
    if (!stillNews(t)) continue;
    const view = snap.has(t.id) ? await snap.view(t.id) : undefined;
    out.set(t.id, factOf(t, view, !view && isQueued(ctx.paths.home, { kind: 'dispatch', id: t.id })));
  }
  return out;
}
