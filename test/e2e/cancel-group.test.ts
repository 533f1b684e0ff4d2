import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitbus, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { makeProject } from '../helpers/project.js';

const GROUP = 'checkout-redo';
const PLAN = `---
title: Checkout redo
group: ${GROUP}
workstreams:
  - name: api
    tasks: Build the API.
  - name: ui
    tasks: Build the UI.
  - name: docs
    tasks: Write the docs.
---
Redo the checkout.
`;

type Task = { id: string; state: string; changed: boolean };

/**
 * `gitbus cancel --group NAME` (seed 003: a fan-out gone wrong is stopped as a whole): every task of the group that
 * has not ended gets its cancel, in one commit; what ended stays as it is.
 */
describe('gitbus cancel --group', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home: string;
  let tasks: { id: string; workstream: string | null }[];
  const busLog = () => execFileSync('git', ['--git-dir', bus.remote, 'log', '--format=%s', 'main'], { encoding: 'utf8' }).trim().split('\n');
  const onMain = () => execFileSync('git', ['--git-dir', bus.remote, 'ls-tree', '-r', '--name-only', 'main'], { encoding: 'utf8' }).split('\n');
  const idOf = (w: string | null) => tasks.find((t) => t.workstream === w)?.id as string;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    home = bus.home('alpha');
    const work = makeProject(bus.dir, 'shop').checkout;
    const plan = join(bus.dir, 'plan.md');
    writeFileSync(plan, PLAN);
    const r = await gitbus(['fanout', plan, '--force', '--json'], { home, cwd: work });
    expect(r.code, r.stderr).toBe(0);
    tasks = json<{ tasks: { id: string; workstream: string | null }[] }>(r).tasks;
  });
  afterAll(() => bus.cleanup());

  it('cancels what has not ended in one commit: a claimed task is cancelling, an ended one is left, the integration goes with its workstreams', async () => {
    const api = idOf('api');
    const ui = idOf('ui');
    const docs = idOf('docs');
    const integration = idOf(null);
    for (const id of [api, ui]) expect((await gitbus(['claim', id, '--json'], { home })).code).toBe(0);
    const done = await gitbus(['respond', ui, '--status', 'succeeded', '--summary', 'done early', '--json'], { home });
    expect(done.code, done.stderr).toBe(0);
    const before = busLog().length;

    const r = await gitbus(['cancel', '--group', GROUP, '--reason', 'wrong base', '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    const out = json<{ group: string; tasks: Task[] }>(r);
    expect(out.group).toBe(GROUP);
    expect(Object.fromEntries(out.tasks.map((t) => [t.id, [t.state, t.changed]]))).toEqual({ [api]: ['cancelling', true], [ui]: ['succeeded', false], [docs]: ['cancelled', true], [integration]: ['cancelled', true] });
    expect(busLog().length).toBe(before + 1);
    expect(busLog()[0]).toMatch(new RegExp(`^gitbus: cancel group ${GROUP} \\(3 tasks\\) by `));
    const files = onMain();
    for (const id of [api, docs, integration]) expect(files).toContain(`cancels/${id}.md`);
    expect(files).not.toContain(`cancels/${ui}.md`);
    expect(json<{ state: string }>(await gitbus(['show', docs, '--json'], { home })).state).toBe('cancelled');

    // An integration cancelled has no conflicts to resolve: TASK_STATE with its state, the rest in the message.
    const resolve = await gitbus(['resolve', integration, '--json'], { home });
    expect(resolve.code).toBe(5);
    expect(json<{ error: { message: string; data: { state: string } } }>(resolve).error).toMatchObject({ message: expect.stringContaining('cannot resolve its merge conflicts: it reported none'), data: { state: 'cancelled' } });

    // Again: nothing left to cancel, nothing written; the text says what each task is.
    const again = await gitbus(['cancel', '--group', GROUP], { home });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`group ${GROUP}: 0 of 4 task(s) cancelled`);
    expect(again.stdout).toContain(`${ui}: already succeeded`);
    expect(busLog().length).toBe(before + 1);
  });

  it('refuses a group with no task on the bus (exit 4), and an id with --group, or neither (exit 2)', async () => {
    const none = await gitbus(['cancel', '--group', 'no-such-group', '--json'], { home });
    expect(none.code).toBe(4);
    expect(json<{ error: { code: string; fix: string } }>(none).error).toMatchObject({ code: 'UNKNOWN_GROUP', fix: expect.stringContaining('gitbus status') });
    const both = await gitbus(['cancel', idOf('docs'), '--group', GROUP, '--json'], { home });
    expect(both.code).toBe(2);
    expect(json<{ error: { message: string } }>(both).error.message).toContain('give a task id or --group NAME (not both)');
    const neither = await gitbus(['cancel', '--json'], { home });
    expect(neither.code).toBe(2);
    // A name no group can have is a usage error with the name rule, as for `group` and `fanout --group`.
    const bad = await gitbus(['cancel', '--group', 'Bad Name', '--json'], { home });
    expect(bad.code, bad.stdout).toBe(2);
    const same = await gitbus(['group', 'Bad Name', '--json'], { home });
    expect(same.code).toBe(2);
    expect(json<{ error: { message: string } }>(bad).error.message).toContain(json<{ error: { message: string } }>(same).error.message.replace(/^.*?: /, ''));
  });
});
