import { renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import type { Cancel } from '../../schemas/cancel.js';
import { TaskStateError } from '../errors.js';
import { transact, type Decision, type TransactStats } from '../cas.js';
import type { BusContext } from '../context.js';
import { unreadableHolder } from '../model/planner.js';
import { resolveTaskId } from '../model/resolve-id.js';
import type { Snapshot } from '../model/snapshot.js';
import { isFinal, type TaskState } from '../model/types.js';
import { listQueue, putQueue, removeQueue, type QueueEntry } from '../queue.js';
import type { BusFileSigner } from '../trust/dispatch-signing.js';
import { outageCode } from '../remote-failure.js';
import { firstLine } from '../../schemas/errors.js';
import { localSnapshot } from './query.js';

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

/** What a cancel of `id` does to the bus as `snap` has it. Also how a queued cancel is delivered later. */
export async function decideCancel(snap: Snapshot, ref: string, data: Omit<Cancel, 'id'>, sign?: BusFileSigner): Promise<Decision<CancelResult>> {
  const id = resolveTaskId(snap.ids(), ref);
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
    return await transact<CancelResult>(ctx, 'cancel', async (snap) => decideCancel(snap, ref, data(), sign));
  } catch (err) {
    if (outageCode(err) === null) throw err;
    const d = data();
    const known = await localSnapshot(ctx);
    // A dispatch of this node that never reached the bus (the remote was away): it is taken out of the queue, so it
    // is never sent. (Online, every command sends the queue first, so it would be on the bus by now.)
    const waiting = queuedDispatch(ctx.paths.home, ref, known);
    if (waiting) {
      removeQueue(ctx.paths.home, waiting);
      return { id: waiting.id, state: 'cancelled', changed: true, dequeued: true, attempts: 0, commit: null };
    }
    const local = await decideCancel(known, ref, d, sign);
    if (!local.commit) return { ...local.result, attempts: 0, commit: null };
    const at = new Date().toISOString();
    // The cancel's bytes depend only on its data, so the signature made now fits the file delivered later.
    const signature = local.commit.changes[1];
    const queued = signature && typeof signature.content === 'string' ? { signature: { path: signature.path, content: signature.content } } : {};
    putQueue(ctx.paths.home, { kind: 'cancel', id: local.result.id, by: d.by, ...(reason ? { reason } : {}), at: d.cancelled, queuedAt: at, ...queued });
    return { ...local.result, queued: { reason: firstLine(err) }, attempts: 0, commit: null };
  }
}

/** The dispatch queued on this node that `ref` names (full id, unique prefix or suffix), when the bus has no such task. */
function queuedDispatch(home: string, ref: string, known: Snapshot): QueueEntry | undefined {
  try {
    resolveTaskId(known.ids(), ref);
    return undefined;
  } catch {
    // Not a task this node knows on the bus: perhaps one it has not sent yet.
  }
  const dispatches = listQueue(home).filter((e) => e.kind === 'dispatch');
  try {
    const id = resolveTaskId(dispatches.map((e) => e.id), ref);
    return dispatches.find((e) => e.id === id);
  } catch {
    return undefined;
  }
}
