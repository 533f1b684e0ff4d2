import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { branchFiles, makeProject, showFile } from '../helpers/project.js';

/**
 * Seed 003's workflow run for real: `gitbus fanout` puts four workstreams and an integration task on the bus in one
 * commit; two worker nodes do the workstreams in worktrees and push their branches; the merge runner merges them
 * into `<group>/integration` when they all succeeded. A second fan-out whose branches conflict is reported by
 * branch and file, with the integration branch left untouched, and `gitbus resolve` turns that into an agent's task.
 */
type Fanned = { group: string; integration: string; tasks: { id: string; workstream: string | null; branch: string }[] };

let bus: Awaited<ReturnType<typeof makeBus>>;
let project: ReturnType<typeof makeProject>;

function plan(name: string, workstreams: { name: string; command: string }[]): string {
  const file = join(bus.dir, `${name}.md`);
  const list = workstreams.map((w) => `  - name: ${w.name}\n    tasks: Do the ${w.name} part.\n    command: ${JSON.stringify(w.command)}\n`).join('');
  writeFileSync(file, `---\ngroup: ${name}\ntitle: ${name}\nrunner: shell\nworkstreams:\n${list}---\nThe shared brief.\n`);
  return file;
}

async function fanout(file: string): Promise<Fanned> {
  const r = await gitbus(['fanout', file, '--json'], { home: bus.home('alpha'), cwd: project.checkout });
  expect(r.code, r.stderr).toBe(0);
  return json<Fanned>(r);
}

/** Both workers take what they may until nothing is left; the integration becomes claimable once all four succeeded. */
async function workUntilDone(): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const runs = await Promise.all(['w1', 'w2'].map((n) => gitbus(['watch', '--once', '--json'], { home: bus.home(n), timeoutMs: 120_000, process: true })));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    if (runs.every((r) => json<{ ran: unknown[] }>(r).ran.length === 0)) return;
  }
}

/** The task's response file as the bus has it: its frontmatter and body. */
async function responseText(id: string): Promise<string> {
  const shown = json<{ state: string; files: { path: string; text: string }[] }>(await gitbus(['show', id, '--json'], { home: bus.home('alpha') }));
  const file = shown.files.find((f) => f.path.startsWith('responses/'));
  if (!file) throw new Error(`${id} has no response (state ${shown.state})`);
  return file.text;
}

async function response(id: string): Promise<Record<string, unknown>> {
  return parse((await responseText(id)).split('---\n')[1] ?? '') as Record<string, unknown>;
}

beforeAll(async () => {
  bus = await makeBus();
  project = makeProject(bus.dir);
  for (const n of ['w1', 'w2']) await bus.addNode(n, [], ['--runner', 'shell', '--runner', 'merge', '--parallel', '2']);
}, 60_000);
afterAll(async () => bus?.cleanup());

