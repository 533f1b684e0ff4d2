import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, readFileSync } from 'node:fs';
import { openBus, type BusContext } from '../../bus/context.js';
import { archive } from '../../bus/ops/archive.js';
import { dispatchedPath, noteDispatched, readDispatched } from '../../bus/dispatched-ledger.js';
import { collect } from '../../claude/collect.js';
import { claimAndRespond } from '../helpers/in-process.js';
import { gitbus, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

/**
 * `gitbus collect` outside a Claude session (the node's scope): a task this node dispatched that ended and was
 * archived between two collects has left main, and is still reported, once (walkthrough finding F15).
 */
describe('collect of tasks archived between two collects', () => {
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

  it('reports a task archived before it looked, once, and forgets it then', async () => {
    expect((await collect(ctx, {})).ended).toEqual([]);
    const early = await bus.dispatch('laptop', ['over the weekend', '--to', 'worker']);
    const open = await bus.dispatch('laptop', ['still running', '--to', 'worker']);
    expect(readDispatched(bus.home('laptop')).map((t) => t.id)).toEqual([early, open]);
    await claimAndRespond(worker, early, { status: 'succeeded', summary: 'done on saturday', durationMs: 4_000 });
    expect((await archive(ctx, { all: true })).archived).toContain(early);

    const r = await collect(ctx, {});
    // The same facts a live task has, read from the archived response (node, time, summary line), and where it is.
    expect(r.ended).toEqual([expect.objectContaining({ id: early, state: 'succeeded', title: 'over the weekend', node: 'worker', durationMs: 4_000, summary: 'done on saturday', archived: expect.stringMatching(/^\d{4}-\d{2}$/) })]);
    expect(r.waiting.map((f) => f.id)).toEqual([open]);
    // Reported: forgotten. Still open: kept, so that its end is found wherever it is by then.
    expect(readDispatched(bus.home('laptop')).map((t) => t.id)).toEqual([open]);
    expect((await collect(ctx, {})).ended).toEqual([]);

    // The CLI says the same of the next one.
    await claimAndRespond(worker, open, { status: 'failed', summary: 'out of disk', durationMs: 61_000 });
    await archive(ctx, { all: true });
    const peek = await gitbus(['collect', '--node', '--peek'], { home: bus.home('laptop') });
    expect(peek.code, peek.stderr).toBe(0);
    // As a live one is shown: status, node, time and title, then the summary line.
    expect(peek.stdout).toMatch(new RegExp(`  ${open}  failed  worker  1m01s  still running\n      out of disk\n      gitbus show ${open} \\(archived, \\d{4}-\\d{2}\\)`));
    const cli = await gitbus(['collect', '--node', '--json'], { home: bus.home('laptop') });
    expect(cli.code, cli.stderr).toBe(0);
    expect(json<{ ended: { id: string; state: string }[] }>(cli).ended).toEqual([expect.objectContaining({ id: open, state: 'failed', node: 'worker', durationMs: 61_000, summary: 'out of disk' })]);
    expect(readFileSync(dispatchedPath(bus.home('laptop')), 'utf8')).toBe('');
  });

  it('a note cut short by a crash does not take the next one with it', async () => {
    appendFileSync(dispatchedPath(bus.home('laptop')), '{"id":"cut-sh');
    noteDispatched(bus.home('laptop'), [{ id: 'after-crash', title: 'next', at: new Date().toISOString() }]);
    expect(readDispatched(bus.home('laptop')).map((t) => t.id)).toEqual(['after-crash']);
  });
});
