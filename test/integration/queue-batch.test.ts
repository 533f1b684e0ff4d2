import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { openBus, type BusContext } from '../../bus/context.js';
import { deliverQueued, INCOMPLETE_BATCH_MS } from '../../bus/ops/deliver.js';
import { listQueue, putQueue, type QueueBatch, type QueueEntry } from '../../bus/queue.js';
import { renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import { makeBus } from '../helpers/bus.js';

/** A batch of queued handoffs (a fan-out) reaches the bus whole, in one commit, or not at all. */
describe('queue batches: all of them in one commit, or none', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let ctx: BusContext;
  const subjects = () => execFileSync('git', ['--git-dir', bus.remote, 'log', '--format=%s', 'main'], { encoding: 'utf8' }).trim().split('\n');
  const entry = (id: string, batch: QueueBatch, group: string, queuedAt = new Date().toISOString()): QueueEntry => ({
    kind: 'dispatch',
    id,
    path: pathFor({ kind: 'handoff', id }),
    text: renderBusFile('handoff', { id, title: `task ${id}`, group }, ''),
    title: `task ${id}`,
    queuedAt,
    chosenId: true,
    batch,
  });

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    ctx = await openBus(bus.home('alpha'));
  });
  afterAll(async () => {
    await ctx?.repo.close();
    await bus?.cleanup();
  });

  it('waits for a batch still being queued, then sends it whole in one commit with its own subject', async () => {
    const b: QueueBatch = { key: 'g1-a', size: 3, subject: 'gitbus: fanout g1 (3 tasks)', group: 'g1' };
    const before = subjects().length;
    putQueue(ctx.paths.home, entry('g1-a', b, 'g1'));
    putQueue(ctx.paths.home, entry('g1-b', b, 'g1'));
    const partial = await deliverQueued(ctx);
    expect(partial).toMatchObject({ delivered: [], rejected: [], commit: null });
    expect(listQueue(ctx.paths.home).map((e) => e.id).sort()).toEqual(['g1-a', 'g1-b']);
    putQueue(ctx.paths.home, entry('g1-c', b, 'g1'));
    const whole = await deliverQueued(ctx);
    expect(whole.delivered.map((e) => e.id).sort()).toEqual(['g1-a', 'g1-b', 'g1-c']);
    expect(subjects().length).toBe(before + 1);
    expect(subjects()[0]).toBe('gitbus: fanout g1 (3 tasks)');
    expect(listQueue(ctx.paths.home)).toEqual([]);
  });

  it('refuses a whole batch whose group already has live tasks', async () => {
    const b: QueueBatch = { key: 'g1-x', size: 2, subject: 'gitbus: fanout g1 (2 tasks)', group: 'g1' };
    const before = subjects().length;
    putQueue(ctx.paths.home, entry('g1-x', b, 'g1'));
    putQueue(ctx.paths.home, entry('g1-y', b, 'g1'));
    const r = await deliverQueued(ctx);
    expect(r.delivered).toEqual([]);
    expect(r.rejected.map((x) => x.entry.id).sort()).toEqual(['g1-x', 'g1-y']);
    expect(r.rejected[0]?.reason).toContain('group "g1" already has live tasks (g1-a, g1-b, g1-c)');
    expect(subjects().length).toBe(before);
  });

  it('gives up on a batch left half-queued by a process that stopped', async () => {
    const b: QueueBatch = { key: 'g2-a', size: 2, subject: 'gitbus: fanout g2 (2 tasks)', group: 'g2' };
    putQueue(ctx.paths.home, entry('g2-a', b, 'g2', new Date(Date.now() - INCOMPLETE_BATCH_MS - 1000).toISOString()));
    const r = await deliverQueued(ctx);
    expect(r.rejected.map((x) => x.entry.id)).toEqual(['g2-a']);
    expect(r.rejected[0]?.reason).toContain('only 1 of the 2 tasks');
    expect(listQueue(ctx.paths.home)).toEqual([]);
  });
});
