import { gitObjectId } from '../git/loose-object.js';
import { listingMessage } from './commit-message.js';
import { firstLine } from '../../schemas/errors.js';
import { transact } from '../cas.js';
import type { BusContext } from '../context.js';
import type { FileChange } from '../store/objects.js';
import type { Snapshot } from '../model/snapshot.js';
import { listQueue, pruneDequeued, rejectQueue, removeQueue, requeueIfDequeued, type QueueBatch, type QueueEntry } from '../queue.js';
import { decideCancel } from './cancel.js';
import { findArchived, type ArchivedTask } from './archive-lookup.js';
import { groupTaskIds } from './group-members.js';
import { noteDispatched } from '../dispatched-ledger.js';

/** A batch still incomplete this long after it was queued was left by a process that stopped while queueing it. */
export const INCOMPLETE_BATCH_MS = 60_000;

export interface Delivery {
  /** Queued changes the bus now holds (sent now, or found already there: another process of this node sent them). */
  delivered: QueueEntry[];
  /** Queued changes the bus will never take, moved to `queue/rejected/` with the reason. */
  rejected: { entry: QueueEntry; reason: string; path: string }[];
  /** The commit that carried them, or null when nothing needed writing. */
  commit: string | null;
  /**
   * The snapshot of main the last round decided from (null when no round ran): with the commit's changes, main as the
   * remote took it. A dispatch whose handoff went alone warns from it instead of reading the main just written.
   */
  decidedFrom: Snapshot | null;
}

/**
 * Sends every change queued on this node (bus/queue.ts) in one compare-and-swap commit. The queue is read again
 * at every round, so changes queued meanwhile by other processes of this node ride along: ten dispatches started
 * at once from one home need a round or two, not ten. Throws the remote's error when it cannot be reached; the
 * queue is then left as it was.
 */
export async function deliverQueued(ctx: BusContext, opts: { fresh?: ReadonlySet<string> } = {}): Promise<Delivery> {
  pruneDequeued(ctx.paths.home);
  if (listQueue(ctx.paths.home).length === 0) return { delivered: [], rejected: [], commit: null, decidedFrom: null };
  let decidedFrom: Snapshot | null = null;
  const r = await transact(ctx, 'deliver', async (snap) => {
    decidedFrom = snap;
    // The queue names a few tasks: their names looked up, not every live task indexed (lean-index.ts, issue 14).
    snap.useLean(true);
    const entries = listQueue(ctx.paths.home);
    // A handoff sent by a process killed before it could remove its queue entry, and archived since, is not on
    // main any more: it must not come back as a new task; and a chosen id an archived task has is refused. Asked
    // of the archive for such ids: not for the handoffs with generated ids this very process queued just now
    // (`fresh`), which nobody can have sent yet, so that a dispatch costs no archive lookup (a git process on a
    // local remote, exchanges on a remote one).
    const gone = entries.filter((e) => e.kind === 'dispatch' && !snap.has(e.id) && !opts.fresh?.has(e.id)).map((e) => e.id);
    // Read after this round's main (`fresh`): the round read main alone, and made no listing to take the archive from.
    const archived = gone.length > 0 ? await findArchived(ctx, gone, { fresh: true }) : new Map<string, ArchivedTask>();
    const plan = await planDelivery(snap, entries, (id) => (archived.has(id) ? (archived.get(id)?.files.get('handoff.md') ?? '') : undefined));
    const changes = plan.send.flatMap((s) => s.changes);
    const ids = plan.send.map((s) => `${s.entry.kind} ${s.entry.id}`);
    const batch = soleBatch(plan.send.map((s) => s.entry));
    // One change keeps the message it would have had on its own, so the remote's log reads as before; a batch
    // alone (a fan-out) says what it is.
    const message = batch
      ? listingMessage(batch.subject, plan.send.map((s) => `${s.entry.id} ${s.entry.kind === 'dispatch' ? s.entry.title : ''}`.trimEnd()))
      : plan.send.length === 1
        ? (plan.send[0]?.message ?? '')
        : listingMessage(`gitbus: deliver ${ids.length} queued changes from ${ctx.config.node}`, ids);
    return { result: plan, ...(changes.length > 0 ? { commit: { changes, message } } : {}) };
  }, { oneRef: true });
  const home = ctx.paths.home;
  const delivered = [...r.present, ...r.send.map((s) => s.entry)];
  // For collect: a task that is archived before the next collect has left main, and only this says it was ours.
  // Noted before the queue entries go, so that a crash between the two loses no note.
  noteDispatched(home, delivered.flatMap((e) => (e.kind === 'dispatch' ? [{ id: e.id, title: e.title, at: e.queuedAt }] : [])));
  for (const e of delivered) removeQueue(home, e);
  const rejected = r.refused.map(({ entry, reason }) => ({ entry, reason, path: rejectQueue(home, entry, reason) }));
  // A dispatch a cancel took out of the queue while this push was under way (bus/queue.ts dequeueDispatch): the
  // cancel asked for goes out now, so the task cancelled while it was queued does not run.
  const raced = delivered.filter((e) => e.kind === 'dispatch' && requeueIfDequeued(home, e));
  if (raced.length > 0) {
    try {
      await deliverQueued(ctx);
    } catch {
      // What this delivery was asked for reached the bus; the cancel stays queued for the next contact.
    }
  }
  return { delivered, rejected, commit: r.commit, decidedFrom };
}

