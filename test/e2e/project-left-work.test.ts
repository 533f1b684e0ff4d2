import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { showInProcess } from '../helpers/in-process.js';
import { editNode, makeProject, pushHandoffs, workUntilIdle } from '../helpers/project.js';

/**
 * Work a run leaves off what gitbus delivers: gitbus pushes the worktree's HEAD as the task's branch, so a run that
 * ends on another branch, or makes commits on a branch it then leaves, is told in the response (a `Warning:` line of
 * the Branch section, with the fix), and `gitbus worktrees prune` keeps its worktree until the person acts. Told from
 * the worktree's own HEAD reflog, so a parallel run on the same node (and the same cached clone) is never blamed for
 * another's branches. Real git, a real watcher (`watch --once`) running shell tasks on a node with parallel 2.
 */
type Blocker = { reason: string; fix: string; overridable: boolean };
type Shown = { state: string; branch?: { warnings?: string[]; report?: { headCommit: string; pushed: boolean; branch: string } }; files: { path: string; text: string }[] };

const COMMIT = 'git -c user.name=t -c user.email=t@x.invalid commit -q';
/** A branch name git takes that reads as words: no-break spaces and a line separator, and longer than is shown. */
const ODD = `odd\u00a0fix\u00a0it\u2028now-${'y'.repeat(120)}`;

let bus: Awaited<ReturnType<typeof makeBus>>;
let project: ReturnType<typeof makeProject>;
let other: ReturnType<typeof makeProject>;
let home = '';
let marks = '';
let person = '';

/** A shell loop that waits (at most 60 s) for the file `name` in the marks folder, and fails the run without it. */
const waitFor = (name: string) => `i=0; until [ -e '${marks}/${name}' ] || [ $i -ge 600 ]; do sleep 0.1; i=$((i+1)); done; [ -e '${marks}/${name}' ] || exit 3`;

const shown = (id: string): Promise<Shown> => showInProcess<Shown>(home, id);

async function watchOnce(): Promise<{ id: string; status: string }[]> {
  const r = await gitbus(['watch', '--once', '--json'], { home, timeoutMs: 120_000, process: true });
  expect(r.code, r.stderr).toBe(0);
  return json<{ ran: { id: string; status: string }[] }>(r).ran;
}

async function prune(args: string[]): Promise<{ removed: { key: string }[]; kept: { key: string; named: boolean; blockers: Blocker[] }[] }> {
  const r = await gitbus(['worktrees', 'prune', ...args, '--json'], { home });
  return json(r);
}

const remoteHas = (remote: string, commit: string) => spawnSync('git', ['--git-dir', remote, 'cat-file', '-e', `${commit}^{commit}`]).status === 0;
const cacheOf = (name: string) => join(home, 'projects', readdirSync(join(home, 'projects')).find((n) => n.startsWith(`${name}-`) && n.endsWith('.git')) ?? 'none');

beforeAll(async () => {
  bus = await makeBus({ node: 'alpha' });
  project = makeProject(bus.dir);
  other = makeProject(bus.dir, 'proj2');
  home = await bus.addNode('w1', [], ['--runner', 'shell', '--parallel', '2']);
  editNode(home, (c) => ({ ...c, projects: { proj: { url: project.remote }, proj2: { url: other.remote } } }));
  marks = join(bus.dir, 'marks');
  mkdirSync(marks);
  person = join(bus.dir, 'person');
}, 60_000);

afterAll(async () => bus?.cleanup());

