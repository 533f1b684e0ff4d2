import { parseBusFile, renderBusFile } from '../../schemas/bus-file.js';
import type { Handoff } from '../../schemas/handoff.js';
import { pathFor } from '../../schemas/layout.js';
import type { Cancel } from '../../schemas/cancel.js';
import { TaskStateError, UnknownTaskError } from '../errors.js';
import { transact, type Decision, type TransactStats } from '../cas.js';
import type { BusContext } from '../context.js';
import { unreadableHolder } from '../model/planner.js';
import { resolveTaskId, resolveTaskIdBeyond } from '../model/resolve-id.js';
import type { Snapshot } from '../model/snapshot.js';
import { isFinal, type TaskState } from '../model/types.js';
import { dequeueDispatch, listQueue, putQueue, type QueueEntry } from '../queue.js';
import type { BusFileSigner } from '../trust/dispatch-signing.js';
import { outageCode } from '../remote-failure.js';
import { firstLine } from '../../schemas/errors.js';
import { localSnapshot } from './query.js';
import { archivedIdCheck } from './archive-lookup.js';
import { archivedStates } from './archived-trust.js';

export interface CancelResult {
  id: string;
  /** The state the cancel leads to: `cancelled` at once, or `cancelling` while the holder stops the work. */
  state: TaskState;
  /** False when a cancel was already recorded (nothing was written). */
  changed: boolean;
  /** Set when the remote could not be reached: the cancel waits in this node's queue (bus/queue.ts). */
  queued?: { reason: string };
  /** Set when the task was a dispatch still queued on this node: taken out of the queue, it never reaches the bus. */
  dequeued?: true;
}

/**
 * What a cancel of `id` does to the bus as `snap` has it. Also how a queued cancel is delivered later.
 * `isArchived`: the archive lookup, so that an archived task's full id is not taken for a live task it starts or ends
 * (left out where the remote is away, or for a queued cancel, which holds a full id).
 */
export async function decideCancel(snap: Snapshot, ref: string, data: Omit<Cancel, 'id'>, sign?: BusFileSigner, isArchived: (id: string) => Promise<boolean> = async () => false): Promise<Decision<CancelResult>> {
  const id = await resolveTaskIdBeyond(snap, ref, isArchived);
  const view = await snap.view(id);
  if (!view) throw new Error(`unreachable: ${id} resolved but has no view`);
  if (view.state === 'cancelled' || view.state === 'cancelling') return { result: { id, state: view.state, changed: false } };
  if (isFinal(view.state)) throw new TaskStateError(id, view.state, 'cancel it', 'nothing to do: it has already ended');
  const full: Cancel = { id, ...data };
  const path = pathFor({ kind: 'cancel', id });
  // A claim file that does not parse names no node to stop the work: the cancel ends the task (PROTOCOL.md §4).
  const state: TaskState = view.state === 'claimed' && !unreadableHolder(view) ? 'cancelling' : 'cancelled';
  const content = renderBusFile('cancel', full, '');
  const signature = sign ? await sign(path, content) : undefined;
  return {
    result: { id, state, changed: true },
    commit: { changes: [{ path, content }, ...(signature ? [signature] : [])], message: `gitbus: cancel ${id} by ${full.by}` },
  };
}

/**
 * Cancels a task. When the remote cannot be reached, the cancel is decided against this node's last view of the
 * bus and queued: it is delivered (and decided again) at the next contact.
 */
export async function cancel(ctx: BusContext, ref: string, reason?: string, now = () => new Date(), sign?: BusFileSigner): Promise<CancelResult & TransactStats> {
  const data = (): Omit<Cancel, 'id'> => ({ by: `${ctx.actor}@${ctx.config.node}`, cancelled: now().toISOString(), ...(reason ? { reason } : {}) });
  try {
    return await transact<CancelResult>(ctx, 'cancel', async (snap) => decideCancel(snap, ref, data(), sign, archivedIdCheck(ctx)));
  } catch (err) {
    if (err instanceof UnknownTaskError && (err.data['candidates'] as string[]).length === 0) return await cancelArchived(ctx, ref, err);
    if (outageCode(err) === null) throw err;
    const d = data();
    const known = await localSnapshot(ctx);
    // A dispatch of this node that never reached the bus (the remote was away): it is taken out of the queue, so it
    // is never sent. (Online, every command sends the queue first, so it would be on the bus by now.)
    const waiting = queuedDispatch(ctx.paths.home, ref, known);
    if (waiting) {
      refuseDequeue(ctx.paths.home, waiting);
      // The cancel is made ready to queue (signed as a queued cancel is) in case another process of this node is
      // sending the dispatch right now: that process queues it after its push (bus/queue.ts dequeueDispatch).
      const path = pathFor({ kind: 'cancel', id: waiting.id });
      const signature = sign ? await sign(path, renderBusFile('cancel', { id: waiting.id, ...d }, '')) : undefined;
      if (dequeueDispatch(ctx.paths.home, waiting, queuedCancel(waiting.id, d, signature))) return { id: waiting.id, state: 'cancelled', changed: true, dequeued: true, attempts: 0, commit: null };
      // Sent by another process of this node meanwhile: the cancel waits in the queue for the next contact.
      return { id: waiting.id, state: 'cancelled', changed: true, queued: { reason: firstLine(err) }, attempts: 0, commit: null };
    }
    const local = await decideCancel(known, ref, d, sign);
    if (!local.commit) return { ...local.result, attempts: 0, commit: null };
    // The cancel's bytes depend only on its data, so the signature made now fits the file delivered later.
    const signature = local.commit.changes[1];
    putQueue(ctx.paths.home, queuedCancel(local.result.id, d, signature && typeof signature.content === 'string' ? { path: signature.path, content: signature.content } : undefined));
    return { ...local.result, queued: { reason: firstLine(err) }, attempts: 0, commit: null };
  }
}

