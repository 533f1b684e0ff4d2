import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus, type BusContext } from '../../bus/context.js';
import { taskOutput } from '../../bus/ops/task-output.js';
import { gitbus, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

/**
 * `gitbus respond --summary` of several lines (docs/PROTOCOL.md §3, responses): the response keeps all of them, and
 * the places that show one line show the first, saying that more follows, instead of passing it off as all of it.
 */
describe('a summary of several lines', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let ctx: BusContext;
  let worker: string;

  beforeAll(async () => {
    bus = await makeBus({ node: 'laptop' });
    worker = await bus.addNode('worker');
    ctx = await openBus(bus.home('laptop'));
  });
  afterAll(async () => {
    await ctx?.repo.close();
    await bus?.cleanup();
  });

  it('is kept whole on the bus; collect and a failed task\'s reason show its first line and that more follows', async () => {
    const id = await bus.dispatch('laptop', ['clean the disk', '--to', 'worker', '--runner', 'manual']);
    expect((await gitbus(['claim', id], { home: worker })).code).toBe(0);
    const summary = 'out of disk\n/var has 0 bytes left\n\nclean it and retry';
    const r = await gitbus(['respond', id, '--status', 'failed', '--summary', summary], { home: worker });
    expect(r.code, r.stderr).toBe(0);

    const shown = await gitbus(['show', id], { home: bus.home('laptop') });
    expect(shown.stdout).toContain(`## Summary\n\n${summary}\n`);
    const collected = json<{ ended: { id: string; summary: string }[] }>(await gitbus(['collect', '--node', '--peek', '--json'], { home: bus.home('laptop') }));
    expect(collected.ended).toEqual([expect.objectContaining({ id, summary: 'out of disk (+2 more lines)' })]);
    expect((await taskOutput(ctx, id)).reason).toBe('out of disk (+2 more lines)');
  });

  it('a blank summary is taken as none: the response says its status, which collect shows, not an empty line', async () => {
    const id = await bus.dispatch('laptop', ['empty words', '--to', 'worker', '--runner', 'manual']);
    expect((await gitbus(['claim', id], { home: worker })).code).toBe(0);
    const r = await gitbus(['respond', id, '--status', 'succeeded', '--summary', '  '], { home: worker });
    expect(r.code, r.stderr).toBe(0);
    expect((await gitbus(['show', id], { home: bus.home('laptop') })).stdout).toContain('## Summary\n\nsucceeded\n');
    const collected = json<{ ended: { id: string; summary: string }[] }>(await gitbus(['collect', '--node', '--peek', '--json'], { home: bus.home('laptop') }));
    expect(collected.ended).toEqual(expect.arrayContaining([expect.objectContaining({ id, summary: 'succeeded' })]));
  });
});