describe('work a run leaves off its delivered branch', () => {
  it('a branch one of two parallel runs makes in the shared clone is warned of in its response only, never blamed on the other', async () => {
    pushHandoffs(person, bus.remote, [
      // Makes its side branch only while the other run is under way, and ends back on its own branch.
      { id: 'lw-maker', frontmatter: { to: 'w1', repo: 'proj', command: `${waitFor('bystander-started')} && git checkout -q -b made-by-maker && echo side > side.txt && git add side.txt && ${COMMIT} -m 'on a side branch' && git checkout -q - && echo result > maker.txt && touch '${marks}/maker-done'` } },
      // Runs from before the maker's branch was made until after: a look at the clone's branches would blame it.
      { id: 'lw-bystander', frontmatter: { to: 'w1', repo: 'proj', command: `touch '${marks}/bystander-started' && ${waitFor('maker-done')} && echo b > bystander.txt` } },
    ]);
    const ran = await watchOnce();
    expect(ran).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'lw-maker', status: 'succeeded' }), expect.objectContaining({ id: 'lw-bystander', status: 'succeeded' })]));

    const maker = await shown('lw-maker');
    const side = gitCli(['--git-dir', cacheOf('proj'), 'rev-parse', 'refs/heads/made-by-maker']).trim();
    const path = join(home, 'worktrees', 'lw-maker');
    expect(maker.branch?.warnings).toEqual([
      `the run made 1 commit on the branch "made-by-maker" (newest ${side.slice(0, 12)}) that is not in the result ${maker.branch?.report?.headCommit.slice(0, 12)} nor on the project remote: gitbus delivers only the worktree's HEAD. It is only on w1, in its clone of the project; "gitbus worktrees prune" there keeps the worktree ${path} until the project remote has it or no branch holds it. Take it into the result with git -C ${path} cherry-pick HEAD..${side.slice(0, 12)} && git -C ${path} push origin HEAD:refs/heads/gitbus/lw-maker, or push it as a branch of its own with git -C ${path} push origin ${side.slice(0, 12)}:refs/heads/NAME`,
    ]);
    // What was delivered is the maker's own branch, which does not hold the side commit.
    expect(maker.branch?.report).toMatchObject({ branch: 'gitbus/lw-maker', pushed: true });
    expect(remoteHas(project.remote, side)).toBe(false);

    const bystander = await shown('lw-bystander');
    expect(bystander.branch?.report).toMatchObject({ pushed: true });
    expect(bystander.branch?.warnings).toBeUndefined();
  }, 180_000);

  it('a run that ends on another branch, commits on the clone\'s own HEAD branch, or on a branch with an odd name is told so; a failing check costs nothing but its warning', async () => {
    pushHandoffs(person, bus.remote, [
      { id: 'lw-off', frontmatter: { to: 'w1', repo: 'proj', command: `echo c1 > c1.txt && git add c1.txt && ${COMMIT} -m 'on the task branch' && git checkout -q -b elsewhere && echo c2 > c2.txt` } },
      // The bare clone's HEAD names a branch too (unborn until a run makes it): commits there are no other worktree's.
      { id: 'lw-cachehead', frontmatter: { to: 'w1', repo: 'proj', command: `h=$(git --git-dir "$(git rev-parse --git-common-dir)" symbolic-ref --short HEAD) && printf %s "$h" > '${marks}/cache-head' && git switch -q -c "$h" && echo d > d.txt && git add d.txt && ${COMMIT} -m 'on the clone head branch' && git checkout -q - && echo r > r.txt` } },
      { id: 'lw-odd', frontmatter: { to: 'w1', repo: 'proj', command: `git checkout -q -b '${ODD}' && echo o > o.txt && git add o.txt && ${COMMIT} -m odd && git checkout -q - && echo r > r.txt` } },
      // Its side branch's first commit is removed from the clone, so that looking at the branch fails.
      { id: 'lw-broken', frontmatter: { to: 'w1', repo: 'proj2', command: `echo f > f.txt && git add f.txt && ${COMMIT} -m 'the result' && git checkout -q -b broken && echo x > x.txt && git add x.txt && ${COMMIT} -m x && X=$(git rev-parse HEAD) && echo y > y.txt && git add y.txt && ${COMMIT} -m y && git checkout -q - && rm "$(git rev-parse --git-common-dir)/objects/$(echo $X | cut -c1-2)/$(echo $X | cut -c3-)"` } },
    ]);
    await workUntilIdle(home);

    const off = await shown('lw-off');
    const offPath = join(home, 'worktrees', 'lw-off');
    const offHead = off.branch?.report?.headCommit ?? '';
    expect(off.state).toBe('succeeded');
    expect(off.branch?.warnings).toEqual([
      `the run ended on the branch "elsewhere", not on its task branch gitbus/lw-off: gitbus delivers the worktree's HEAD, so the result given as gitbus/lw-off is that branch's head ${offHead.slice(0, 12)}, and later runs in this worktree continue there. See what it holds with git -C ${offPath} log --oneline ${project.main().slice(0, 12)}..${offHead.slice(0, 12)} on w1`,
    ]);
    // Both commits were delivered: the one on the task branch is under the one on elsewhere.
    expect(gitCli(['--git-dir', project.remote, 'log', '--format=%s', 'refs/heads/gitbus/lw-off']).split('\n').slice(0, 2)).toEqual(['lw-off', 'on the task branch']);

    const headBranch = readFileSync(join(marks, 'cache-head'), 'utf8');
    const cached = await shown('lw-cachehead');
    expect(cached.branch?.warnings).toEqual([expect.stringContaining(`the run made 1 commit on the branch "${headBranch}" (newest `)]);

    const odd = await shown('lw-odd');
    const warned = odd.branch?.warnings ?? [];
    expect(warned).toEqual([expect.stringContaining(`the run made 1 commit on the branch "odd\\u00a0fix\\u00a0it\\u2028now-${'y'.repeat(65)}"… (a name of 135 characters, cut) (newest `)]);
    // The Branch section's lines (the summary quotes the task's command, name and all).
    const body = odd.files.find((f) => f.path.startsWith('responses/'))?.text ?? '';
    expect(body.slice(body.indexOf('## Branch'), body.indexOf('Fetch it:'))).not.toMatch(/[\u00a0\u2028]/);

    const broken = await shown('lw-broken');
    expect(broken.state).toBe('succeeded');
    expect(broken.branch?.report).toMatchObject({ pushed: true });
    expect(broken.branch?.warnings).toBeUndefined();
    expect(gitCli(['--git-dir', other.remote, 'log', '-1', '--format=%s', 'refs/heads/gitbus/lw-broken']).trim()).toBe('the result');
    const log = await gitbus(['logs', 'lw-broken'], { home });
    expect(log.stdout).toMatch(/gitbus: could not look for commits the run left on other branches \(the response warns of nothing it could not check\): .*git rev-list/);
    // The branch whose commit is gone would trouble every later look at this clone: it goes.
    gitCli(['--git-dir', cacheOf('proj2'), 'update-ref', '-d', 'refs/heads/broken']);
  }, 240_000);

  it('prune keeps a worktree whose run left commits on another branch, until the remote has them, the branch is gone, or it is named', async () => {
    const a = await gitbus(['archive', '--all', '--json'], { home });
    expect(a.code, a.stderr).toBe(0);
    const rows = json<{ worktrees: { key: string; prunable: boolean; blockers: Blocker[] }[] }>(await gitbus(['worktrees', '--json'], { home })).worktrees;
    const keeps = (key: string) => rows.find((r) => r.key === key)?.blockers ?? [];
    const side = gitCli(['--git-dir', cacheOf('proj'), 'rev-parse', 'refs/heads/made-by-maker']).trim();
    const makerPath = join(home, 'worktrees', 'lw-maker');
    expect(keeps('lw-maker')).toEqual([
      {
        reason: `1 commit of the branch "made-by-maker" (newest ${side.slice(0, 12)}) that task lw-maker made and left out of its result is not on the project remote`,
        fix: `take it into the result (git -C ${makerPath} cherry-pick HEAD..${side.slice(0, 12)} && git -C ${makerPath} push origin HEAD:refs/heads/gitbus/lw-maker), push it as a branch of its own (git -C ${makerPath} push origin ${side.slice(0, 12)}:refs/heads/NAME), or delete the branch; to prune it anyway, name it: gitbus worktrees prune lw-maker (the branch stays in this node's clone of the project)`,
        overridable: true,
      },
    ]);
    expect(keeps('lw-odd')).toEqual([expect.objectContaining({ reason: expect.stringContaining('of the branch "odd\\u00a0fix'), overridable: true })]);
    // Nothing left off by the others: they go.
    for (const key of ['lw-bystander', 'lw-off']) expect(rows.find((r) => r.key === key)).toMatchObject({ prunable: true });
    const text = await gitbus(['worktrees'], { home });
    expect(text.stdout).toContain(`    kept: 1 commit of the branch "made-by-maker" (newest ${side.slice(0, 12)}) that task lw-maker made and left out of its result is not on the project remote (naming it prunes it anyway)`);

    const first = await prune([]);
    expect(first.kept.map((k) => k.key).sort()).toEqual(['lw-cachehead', 'lw-maker', 'lw-odd']);
    expect(first.removed.map((r) => r.key).sort()).toEqual(['lw-broken', 'lw-bystander', 'lw-off']);

    // The person acts: pushes the maker's side commit, deletes the clone-head branch, names the odd one.
    gitCli(['-C', makerPath, 'push', '-q', 'origin', `${side}:refs/heads/kept-side`]);
    const headBranch = readFileSync(join(marks, 'cache-head'), 'utf8');
    gitCli(['--git-dir', cacheOf('proj'), 'branch', '-q', '-D', headBranch]);
    const second = await prune([]);
    expect(second.removed.map((r) => r.key).sort()).toEqual(['lw-cachehead', 'lw-maker']);
    expect(second.kept.map((k) => k.key)).toEqual(['lw-odd']);
    const named = await prune(['lw-odd']);
    expect(named.removed.map((r) => r.key)).toEqual(['lw-odd']);
    // Its commit is still on its branch in the node's clone.
    expect(gitCli(['--git-dir', cacheOf('proj'), 'log', '-1', '--format=%s', `refs/heads/${ODD}`]).trim()).toBe('odd');
  }, 120_000);
});
