import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus, type BusContext } from '../../bus/context.js';
import { cancelDoomed } from '../../bus/ops/dependency-cancel.js';
import { dispatchDue } from '../../bus/ops/schedule.js';
import { gitbus } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

/**
 * Housekeeping builds views only of tasks whose handoff names dependencies (the dependency cancel) or a schedule
 * (the schedule's instances): the rest are ruled out from their handoff. What it does must not change.
 */
describe('housekeeping among many tasks that have neither dependencies nor a schedule', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let ctx: BusContext;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    for (let i = 0; i < 4; i++) ids[`plain${i}`] = await bus.dispatch('alpha', [`plain ${i}`, '--command', 'true', '--label', 'gpu']);
    ids['root'] = await bus.dispatch('alpha', ['root', '--command', 'true', '--label', 'gpu']);
    ids['child'] = await bus.dispatch('alpha', ['child', '--command', 'true', '--after', ids['root'] as string]);
    ids['grandchild'] = await bus.dispatch('alpha', ['grandchild', '--command', 'true', '--after', ids['child'] as string]);
    ids['template'] = await bus.dispatch('alpha', ['every minute', '--command', 'true', '--schedule', '* * * * *']);
    const c = await gitbus(['cancel', ids['root'] as string, '--json'], { home: bus.home('alpha') });
    expect(c.code, c.stderr).toBe(0);
    ctx = await openBus(bus.home('alpha'));
  });
  afterAll(async () => {
    await ctx?.repo.close();
    await bus?.cleanup();
  });

  it('cancels the tasks a cancelled dependency dooms, and no other', async () => {
    const cancelled = await cancelDoomed(ctx);
    expect(cancelled.map((c) => c.id).sort()).toEqual([ids['child'], ids['grandchild']].sort());
    expect(cancelled.find((c) => c.id === ids['child'])?.reason).toContain(ids['root'] as string);
    expect(await cancelDoomed(ctx)).toEqual([]);
  });

  it('dispatches the due instance of the one schedule, and nothing for the other tasks', async () => {
    // Two minutes on: a time after the template's creation at which an instance is due.
    const now = new Date(Date.now() + 120_000);
    const made = await dispatchDue(ctx, now);
    expect(made.map((m) => m.template)).toEqual([ids['template']]);
    expect(await dispatchDue(ctx, now)).toEqual([]);
  });

  it('a task after one cancelled in an earlier commit gets the root cause too, as a chain cancelled at once does', async () => {
    const late = await bus.dispatch('alpha', ['late', '--command', 'true', '--after', ids['child'] as string]);
    expect(await cancelDoomed(ctx)).toEqual([{ id: late, reason: `dependency ${ids['child']} was cancelled: dependency ${ids['root']} was cancelled` }]);
  });
});
