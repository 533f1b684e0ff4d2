import type { BusContext } from '../../bus/context.js';
import { publishDelivery } from '../../bus/ops/delivery.js';
import type { makeBus } from './bus.js';
import { claimInProcess, respondInProcess } from './in-process.js';

/**
 * A task of `node`, claimed and answered by it as a project run whose branch push the project remote refused
 * (`pushed: false`, at `head`): what a delivery later settles (docs/PROTOCOL.md §3a "A push that lands later").
 */
export async function refusedRun(bus: Awaited<ReturnType<typeof makeBus>>, node: string, title: string, head: string): Promise<string> {
  const home = bus.home(node);
  const id = await bus.dispatch(node, [title]);
  await claimInProcess(home, id);
  await respondInProcess(home, id, { status: 'succeeded', project: { repo: '/srv/app.git', branch: `feature/${id}`, baseCommit: 'b'.repeat(40), headCommit: head, pushed: false, pushError: 'pre-receive hook declined' } });
  return id;
}

/** The delivery of `refusedRun`'s push, published by its node; fails unless it is written. */
export async function deliverRefused(ctx: BusContext, id: string, head: string): Promise<void> {
  const r = await publishDelivery(ctx, { id, attempt: 1, branch: `feature/${id}`, headCommit: head });
  if (r.outcome !== 'written') throw new Error(`the delivery of ${id} was not written: ${JSON.stringify(r)}`);
}