describe('a fan-out run by watchers', () => {
  it('four workstreams on two nodes push their branches, and the integration merges them all into <group>/integration', async () => {
    const names = ['core-pipeline', 'robustness', 'architecture', 'testing'];
    const f = await fanout(plan('convo', names.map((n) => ({ name: n, command: `mkdir -p src && echo ${n} > src/${n}.txt` }))));
    await workUntilDone();
    for (const t of f.tasks.filter((x) => x.workstream !== null)) {
      expect((await response(t.id))['status'], t.workstream ?? '').toBe('succeeded');
      expect(showFile(project.remote, t.branch, `src/${t.workstream}.txt`)).toBe(`${t.workstream}\n`);
    }
    const integration = await response(f.integration);
    expect(integration).toMatchObject({ status: 'succeeded', runner: 'merge', project: { branch: 'convo/integration', pushed: true, merged: names.map((n) => `convo/${n}`) } });
    expect(branchFiles(project.remote, 'convo/integration')).toEqual(expect.arrayContaining(names.map((n) => `src/${n}.txt`)));
    // Merged in plan order, one merge commit each.
    const merges = gitCli(['--git-dir', project.remote, 'log', '--merges', '--format=%s', 'convo/integration']).trim().split('\n').reverse();
    expect(merges).toEqual(names.map((n) => `Merge convo/${n} into convo/integration`));
    const group = json<{ workstreams: { state: string; branch: string | null }[]; integration: { state: string } }>(await gitbus(['group', 'convo', '--json'], { home: bus.home('alpha') }));
    expect(group.workstreams.map((w) => w.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(group.integration.state).toBe('succeeded');
  }, 240_000);

  it('branches that conflict are reported by branch and file, the integration branch is left untouched, and resolve hands it to an agent', async () => {
    const f = await fanout(
      plan('clash', [
        { name: 'left', command: 'echo left > app.txt' },
        { name: 'right', command: 'echo right > app.txt' },
        { name: 'other', command: 'echo other > other.txt' },
      ]),
    );
    await workUntilDone();
    const r = await response(f.integration);
    expect(r['status']).toBe('failed');
    expect(r['reason']).toContain('1 of 3 branches conflict: clash/right (app.txt)');
    expect(r['project']).toMatchObject({ pushed: false, merged: ['clash/left', 'clash/other'], conflicts: [{ branch: 'clash/right', files: ['app.txt'] }] });
    expect(branchFiles(project.remote, 'clash/integration')).toBeNull();
    // Nothing is coming to that branch: show and collect say why and what next, and offer no fetch of it.
    const said = `not pushed: 1 branch conflict; gitbus resolve ${f.integration}`;
    const shown = (await gitbus(['show', f.integration], { home: bus.home('alpha') })).stdout;
    expect(shown).toContain(`branch clash/integration of ${project.remote} (0 commits, 0 files, +0 -0, ${said})`);
    expect(shown).not.toContain('fetch:');
    const collected = await gitbus(['collect', '--node', '--all', '--peek'], { home: bus.home('alpha') });
    expect(collected.stdout, collected.stderr).toContain(`branch clash/integration (${said})`);
    const fix = await gitbus(['resolve', f.integration, '--json'], { home: bus.home('alpha') });
    expect(fix.code, fix.stderr).toBe(0);
    const handoff = json<{ files: { text: string }[] }>(await gitbus(['show', json<{ id: string }>(fix).id, '--json'], { home: bus.home('alpha') })).files[0]?.text ?? '';
    expect(handoff).toContain('runner: claude');
    expect(handoff).toContain('branch: clash/integration');
    expect(handoff).toContain('app.txt');
  }, 240_000);

  it('merges each workstream as its response reports it: beside a branch it found in its way, and never one that moved since', async () => {
    const commit = (file: string, text: string) => {
      writeFileSync(join(project.checkout, file), text);
      gitCli(['add', file], project.checkout);
      gitCli(['commit', '-q', '-m', file], project.checkout);
    };
    // A branch of the workstream's name pushed after the fan-out, not on its base: its result goes beside it.
    commit('main.txt', 'main moves on\n');
    gitCli(['push', '-q', 'origin', 'main'], project.checkout);
    const beside = await fanout(plan('beside', [{ name: 'ws', command: 'echo new > ws.txt' }]));
    gitCli(['switch', '-q', '-c', 'stale', 'HEAD~1'], project.checkout);
    commit('stale.txt', 'not this fan-out\n');
    gitCli(['push', '-q', 'origin', 'stale:refs/heads/beside/ws', 'stale:refs/heads/beside/integration'], project.checkout);
    const stale = gitCli(['rev-parse', 'stale'], project.checkout).trim();
    gitCli(['switch', '-q', 'main'], project.checkout);
    await workUntilDone();
    const ws = (await response(beside.tasks[0]?.id ?? ''))['project'] as { branch: string };
    expect(ws.branch).toMatch(/^beside\/ws-moved-[0-9a-f]{8}$/);
    const merged = await response(beside.integration);
    const into = (merged['project'] as { branch: string }).branch;
    expect(into).toMatch(/^beside\/integration-moved-[0-9a-f]{8}$/);
    expect(merged).toMatchObject({ status: 'succeeded', project: { merged: [ws.branch] } });
    // The integration branch never held the base: told as apart from the start, as any project task's result is, not as moved.
    const base = (merged['project'] as { baseCommit: string }).baseCommit;
    const body = await responseText(beside.integration);
    expect(body).toContain(`beside/integration on the remote did not build on the task's base when the task started (it was at ${stale.slice(0, 12)}, which does not contain ${base.slice(0, 12)}), so the task built on the base instead and its results went beside beside/integration, to ${into}.`);
    // The merge runner has no session to resume: the person merges the results into the branch themselves.
    expect(body).not.toContain('gitbus resume');
    expect(body).toContain(`git -C "$d" merge --no-edit --allow-unrelated-histories -m 'Merge ${into} into beside/integration' ${(merged['project'] as { headCommit: string }).headCommit} &&\ngit -C "$d" push`);
    expect(body).not.toContain('had moved on the remote');
    expect(branchFiles(project.remote, into)).toEqual(expect.arrayContaining(['ws.txt', 'main.txt']));
    expect(branchFiles(project.remote, into)).not.toContain('stale.txt');
    // group says where the results went, not the names the handoffs asked for.
    const g = json<{ workstreams: { branch: string }[]; integration: { branch: string } }>(await gitbus(['group', 'beside', '--json'], { home: bus.home('alpha') }));
    expect([g.workstreams[0]?.branch, g.integration.branch]).toEqual([ws.branch, into]);
    expect((await gitbus(['group', 'beside'], { home: bus.home('alpha') })).stdout).toContain(`integrated: git fetch ${project.remote} refs/heads/${into}`);

    // Commits pushed on a workstream's branch after it ended are not its result: the integration fails, saying so.
    const pastPlan = plan('past', [{ name: 'ws', command: 'echo mine > ws.txt' }]);
    writeFileSync(pastPlan, readFileSync(pastPlan, 'utf8').replace('workstreams:', 'integrate: {to: w2}\nworkstreams:').replace('    command:', '    to: w1\n    command:'));
    const past = await fanout(pastPlan);
    const first = await gitbus(['watch', '--once', '--json'], { home: bus.home('w1'), timeoutMs: 120_000 });
    expect(json<{ ran: unknown[] }>(first).ran, first.stderr).toHaveLength(1);
    gitCli(['fetch', '-q', 'origin', 'past/ws'], project.checkout);
    gitCli(['switch', '-q', '-c', 'on-top', 'FETCH_HEAD'], project.checkout);
    commit('later.txt', 'pushed on top\n');
    gitCli(['push', '-q', 'origin', 'on-top:refs/heads/past/ws'], project.checkout);
    gitCli(['switch', '-q', 'main'], project.checkout);
    await workUntilDone();
    const refused = await response(past.integration);
    expect(refused['status']).toBe('failed');
    expect(refused['reason']).toMatch(new RegExp(`past/ws: task ${past.tasks[0]?.id} left its result on past/ws at [0-9a-f]{12}, but the project remote has past/ws at [0-9a-f]{12} \\(it moved since\\)`));
    expect(branchFiles(project.remote, 'past/integration')).toBeNull();
  }, 240_000);
});
