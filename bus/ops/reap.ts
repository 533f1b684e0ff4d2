import { renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import type { TaskResponse } from '../../schemas/response.js';
import { transact, type TransactOptions } from '../cas.js';
import type { BusContext } from '../context.js';
import type { FileChange } from '../store/objects.js';
import { expiredHolders } from './claim.js';

export interface Reaped {
  id: string;
  status: 'failed' | 'cancelled';
  reason: string;
}

/**
 * Ends tasks whose holder went silent past the lease when nobody may take them over: a task being cancelled
 * becomes `cancelled`, a task that used all its attempts becomes `failed`, each with a response that says why.
 * (Tasks with attempts left are reclaimed by `claim` instead.) Written by whichever node notices first.
 * `opts.peek`: decide from a snapshot already read first; only a reap that has something to write syncs.
 */
export async function reapExpired(ctx: BusContext, now = () => new Date(), opts: Pick<TransactOptions, 'peek'> = {}): Promise<Reaped[]> {
  const r = await transact(ctx, 'reap', async (snap) => {
    const expired = await expiredHolders(ctx, snap);
    const reaped: Reaped[] = [];
    const changes: FileChange[] = [];
    if (expired.size === 0) return { result: { reaped } };
    for (const id of snap.ids()) {
      const view = await snap.view(id);
      const holder = view?.claim?.node;
      if (!view || !holder || !expired.has(holder) || (view.state !== 'claimed' && view.state !== 'cancelling')) continue;
      const silent = `node ${holder} went silent for longer than the lease (${snap.settings.leaseMs / 1000}s) during attempt ${view.claim?.attempt}`;
      let status: Reaped['status'];
      let reason: string;
      if (view.state === 'cancelling') {
        status = 'cancelled';
        reason = `cancelled; ${silent}`;
      } else if (view.attempts >= snap.settings.maxAttempts) {
        status = 'failed';
        reason = `${silent}, the last of ${snap.settings.maxAttempts} attempts`;
      } else continue;
      const data: TaskResponse = { id, status, node: ctx.config.node, attempt: view.claim?.attempt ?? view.attempts, finished: now().toISOString(), reason };
      changes.push({ path: pathFor({ kind: 'response', id }), content: renderBusFile('response', data, `## Summary\n\n${reason}.\n`) });
      reaped.push({ id, status, reason });
    }
    if (changes.length === 0) return { result: { reaped } };
    return { result: { reaped }, commit: { changes, message: `gitbus: reap ${reaped.length} task(s) whose node went silent\n\n${reaped.map((x) => `${x.id} ${x.status}`).join('\n')}` } };
  }, opts);
  return r.reaped;
}
