import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus, type BusContext } from '../../bus/context.js';
import { currentSnapshot } from '../../bus/ops/query.js';
import { respondBatch } from '../../bus/ops/respond.js';
import { listOutbox, putOutbox, type OutboxEntry } from '../../watcher/outbox.js';
import { ResponseBatcher } from '../../watcher/response-batcher.js';
import { resultDelivery } from '../../watcher/result-delivery.js';
import { orphanedClaims, recoverClaims, WATCHER_ACTOR } from '../../watcher/restart-recovery.js';
import type { WatchEvent } from '../../watcher/watch-events.js';
import { makeBus } from '../helpers/bus.js';
import { claimInProcess } from '../helpers/in-process.js';

/**
 * A result reaches the bus once (watcher/result-delivery.ts), whichever of the watcher's paths get to it at the same
 * moment (the run's own delivery, a flush, a background branch push): two copies in one batch made the bus refuse
 * the batch as a second write of one response, which set the result aside and let the task run again.
 */
let bus: Awaited<ReturnType<typeof makeBus>>;
let home: string;
let ctx: BusContext;

beforeAll(async () => {
  bus = await makeBus({ node: 'w', initArgs: ['--runner', 'shell'] });
  home = bus.home('w');
  ctx = await openBus(home, WATCHER_ACTOR);
}, 60_000);

afterAll(async () => {
  await ctx?.repo.close();
  await bus?.cleanup();
});

describe('delivering a result', () => {
  it('two deliveries of one result at once, and a flush beside them, make one response and set nothing aside', async () => {
    const id = await bus.dispatch('w', ['delivered once', '--to', 'w']);
    await claimInProcess(home, id, WATCHER_ACTOR);
    const events: WatchEvent[] = [];
    const batcher = new ResponseBatcher(async (inputs) => (await respondBatch(ctx, inputs)).responses);
    const delivery = resultDelivery({
      ctx,
      onEvent: (e) => events.push(e),
      retryMs: undefined,
      downReason: () => null,
      isRunning: () => false,
      submit: (input) => batcher.submit(input),
      report: (err) => events.push({ type: 'error', message: String(err), code: null }),
      fail: (err) => events.push({ type: 'error', message: String(err), code: null }),
      remoteFailed: () => false,
    });
    const entry: OutboxEntry = { id, attempt: 1, queuedAt: new Date().toISOString(), input: { id, status: 'succeeded', summary: 'once' } };
    putOutbox(home, entry);
    await Promise.all([delivery.deliver(entry, true), delivery.deliver(entry), delivery.flush()]);
    expect(events.filter((e) => e.type === 'rejected' || e.type === 'error')).toEqual([]);
    expect(events.filter((e) => e.type === 'delivered')).toHaveLength(1);
    expect(listOutbox(home)).toEqual([]);
    expect((await (await currentSnapshot(ctx)).view(id))?.state).toBe('succeeded');
  }, 60_000);

  it('one result given twice in one batch is written once, and both callers get that response', async () => {
    const id = await bus.dispatch('w', ['twice in a batch', '--to', 'w']);
    await claimInProcess(home, id, WATCHER_ACTOR);
    const input = { id, status: 'succeeded' as const, summary: 'once' };
    const r = await respondBatch(ctx, [input, { ...input, now: () => new Date(Date.now() + 1000) }]);
    expect(r.responses.map((x) => x.ok)).toEqual([true, true]);
    expect(r.responses[1]).toEqual(r.responses[0]);
    expect((await (await currentSnapshot(ctx)).view(id))?.state).toBe('succeeded');

    // Two different results for one task in one batch: the first is written, the second refused as a second write.
    const other = await bus.dispatch('w', ['two results', '--to', 'w']);
    await claimInProcess(home, other, WATCHER_ACTOR);
    const two = await respondBatch(ctx, [{ id: other, status: 'succeeded', summary: 'one' }, { id: other, status: 'failed', summary: 'two' }]);
    expect(two.responses[0]).toMatchObject({ ok: true, result: { id: other, status: 'succeeded' } });
    expect(two.responses[1]).toMatchObject({ ok: false, error: { code: 'WRITTEN_ONCE' } });
    expect((await (await currentSnapshot(ctx)).view(other))?.state).toBe('succeeded');
  }, 60_000);

  it('a claim whose result was set aside for a person is not released as orphaned, nor at a restart (its task would run again)', async () => {
    const id = await bus.dispatch('w', ['set aside', '--to', 'w']);
    await claimInProcess(home, id, WATCHER_ACTOR);
    const orphans = async () => orphanedClaims(ctx, await currentSnapshot(ctx), () => false);
    expect(await orphans()).toEqual([{ id, attempt: 1 }]);
    mkdirSync(join(home, 'outbox', 'rejected'), { recursive: true });
    writeFileSync(join(home, 'outbox', 'rejected', `${id}.1.json`), JSON.stringify({ id, attempt: 1, rejected: 'refused' }));
    expect(await orphans()).toEqual([]);
    const events: WatchEvent[] = [];
    await recoverClaims(ctx, { once: true, stop: new AbortController().signal, onEvent: (e) => events.push(e) });
    expect(events).toEqual([]);
    expect((await (await currentSnapshot(ctx)).view(id))?.state).toBe('claimed');
  }, 60_000);
});