interface Plan {
  send: { entry: QueueEntry; changes: FileChange[]; message: string }[];
  present: QueueEntry[];
  refused: { entry: QueueEntry; reason: string }[];
}

function batchOf(e: QueueEntry): QueueBatch | undefined {
  return e.kind === 'dispatch' ? e.batch : undefined;
}

/** The batch every entry belongs to, when they all belong to one and it is whole. */
function soleBatch(entries: QueueEntry[]): QueueBatch | undefined {
  const first = entries[0] ? batchOf(entries[0]) : undefined;
  return first && entries.length === first.size && entries.every((e) => batchOf(e)?.key === first.key) ? first : undefined;
}

/** What each queued change does to the bus as `snap` has it. Pure but for reading the snapshot. */
/** `archived(id)`: the blob oid of the archived handoff of that id ('' if it has none), undefined when none is archived. */
async function planDelivery(snap: Snapshot, entries: QueueEntry[], archived: (id: string) => string | undefined, now = Date.now()): Promise<Plan> {
  const plan: Plan = { send: [], present: [], refused: [] };
  const batches = new Map<string, QueueEntry[]>();
  for (const e of entries) {
    const b = batchOf(e);
    if (b) batches.set(b.key, [...(batches.get(b.key) ?? []), e]);
  }
  for (const members of batches.values()) {
    const sub = await planDelivery(snap, members.map(withoutBatch), archived, now);
    const b = batchOf(members[0] as QueueEntry) as QueueBatch;
    const refuse = (reason: string) => plan.refused.push(...members.map((entry) => ({ entry, reason })));
    const original = new Map(members.map((e) => [e.id, e]));
    if (sub.send.length === 0 && sub.refused.length === 0) {
      // Already on the bus: sent by a process that stopped before it emptied the queue.
      plan.present.push(...members);
      continue;
    }
    if (members.length < b.size) {
      // Still being queued by its process (wait), or left half-queued by one that stopped (give up on it).
      if (now - Date.parse(members[0]?.queuedAt ?? '') > INCOMPLETE_BATCH_MS) refuse(`only ${members.length} of the ${b.size} tasks of "${b.subject}" were queued; the process queueing them stopped`);
      continue;
    }
    const ids = new Set(members.map((e) => e.id));
    const others = b.group !== undefined ? await groupTaskIds(snap, b.group, ids) : [];
    if (others.length > 0) refuse(`group "${b.group}" already has live tasks (${others.slice(0, 5).join(', ')}${others.length > 5 ? ', ...' : ''})`);
    else if (sub.refused.length > 0) refuse(sub.refused[0]?.reason ?? 'refused');
    else {
      // All of them or none: sent and present keep their batch, so the commit message can say what it is.
      plan.send.push(...sub.send.map((s) => ({ ...s, entry: original.get(s.entry.id) as QueueEntry })));
      plan.present.push(...sub.present.map((e) => original.get(e.id) as QueueEntry));
    }
  }
  for (const entry of entries) {
    if (batchOf(entry)) continue;
    if (entry.kind === 'dispatch') {
      const there = snap.filesOf(entry.id)?.handoff;
      const inArchive = archived(entry.id);
      // Hashed only when there is a file of that id to compare it with: a new task's id is free, the usual case.
      const mine = there !== undefined || inArchive !== undefined ? gitObjectId('blob', Buffer.from(entry.text, 'utf8')) : undefined;
      // This very handoff, archived since (sent by a process killed before it emptied the queue): delivered.
      if (mine !== undefined && (there?.oid === mine || inArchive === mine)) plan.present.push(entry);
      else if (snap.has(entry.id)) plan.refused.push({ entry, reason: `a different task with id ${entry.id} reached the bus first` });
      // Ids are never reused: an archived task keeps its id, so a new one with it would be lost behind it.
      else if (inArchive !== undefined) plan.refused.push({ entry, reason: `a task with id ${entry.id} is in the archive` });
      else plan.send.push({ entry, changes: [{ path: entry.path, content: entry.text }, ...(entry.signature ? [entry.signature] : [])], message: `gitbus: dispatch ${entry.id}\n\n${entry.title}` });
      continue;
    }
    try {
      const signature = entry.signature;
      const d = await decideCancel(snap, entry.id, { by: entry.by, cancelled: entry.at, ...(entry.reason ? { reason: entry.reason } : {}) }, signature ? async () => signature : undefined);
      if (d.commit) plan.send.push({ entry, changes: d.commit.changes, message: d.commit.message });
      else plan.present.push(entry);
    } catch (err) {
      // Ended, or archived, while the cancel waited: nothing left to cancel.
      plan.refused.push({ entry, reason: firstLine(err) });
    }
  }
  return plan;
}

function withoutBatch(e: QueueEntry): QueueEntry {
  if (e.kind !== 'dispatch' || !e.batch) return e;
  const { batch: _batch, ...rest } = e;
  return rest;
}
