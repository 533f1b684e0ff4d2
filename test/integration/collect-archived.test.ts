import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, readFileSync } from 'node:fs';
import { openBus, type BusContext } from '../../bus/context.js';
import { archive } from '../../bus/ops/archive.js';
import { dispatchedPath, noteDispatched, readDispatched } from '../../bus/dispatched-ledger.js';
import { collect } from '../../claude/collect.js';
import { claimAndRespond } from '../helpers/in-process.js';
import { gitbus, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { makeProject } from '../helpers/project.js';

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

  it('shows an archived project task with its branch and the command that fetches it, as a live one', async () => {
    const { remote: repo, main } = makeProject(bus.dir);
    const id = await bus.dispatch('laptop', ['fix the flaky test', '--to', 'worker', '--repo', repo, '--branch', 'fix/flaky', '--base', 'main']);
    await claimAndRespond(worker, id, { status: 'succeeded', summary: 'fixed', project: { repo, branch: 'fix/flaky', baseCommit: main(), headCommit: 'b'.repeat(40), pushed: true, commits: 1 } });
    const live = json<{ branch?: unknown }>(await gitbus(['show', id, '--json'], { home: bus.home('laptop') })).branch;
    expect(live).toMatchObject({ repo, branch: 'fix/flaky', pushed: true, fetch: `git fetch ${repo} refs/heads/fix/flaky` });
    expect((await archive(ctx, { all: true })).archived).toContain(id);
    const shown = await gitbus(['show', id, '--json'], { home: bus.home('laptop') });
    expect(shown.code, shown.stderr).toBe(0);
    expect(json<{ archived: string | null; branch?: unknown }>(shown)).toMatchObject({ archived: expect.stringMatching(/^\d{4}-\d{2}$/), branch: live });
    const text = await gitbus(['show', id], { home: bus.home('laptop') });
    expect(text.stdout).toContain(`branch fix/flaky of ${repo} (`);
    expect(text.stdout).toContain(`  fetch: git fetch ${repo} refs/heads/fix/flaky`);
    // Reported and forgotten, as the next test expects of the ledger.
    expect((await collect(ctx, {})).ended.map((t) => t.id)).toEqual([id]);
  });

  it('a note cut short by a crash does not take the next one with it', async () => {
    appendFileSync(dispatchedPath(bus.home('laptop')), '{"id":"cut-sh');
    noteDispatched(bus.home('laptop'), [{ id: 'after-crash', title: 'next', at: new Date().toISOString() }]);
    expect(readDispatched(bus.home('laptop')).map((t) => t.id)).toEqual(['after-crash']);
  });
});
