import { renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import type { Cancel } from '../../schemas/cancel.js';
import { TaskStateError } from '../errors.js';
import { transact, type TransactStats } from '../cas.js';
import type { BusContext } from '../context.js';
import { resolveTaskId } from '../model/resolve-id.js';
import { isFinal, type TaskState } from '../model/types.js';

export interface CancelResult {
  id: string;
  /** The state the cancel leads to: `cancelled` at once, or `cancelling` while the holder stops the work. */
  state: TaskState;
  /** False when a cancel was already recorded (nothing was written). */
  changed: boolean;
}

export async function cancel(ctx: BusContext, ref: string, reason?: string, now = () => new Date()): Promise<CancelResult & TransactStats> {
  return transact<CancelResult>(ctx, 'cancel', async (snap) => {
    const id = resolveTaskId(snap.ids(), ref);
    const view = await snap.view(id);
    if (!view) throw new Error(`unreachable: ${id} resolved but has no view`);
    if (view.state === 'cancelled' || view.state === 'cancelling') return { result: { id, state: view.state, changed: false } };
    if (isFinal(view.state)) throw new TaskStateError(id, view.state, 'cancel it', 'nothing to do: it has already ended');
    const data: Cancel = { id, by: `${ctx.actor}@${ctx.config.node}`, cancelled: now().toISOString() };
    if (reason) data.reason = reason;
    const path = pathFor({ kind: 'cancel', id });
    const state: TaskState = view.state === 'claimed' ? 'cancelling' : 'cancelled';
    return {
      result: { id, state, changed: true },
      commit: { changes: [{ path, content: renderBusFile('cancel', data, '') }], message: `gitbus: cancel ${id} by ${data.by}` },
    };
  });
}
