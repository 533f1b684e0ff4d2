import { createHash } from 'node:crypto';
import { firstLine } from '../../schemas/errors.js';
import { transact } from '../cas.js';
import type { BusContext } from '../context.js';
import type { FileChange } from '../store/objects.js';
import type { Snapshot } from '../model/snapshot.js';
import { listQueue, rejectQueue, removeQueue, type QueueEntry } from '../queue.js';
import { decideCancel } from './cancel.js';
import { archivedStates } from './archive-lookup.js';

export interface Delivery {
  /** Queued changes the bus now holds (sent now, or found already there: another process of this node sent them). */
  delivered: QueueEntry[];
  /** Queued changes the bus will never take, moved to `queue/rejected/` with the reason. */
  rejected: { entry: QueueEntry; reason: string; path: string }[];
  /** The commit that carried them, or null when nothing needed writing. */
  commit: string | null;
}

/**
 * Sends every change queued on this node (bus/queue.ts) in one compare-and-swap commit. The queue is read again
 * at every round, so changes queued meanwhile by other processes of this node ride along: ten dispatches started
 * at once from one home need a round or two, not ten. Throws the remote's error when it cannot be reached; the
 * queue is then left as it was.
 */
export async function deliverQueued(ctx: BusContext): Promise<Delivery> {
  if (listQueue(ctx.paths.home).length === 0) return { delivered: [], rejected: [], commit: null };
  const r = await transact(ctx, 'deliver', async (snap) => {
    const entries = listQueue(ctx.paths.home);
    // A handoff sent by a process killed before it could remove its queue entry, and archived since, is not on
    // main any more: it must not come back as a new task. Asked of the archive only for such ids (rare).
    const gone = entries.filter((e) => e.kind === 'dispatch' && !snap.has(e.id)).map((e) => e.id);
    const archived = gone.length > 0 ? await archivedStates(ctx, gone) : new Map<string, unknown>();
    const plan = await planDelivery(snap, entries, (id) => archived.has(id));
    const changes = plan.send.flatMap((s) => s.changes);
    const ids = plan.send.map((s) => `${s.entry.kind} ${s.entry.id}`);
    // One change keeps the message it would have had on its own, so the remote's log reads as before.
    const message = plan.send.length === 1 ? (plan.send[0]?.message ?? '') : `gitbus: deliver ${ids.length} queued changes from ${ctx.config.node}\n\n${ids.join('\n')}`;
    return { result: plan, ...(changes.length > 0 ? { commit: { changes, message } } : {}) };
  });
  const home = ctx.paths.home;
  const delivered = [...r.present, ...r.send.map((s) => s.entry)];
  for (const e of delivered) removeQueue(home, e);
  const rejected = r.refused.map(({ entry, reason }) => ({ entry, reason, path: rejectQueue(home, entry, reason) }));
  return { delivered, rejected, commit: r.commit };
}

interface Plan {
  send: { entry: QueueEntry; changes: FileChange[]; message: string }[];
  present: QueueEntry[];
  refused: { entry: QueueEntry; reason: string }[];
}

/** What each queued change does to the bus as `snap` has it. Pure but for reading the snapshot. */
async function planDelivery(snap: Snapshot, entries: QueueEntry[], archived: (id: string) => boolean): Promise<Plan> {
  const plan: Plan = { send: [], present: [], refused: [] };
  for (const entry of entries) {
    if (entry.kind === 'dispatch') {
      const there = snap.index.tasks.get(entry.id)?.handoff;
      if (there?.oid === blobOid(entry.text) || archived(entry.id)) plan.present.push(entry);
      else if (snap.has(entry.id)) plan.refused.push({ entry, reason: `a different task with id ${entry.id} reached the bus first` });
      else plan.send.push({ entry, changes: [{ path: entry.path, content: entry.text }], message: `gitbus: dispatch ${entry.id}\n\n${entry.title}` });
      continue;
    }
    try {
      const d = await decideCancel(snap, entry.id, { by: entry.by, cancelled: entry.at, ...(entry.reason ? { reason: entry.reason } : {}) });
      if (d.commit) plan.send.push({ entry, changes: d.commit.changes, message: d.commit.message });
      else plan.present.push(entry);
    } catch (err) {
      // Ended, or archived, while the cancel waited: nothing left to cancel.
      plan.refused.push({ entry, reason: firstLine(err) });
    }
  }
  return plan;
}

function blobOid(text: string): string {
  const body = Buffer.from(text, 'utf8');
  return createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
}
