import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { fanOutPlan, makeProject, README_CLASH_PLAN, responseOf, showFile, workUntilIdle, type FannedGroup } from '../helpers/project.js';

/**
 * A `gitbus resolve` follow-up counts as resolving only when the branch it pushed contains every workstream's
 * result: the worker checks it when the run ends (response `project.merged`), and `gitbus group` decides from that.
 * Real watchers on one node; the agent is the claude stand-in, which here commits nothing.
 */
const STANDIN = join(ROOT, 'test/fixtures/claude-standin.mjs');
const GROUP = 'readme';
type Json = Record<string, unknown>;

let bus: Awaited<ReturnType<typeof makeBus>>;
let project: ReturnType<typeof makeProject>;
let home: string;
let claudeEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  bus = await makeBus();
  home = bus.home('alpha');
  project = makeProject(bus.dir);
  claudeEnv = { GITBUS_CLAUDE_BIN: STANDIN, CLAUDE_STANDIN_SESSIONS: join(bus.dir, 'sessions') };
  await bus.addNode('box1', [], ['--runner', 'shell', '--runner', 'merge', '--runner', 'claude']);
}, 60_000);
afterAll(async () => bus?.cleanup());

describe('resolve: resolved only when every workstream is merged', () => {
  it('an agent that merges nothing leaves the group unresolved, saying what the branch lacks; one whose branch holds both resolves it', async () => {
    const f = await fanOutPlan<FannedGroup>(home, bus.dir, project.checkout, GROUP, README_CLASH_PLAN);
    await workUntilIdle(bus.home('box1'), claudeEnv);
    const integration = await responseOf(home, f.integration);
    expect(integration).toMatchObject({ status: 'failed', project: { conflicts: [{ branch: `${GROUP}/right`, files: ['README.md'] }] } });
    const [left, right] = f.tasks.filter((t) => t.workstream !== null);

    // The agent commits nothing: the run is no resolution, and a branch at the bare base is not pushed (it would hold nothing).
    const first = await gitbus(['resolve', f.integration, '--to', 'box1', '--json'], { home });
    expect(first.code, first.stderr).toBe(0);
    const lazy = json<{ id: string }>(first).id;
    await workUntilIdle(bus.home('box1'), claudeEnv);
    const r = await responseOf(home, lazy);
    expect(r).toMatchObject({ status: 'failed', project: { branch: `${GROUP}/integration`, pushed: false, commits: 0, merged: [] } });
    expect((r['project'] as Json)['pushError']).toBeUndefined();
    expect(gitCli(['--git-dir', project.remote, 'branch', '--list', `${GROUP}/integration`]).trim()).toBe('');
    expect(r['reason']).toContain(`${GROUP}/integration does not contain ${GROUP}/left (task ${left?.id}'s result `);
    expect(r['reason']).toContain(`gitbus resolve ${f.integration}`);
    const g = json<{ resolvedBy: string | null; incomplete: Json[] }>(await gitbus(['group', GROUP, '--json'], { home }));
    expect(g.resolvedBy).toBeNull();
    expect(g.incomplete).toEqual([{ id: lazy, branch: `${GROUP}/integration`, pushed: false, pushedNothing: true, missing: [`${GROUP}/left`, `${GROUP}/right`] }]);
    const text = (await gitbus(['group', GROUP], { home })).stdout;
    expect(text).not.toContain('resolved by');
    expect(text).toContain(`resolve ${lazy} made no commit over its base, so nothing was pushed and nothing is coming (${GROUP}/integration lacks ${GROUP}/left, ${GROUP}/right): not resolved`);
    expect(text).not.toContain('left (not pushed)');
    expect(text).toContain(`resolve again: gitbus resolve ${f.integration}, or merge again once the workstreams are fixed: gitbus resolve ${f.integration} --runner merge`);

    // Someone merges both on the branch by hand; the next resolve finds them in it, and that resolves the group.
    const co = project.checkout;
    gitCli(['fetch', '-q', 'origin'], co);
    gitCli(['switch', '-q', '-c', 'fix', 'origin/main'], co);
    gitCli(['merge', '-q', '--no-ff', `origin/${left?.branch}`, '-m', 'merge left'], co);
    expect(() => gitCli(['merge', '-q', '--no-ff', `origin/${right?.branch}`, '-m', 'merge right'], co)).toThrow();
    writeFileSync(join(co, 'README.md'), 'left\nright\n');
    gitCli(['add', 'README.md'], co);
    gitCli(['commit', '-q', '--no-edit'], co);
    gitCli(['push', '-q', 'origin', `fix:refs/heads/${GROUP}/integration`], co);
    gitCli(['switch', '-q', 'main'], co);
    const second = await gitbus(['resolve', f.integration, '--to', 'box1', '--json'], { home });
    expect(second.code, second.stderr).toBe(0);
    const done = json<{ id: string }>(second).id;
    await workUntilIdle(bus.home('box1'), claudeEnv);
    expect(await responseOf(home, done)).toMatchObject({ status: 'succeeded', project: { pushed: true, merged: [`${GROUP}/left`, `${GROUP}/right`] } });
    expect(showFile(project.remote, `${GROUP}/integration`, 'README.md')).toBe('left\nright\n');
    const after = json<{ resolvedBy: string | null; superseded: string[] }>(await gitbus(['group', GROUP, '--json'], { home }));
    expect(after.resolvedBy).toBe(done);
    expect(after.superseded, `lazy ${lazy}, done ${done}`).toEqual([lazy]);
    const resolved = (await gitbus(['group', GROUP], { home })).stdout;
    // The two resolves may be dispatched within one second (a fast machine): which came first is then the handoffs' created.
    const seen = `lazy ${lazy}, done ${done}, superseded ${JSON.stringify(after.superseded)}\n${resolved}`;
    expect(resolved).toContain(`resolved by ${done}: git fetch ${project.remote} refs/heads/${GROUP}/integration`);
    expect(resolved).not.toContain(`resolve ${lazy} pushed`);
    // The failed resolve's reason said to resolve or merge again: moot now, so not printed.
    expect(resolved, seen).not.toContain(String(r['reason']));
    expect(resolved, seen).not.toContain('or merge again (gitbus resolve');
  }, 300_000);

  it('a resolve by hand counts once the branch on the project remote holds every workstream: group says so, and resolve agrees', async () => {
    const group = 'readme-hand';
    const f = await fanOutPlan<FannedGroup>(home, bus.dir, project.checkout, group, README_CLASH_PLAN);
    await workUntilIdle(bus.home('box1'), claudeEnv);
    expect(await responseOf(home, f.integration)).toMatchObject({ status: 'failed', project: { conflicts: [{ branch: `${group}/right` }] } });
    const [left, right] = f.tasks.filter((t) => t.workstream !== null);
    const made = await gitbus(['resolve', f.integration, '--runner', 'manual', '--json'], { home });
    expect(made.code, made.stderr).toBe(0);
    const id = json<{ id: string }>(made).id;
    // Its handoff is for a person: no worktree is made for them, and how to push and answer is said.
    const handoff = json<{ files: { path: string; text: string }[] }>(await gitbus(['show', id, '--json'], { home })).files.find((x) => x.path.startsWith('handoffs/'))?.text ?? '';
    expect(handoff).not.toContain('Your worktree');
    expect(handoff).toContain(`git push origin HEAD:refs/heads/${group}/integration`);
    // Answered before it is claimed: refused as any answer of a task one does not hold, before the project is read.
    const unclaimed = await gitbus(['respond', id, '--status', 'succeeded', '--json'], { home });
    expect(json<{ error: { code: string; message: string } }>(unclaimed).error).toMatchObject({ code: 'TASK_STATE', message: expect.stringContaining('cannot respond') });
    expect((await gitbus(['claim', id, '--json'], { home })).code).toBe(0);

    // Answered succeeded before anything is pushed, or with a workstream left out: refused, saying what is missing.
    const early = await gitbus(['respond', id, '--status', 'succeeded', '--json'], { home });
    expect(early.code, early.stdout).toBe(5);
    expect(json<{ error: { code: string; message: string } }>(early).error).toMatchObject({ code: 'MERGE_NOT_PUSHED', message: expect.stringContaining('is not on the project remote') });
    const co = project.checkout;
    gitCli(['fetch', '-q', 'origin'], co);
    gitCli(['switch', '-q', '-c', 'hand', `origin/${left?.branch}`], co);
    gitCli(['push', '-q', 'origin', `hand:refs/heads/${group}/integration`], co);
    const half = await gitbus(['respond', id, '--status', 'succeeded', '--json'], { home });
    expect(half.code, half.stdout).toBe(5);
    expect(json<{ error: { message: string } }>(half).error.message).toContain(`does not contain ${group}/right`);
    // The fix fetches from the project remote by its URL: the person's checkout may name it otherwise than origin.
    const halfFix = json<{ error: { fix: string } }>(half).error.fix;
    expect(halfFix).toContain('(git pull --no-rebase ');
    expect(halfFix).not.toContain('origin');

    expect(() => gitCli(['merge', '-q', '--no-ff', `origin/${right?.branch}`, '-m', 'merge right'], co)).toThrow();
    writeFileSync(join(co, 'README.md'), 'left\nright\n');
    gitCli(['add', 'README.md'], co);
    gitCli(['commit', '-q', '--no-edit'], co);
    gitCli(['push', '-q', 'origin', `hand:refs/heads/${group}/integration`], co);
    gitCli(['switch', '-q', 'main'], co);
    const done = await gitbus(['respond', id, '--status', 'succeeded', '--summary', 'merged by hand', '--json'], { home });
    expect(done.code, done.stderr + done.stdout).toBe(0);
    expect(await responseOf(home, id)).toMatchObject({ status: 'succeeded', project: { branch: `${group}/integration`, pushed: true, merged: [`${group}/left`, `${group}/right`] } });

    expect(json<{ resolvedBy: string | null }>(await gitbus(['group', group, '--json'], { home })).resolvedBy).toBe(id);
    const text = (await gitbus(['group', group], { home })).stdout;
    expect(text).toContain(`resolved by ${id}: git fetch ${project.remote} refs/heads/${group}/integration`);
    expect(text).not.toContain('ask an agent');
    expect(text.split('\n').find((l) => l.includes(` ${id} `))).toMatch(new RegExp(`^\\s+resolve\\s+${id}\\s+succeeded`));
    const again = await gitbus(['resolve', f.integration, '--json'], { home });
    expect(again.code).toBe(5);
    expect(json<{ error: { message: string } }>(again).error.message).toContain(`already resolved by ${id}`);
  }, 300_000);

  it('fanout --to a node without the merge runner offers the plan\'s integrate: {to} with a node that has it', async () => {
    const plan = join(bus.dir, 'specs', 'elsewhere.md');
    writeFileSync(plan, README_CLASH_PLAN.replace('to: box1\n', ''));
    const r = await gitbus(['fanout', plan, '--to', 'alpha', '--json'], { home, cwd: project.checkout });
    expect(r.code, r.stderr).toBe(8);
    const problems = json<{ error: { data: { problems: { field: string; fix: string }[] } } }>(r).error.data.problems;
    expect(problems.find((p) => p.field === 'integrate.to')?.fix).toContain('integrate: {to: box1}');
  });
});