/**
 * A ref no live task matches may be an archived task's full id (as `gitbus show` finds it): archived tasks have
 * ended, so it is answered as a live ended task is. Otherwise the live lookup's error stands.
 */
async function cancelArchived(ctx: BusContext, ref: string, miss: UnknownTaskError): Promise<CancelResult & TransactStats> {
  const state = (await archivedStates(ctx, [ref])).get(ref);
  if (state === undefined) throw miss;
  if (state === 'cancelled') return { id: ref, state, changed: false, attempts: 0, commit: null };
  throw new TaskStateError(ref, state, 'cancel it', 'nothing to do: it has already ended', { archived: true });
}

/** A cancel as it waits in the queue for the next contact, with its signature when this node signs. */
function queuedCancel(id: string, d: Omit<Cancel, 'id'>, signature: { path: string; content: string } | undefined): Extract<QueueEntry, { kind: 'cancel' }> {
  return { kind: 'cancel', id, by: d.by, ...(d.reason ? { reason: d.reason } : {}), at: d.cancelled, queuedAt: new Date().toISOString(), ...(signature ? { signature: { path: signature.path, content: signature.content } } : {}) };
}

/**
 * The dispatch queued on this node that `ref` names (full id, unique prefix or suffix), when no task on the bus as
 * this node last saw it matches `ref` at all (a ref matching several tasks there stays the bus's error).
 */
function queuedDispatch(home: string, ref: string, known: Snapshot): Extract<QueueEntry, { kind: 'dispatch' }> | undefined {
  try {
    resolveTaskId(known, ref);
    return undefined;
  } catch (err) {
    if (!(err instanceof UnknownTaskError) || (err.data['candidates'] as string[]).length > 0) return undefined;
  }
  const dispatches = listQueue(home).flatMap((e) => (e.kind === 'dispatch' ? [e] : []));
  try {
    const id = resolveTaskId(dispatches.map((e) => e.id), ref);
    return dispatches.find((e) => e.id === id);
  } catch (err) {
    // Several queued dispatches match: that error, with their ids, rather than "no task".
    if (err instanceof UnknownTaskError && (err.data['candidates'] as string[]).length > 1) throw err;
    return undefined;
  }
}

/**
 * A queued dispatch that cannot be taken out alone: one of a batch (a `dispatch --from` or fan-out goes in one
 * commit or not at all, so the rest would be refused as incomplete), or one that other queued dispatches wait for
 * (`after`: they would wait for ever for an id that never comes).
 */
function refuseDequeue(home: string, entry: Extract<QueueEntry, { kind: 'dispatch' }>): void {
  if (entry.batch && entry.batch.size > 1) {
    throw new TaskStateError(entry.id, `queued on this node in a batch of ${entry.batch.size} (${entry.batch.subject})`, 'cancel it while it is queued', 'the batch goes in one commit or not at all: cancel it once the remote is back and the batch is on the bus', { batch: entry.batch.key });
  }
  const waiters = listQueue(home).flatMap((e) => {
    if (e.kind !== 'dispatch' || e.id === entry.id) return [];
    const parsed = parseBusFile(e.path, e.text);
    const after = parsed.ok && parsed.kind === 'handoff' ? ((parsed.file.data as Handoff).after ?? []) : [];
    return after.includes(entry.id) ? [e.id] : [];
  });
  if (waiters.length > 0) {
    throw new TaskStateError(entry.id, `queued on this node, and ${waiters.join(', ')} (queued too) wait for it`, 'cancel it while it is queued', `cancel ${waiters.length === 1 ? 'that one' : 'those'} first, or cancel it once the remote is back and they are on the bus (they are then cancelled with it)`, { waiters });
  }
}
