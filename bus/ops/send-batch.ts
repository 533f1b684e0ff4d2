import { firstLine } from '../../schemas/errors.js';
import type { BusContext } from '../context.js';
import { isQueued, putQueue, removeQueue, type QueueEntry } from '../queue.js';
import { outageCode } from '../remote-failure.js';
import { deliverQueued } from './deliver.js';

/** How a batch of queued handoffs fared: all of them or none (docs/PROTOCOL.md §10, §10a). */
export type BatchSent =
  | { kind: 'delivered'; commit: string | null }
  | { kind: 'queued'; reason: string }
  | { kind: 'refused'; reason: string }
  /** Another process of this node sent it meanwhile. */
  | { kind: 'sent-elsewhere' };

/**
 * Queues a batch (a fan-out, a `dispatch --from`) in this node's queue and delivers it in one commit now, or at the
 * next contact when the remote is away. A refused batch, or a failure that would repeat at every try, is taken out
 * of the queue again; the caller words the refusal.
 */
export async function sendBatch(ctx: BusContext, entries: QueueEntry[]): Promise<BatchSent> {
  const home = ctx.paths.home;
  const forget = () => entries.forEach((e) => removeQueue(home, e));
  try {
    for (const e of entries) putQueue(home, e);
  } catch (err) {
    forget();
    throw err;
  }
  let delivery: Awaited<ReturnType<typeof deliverQueued>>;
  try {
    delivery = await deliverQueued(ctx, { fresh: new Set(entries.flatMap((e) => (e.kind === 'dispatch' && !e.chosenId ? [e.id] : []))) });
  } catch (err) {
    if (outageCode(err) !== null) return { kind: 'queued', reason: firstLine(err) };
    // Not an outage: it would fail the same way at every later try, so the batch is not left queued.
    forget();
    throw err;
  }
  const mine = new Set(entries.map((e) => e.id));
  const refused = delivery.rejected.find((r) => mine.has(r.entry.id));
  if (refused) {
    forget();
    return { kind: 'refused', reason: refused.reason };
  }
  if (delivery.delivered.some((e) => mine.has(e.id))) return { kind: 'delivered', commit: delivery.commit };
  // Not in this delivery: another process of this node sent it meanwhile, or is still sending it.
  return entries.some((e) => isQueued(home, e)) ? { kind: 'queued', reason: 'another gitbus process of this node is delivering it' } : { kind: 'sent-elsewhere' };
}
