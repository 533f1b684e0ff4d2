import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { responseOn, watchOnceRan, type ProjectReport } from '../helpers/project-tasks.js';
import { branchFiles, editNode, makeProject, pushApartBranches, pushHandoffs, showFile } from '../helpers/project.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';

/**
 * Project work (issue 9): tasks that name a project repository run in a worktree of the node's cached clone, on
 * their result branch, and the branch reaches the project remote before the response reaches the bus. Real git
 * everywhere: a bus on a bare remote, a project on another, nodes as separate processes.
 */
const STANDIN = join(ROOT, 'test/fixtures/claude-standin.mjs');

let bus: Awaited<ReturnType<typeof makeBus>>;
let project: ReturnType<typeof makeProject>;
let person: string;
const children: ChildProcess[] = [];

const response = (id: string) => responseOn(bus.home('alpha'), id);

/** The lines of the first fenced block after the line of `body` that starts with `lead`. */
function fencedAfter(body: string, lead: string): string[] {
  const lines = body.split('\n');
  const at = lines.findIndex((l) => l.startsWith(lead));
  expect(at, `${lead} in ${body}`).toBeGreaterThanOrEqual(0);
  const open = lines.indexOf('```', at);
  return lines.slice(open + 1, lines.indexOf('```', open + 1));
}

beforeAll(async () => {
  bus = await makeBus();
  project = makeProject(bus.dir);
  person = join(bus.dir, 'person');
  for (const n of ['w1', 'w2']) {
    const home = await bus.addNode(n, [], ['--runner', 'shell', '--runner', 'claude']);
    editNode(home, (c) => ({ ...c, projects: { proj: { url: project.remote, checkout: project.checkout, include: ['.env'], setup: 'touch .setup-ran', env: { PORT: '{8000+slot}', WHICH: '{id}' } } } }));
  }
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

describe('project tasks', () => {
  it('run on two nodes in worktrees at the base commit, and their branches reach the project remote with the facts in the response', async () => {
    const base = project.main();
    pushHandoffs(person, bus.remote, [
      // Commits by itself, then leaves a change for gitbus to commit; reads what the node's project settings gave it.
      { id: 'pw-one', frontmatter: { to: 'w1', repo: 'proj', base: 'main', baseCommit: base, command: 'echo one >> app.txt && git -c user.name=t -c user.email=t@x commit -qam "task one edits app" && cat .env > seen-env.txt && echo "$PORT $WHICH $GITBUS_BRANCH" > env.txt && test -f .setup-ran && pwd > where.txt' } },
      { id: 'pw-two', frontmatter: { to: 'w2', repo: project.remote, base: 'main', branch: 'feature/two', command: 'echo two > two.txt' } },
    ]);
    const [one, two] = await Promise.all([watchOnceRan(bus.home('w1')), watchOnceRan(bus.home('w2'))]);
    expect(one).toEqual([expect.objectContaining({ id: 'pw-one', status: 'succeeded' })]);
    expect(two).toEqual([expect.objectContaining({ id: 'pw-two', status: 'succeeded' })]);

    const r1 = await response('pw-one');
    const p1 = r1.data.project as ProjectReport;
    expect(p1).toMatchObject({ repo: 'proj', branch: 'gitbus/pw-one', baseCommit: base, pushed: true, commits: 2, files: 4 });
    expect(p1.subjects).toEqual(['pw-one', 'task one edits app']);
    expect(gitCli(['--git-dir', project.remote, 'rev-parse', 'gitbus/pw-one']).trim()).toBe(p1.headCommit);
    // The copied-in .env reached the task but never the branch; the setup ran; env was filled per run.
    const files = branchFiles(project.remote, 'gitbus/pw-one') ?? [];
    expect(files).toEqual(expect.arrayContaining(['app.txt', 'seen-env.txt', 'env.txt', 'where.txt']));
    expect(files).not.toContain('.env');
    expect(showFile(project.remote, 'gitbus/pw-one', 'seen-env.txt')).toBe('SECRET=from-the-checkout\n');
    expect(showFile(project.remote, 'gitbus/pw-one', 'env.txt')).toBe('8000 pw-one gitbus/pw-one\n');
    // Outside any checkout of the person's: in the node's home.
    expect(showFile(project.remote, 'gitbus/pw-one', 'where.txt').trim()).toBe(join(bus.home('w1'), 'worktrees', 'pw-one'));
    expect(r1.body).toContain(`git fetch proj refs/heads/gitbus/pw-one`);
    const status = await gitbus(['status'], { home: bus.home('alpha') });
    expect(status.stdout).toMatch(/pw-two\s+succeeded\s+pw-two.* -> feature\/two/);
    const text = await gitbus(['show', 'pw-one'], { home: bus.home('alpha') });
    expect(text.stdout).toContain('branch gitbus/pw-one of proj (2 commits, 4 files, ');
    expect(text.stdout).toContain('  fetch: git fetch proj refs/heads/gitbus/pw-one');
    expect(r1.body).toContain('- task one edits app');

    const p2 = (await response('pw-two')).data.project as ProjectReport;
    expect(p2).toMatchObject({ branch: 'feature/two', baseCommit: base, pushed: true, commits: 1, files: 1, insertions: 1 });
    expect(showFile(project.remote, 'feature/two', 'two.txt')).toBe('two\n');
    // The person's checkout was never touched.
    expect(gitCli(['status', '--porcelain'], project.checkout)).toBe('');
  }, 120_000);

  it('a claude task runs in its worktree: the stand-in edits and commits, gitbus pushes the branch', async () => {
    pushHandoffs(person, bus.remote, [
      { id: 'pw-claude', frontmatter: { to: 'w1', repo: 'proj', runner: 'claude', branch: 'agent/notes' }, body: 'Write the notes.\n@write notes.md hello from the agent\n@commit agent adds notes\n@write scratch.txt left over\n' },
    ]);
    const ran = await watchOnceRan(bus.home('w1'), { GITBUS_CLAUDE_BIN: STANDIN, CLAUDE_STANDIN_SESSIONS: join(bus.dir, 'sessions') });
    expect(ran).toEqual([expect.objectContaining({ id: 'pw-claude', status: 'succeeded' })]);
    const r = await response('pw-claude');
    expect(r.data.project).toMatchObject({ branch: 'agent/notes', pushed: true, commits: 2 });
    expect((r.data.project as ProjectReport).subjects).toEqual(['pw-claude', 'agent adds notes']);
    expect(showFile(project.remote, 'agent/notes', 'notes.md')).toBe('hello from the agent\n');
    expect(branchFiles(project.remote, 'agent/notes')).toContain('scratch.txt');
    // No base given: the remote's default branch.
    expect((r.data.project as ProjectReport).baseCommit).toBe(project.main());
  }, 120_000);

  it('a base commit the project remote does not have fails the task with the reason, and nothing is pushed', async () => {
    pushHandoffs(person, bus.remote, [{ id: 'pw-nobase', frontmatter: { to: 'w2', repo: 'proj', base: 'main', baseCommit: 'a'.repeat(40), command: 'true' } }]);
    const ran = await watchOnceRan(bus.home('w2'));
    expect(ran).toEqual([expect.objectContaining({ id: 'pw-nobase', status: 'failed' })]);
    const r = await response('pw-nobase');
    expect(r.data.reason).toContain(`the base commit ${'a'.repeat(40)} (main) is not on the project remote ${project.remote}`);
    // With its fix: the response is all the dispatcher sees of a task that never started.
    expect(r.data.reason).toContain(`(fix: push main to the project remote ${project.remote} from the dispatching checkout (git push REMOTE main, REMOTE being that checkout's name for it: git remote -v lists them) and dispatch again)`);
    expect(r.data.reason).not.toContain('origin');
    expect(branchFiles(project.remote, 'gitbus/pw-nobase')).toBeNull();
    // It has no output, and logs says why rather than nothing.
    const logs = await gitbus(['logs', 'pw-nobase'], { home: bus.home('alpha') });
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout.trim()).toBe('');
    expect(logs.stderr).toContain('pw-nobase has no output: it ended failed with none: could not prepare');
    expect(logs.stderr).toContain('git push REMOTE main');
  }, 60_000);

  it('a resumed run that rewrites its pushed branch (an amend) goes beside it saying so, never forced; a branch someone else pushed to says it moved', async () => {
    const amend = (msg: string) => `echo "${msg}" >> one.txt && git add one.txt && git -c user.name=t -c user.email=t@x commit -q --amend -m "${msg}"`;
    pushHandoffs(person, bus.remote, [
      { id: 'pw-rw-first', frontmatter: { to: 'w2', repo: 'proj', branch: 'rw/topic', command: 'echo one > one.txt' } },
      { id: 'pw-mv-first', frontmatter: { to: 'w1', repo: 'proj', branch: 'mv/topic', command: 'echo one > one.txt' } },
    ]);
    const [rw, mv] = await Promise.all([watchOnceRan(bus.home('w2')), watchOnceRan(bus.home('w1'))]);
    expect(rw).toEqual([expect.objectContaining({ id: 'pw-rw-first', status: 'succeeded' })]);
    expect(mv).toEqual([expect.objectContaining({ id: 'pw-mv-first', status: 'succeeded' })]);
    const accepted = gitCli(['--git-dir', project.remote, 'rev-parse', 'rw/topic']).trim();
    expect(((await response('pw-rw-first')).data.project as ProjectReport).headCommit).toBe(accepted);

    // Someone else builds on mv/topic meanwhile; the resume on w1 adds a commit to what it pushed: the branch moved.
    const other = join(bus.dir, 'other-mv');
    gitCli(['clone', '-q', '--branch', 'mv/topic', project.remote, other]);
    writeFileSync(join(other, 'theirs.txt'), 'theirs\n');
    gitCli(['add', '.'], other);
    gitCli(['commit', '-q', '-m', 'their work on mv/topic'], other);
    gitCli(['push', '-q', 'origin', 'mv/topic'], other);
    const theirs = gitCli(['rev-parse', 'HEAD'], other).trim();
    pushHandoffs(person, bus.remote, [
      // The resume on w2 amends the commit the remote already has: the history is rewritten, the remote did not move.
      { id: 'pw-rw-amend', frontmatter: { to: 'w2', repo: 'proj', resumes: 'pw-rw-first', command: amend('one, amended') } },
      { id: 'pw-mv-next', frontmatter: { to: 'w1', repo: 'proj', resumes: 'pw-mv-first', command: 'echo two > two.txt' } },
    ]);
    const w = startWatcher(bus.home('w2'), ['--poll', '1s'], children);
    let text: Awaited<ReturnType<typeof gitbus>>;
    try {
      text = await gitbus(['watch', '--once'], { home: bus.home('w1'), timeoutMs: 90_000 });
      await until('the amended result to be delivered', () => w.events().some((e) => e.type === 'delivered' && e.id === 'pw-rw-amend'), 60_000, () => `${w.events().map((e) => JSON.stringify(e)).join('\n')}\n${w.stderr()}`);
    } finally {
      w.child.kill('SIGTERM');
      await w.exited;
    }
    const amended = (await response('pw-rw-amend'));
    const pa = amended.data.project as ProjectReport;
    expect(pa).toMatchObject({ pushed: true, branch: `rw/topic-moved-${pa.headCommit.slice(0, 8)}` });
    expect(w.events().find((e) => e.type === 'pushed' && e.id === 'pw-rw-amend')).toMatchObject({ branch: pa.branch, moved: 'rw/topic', rewritten: accepted });
    expect(amended.body).toContain(`The run rewrote the history of rw/topic (a rebase or an amend): ${accepted.slice(0, 12)}, the commit of rw/topic on the remote that this worktree built on, is not part of the results`);
    expect(amended.body).not.toContain('had moved on the remote');
    expect(amended.body).toContain(`git push --force-with-lease=refs/heads/rw/topic:${accepted} proj ${pa.headCommit}:refs/heads/rw/topic`);
    // A shell task has no session to resume: keeping the branch's history is a merge the person makes.
    expect(amended.body).not.toContain('gitbus resume');
    expect(fencedAfter(amended.body, "Or keep rw/topic's history: merge the results into rw/topic yourself")).toContain(`git -C "$d" merge --no-edit -m 'Merge ${pa.branch} into rw/topic' ${pa.headCommit} &&`);
    // Never forced: the remote's branch is where the first run left it, the amended commit beside it.
    expect(gitCli(['--git-dir', project.remote, 'rev-parse', 'rw/topic']).trim()).toBe(accepted);
    expect(showFile(project.remote, pa.branch, 'one.txt')).toBe('one\none, amended\n');

    // The branch someone else pushed to: beside it, saying it moved, in the response and the watch's line.
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/pw-mv-next: branch mv\/topic-moved-[0-9a-f]{8} pushed to the project remote \(mv\/topic had moved, so beside it\)/);
    const next = await response('pw-mv-next');
    expect(next.body).toContain('mv/topic had moved on the remote since the task started');
    expect(next.body).not.toContain('rewrote');
    expect(gitCli(['--git-dir', project.remote, 'rev-parse', 'mv/topic']).trim()).toBe(theirs);

    // Amended again: the branch still holds what this worktree last put there (the first run's commit, the amended one
    // went beside it), and that is what the result lacks; the watch's line says so too, with the lease that holds.
    pushHandoffs(person, bus.remote, [{ id: 'pw-rw-again', frontmatter: { to: 'w2', repo: 'proj', resumes: 'pw-rw-first', command: amend('one, amended again') } }]);
    const again = await gitbus(['watch', '--once'], { home: bus.home('w2'), timeoutMs: 90_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`pw-rw-again: branch rw/topic-moved-`);
    expect(again.stdout).toContain(`(beside rw/topic: the run rewrote its history, a rebase or an amend, so it was not a fast-forward of ${accepted.slice(0, 12)}; nothing was forced)`);
    const againBody = (await response('pw-rw-again')).body;
    expect(againBody).toContain(`The run rewrote the history of rw/topic (a rebase or an amend): ${accepted.slice(0, 12)}`);
    expect(againBody).toContain(`--force-with-lease=refs/heads/rw/topic:${accepted} `);
    expect(gitCli(['--git-dir', project.remote, 'rev-parse', 'rw/topic']).trim()).toBe(accepted);
  }, 180_000);

  it('the first run in a worktree that rewrites a branch already on the remote (an amend of its tip) says rewritten, not moved', async () => {
    // A person's branch on the project remote, built on main: the task continues it, and amends its last commit.
    const theirs = join(bus.dir, 'person-pre');
    gitCli(['clone', '-q', project.remote, theirs]);
    writeFileSync(join(theirs, 'pre.txt'), 'pre\n');
    gitCli(['add', '.'], theirs);
    gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-q', '-m', 'their start'], theirs);
    gitCli(['push', '-q', 'origin', 'HEAD:refs/heads/pre/topic'], theirs);
    const start = gitCli(['--git-dir', project.remote, 'rev-parse', 'pre/topic']).trim();
    pushHandoffs(person, bus.remote, [{ id: 'pw-pre-amend', frontmatter: { to: 'w2', repo: 'proj', base: 'main', branch: 'pre/topic', command: 'echo amended >> pre.txt && git add pre.txt && git -c user.name=t -c user.email=t@x commit -q --amend -m "their start, amended"' } }]);
    const ran = await gitbus(['watch', '--once'], { home: bus.home('w2'), timeoutMs: 90_000 });
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toContain(`(beside pre/topic: the run rewrote its history, a rebase or an amend, so it was not a fast-forward of ${start.slice(0, 12)}; nothing was forced)`);
    const r = await response('pw-pre-amend');
    const p = r.data.project as ProjectReport;
    expect(p).toMatchObject({ pushed: true, branch: `pre/topic-moved-${p.headCommit.slice(0, 8)}` });
    expect(r.body).toContain(`The run rewrote the history of pre/topic (a rebase or an amend): ${start.slice(0, 12)}, the commit of pre/topic on the remote that this worktree built on, is not part of the results`);
    expect(r.body).toContain(`--force-with-lease=refs/heads/pre/topic:${start} `);
    expect(r.body).not.toContain('had moved on the remote');
    // Never forced: the person's commit is where they left it, the amended one beside it.
    expect(gitCli(['--git-dir', project.remote, 'rev-parse', 'pre/topic']).trim()).toBe(start);
    expect(showFile(project.remote, p.branch, 'pre.txt')).toBe('pre\namended\n');
  }, 120_000);

  it('a branch already on the remote that does not hold the base: the results go beside it, saying it never built on the base, not that it moved', async () => {
    // A person's branches on the project remote with a history of their own, without main's commit.
    const theirs = pushApartBranches(bus.dir, project.remote, ['apart/topic', 'apart/busy']);
    const at = gitCli(['--git-dir', project.remote, 'rev-parse', 'apart/topic']).trim();
    const base = project.main();
    // The second one gets a push from the person while its task runs: that one did move.
    const pushMeanwhile = `git -C '${theirs}' -c user.name=p -c user.email=p@x commit -q --allow-empty -m meanwhile && git -C '${theirs}' push -q origin HEAD:refs/heads/apart/busy`;
    pushHandoffs(person, bus.remote, [
      { id: 'pw-apart', frontmatter: { to: 'w2', repo: 'proj', base: 'main', branch: 'apart/topic', command: 'echo mine > mine.txt' } },
      { id: 'pw-apart-busy', frontmatter: { to: 'w2', repo: 'proj', base: 'main', branch: 'apart/busy', command: `echo mine > mine.txt && ${pushMeanwhile}` } },
    ]);
    const ran = await gitbus(['watch', '--once'], { home: bus.home('w2'), timeoutMs: 90_000 });
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toContain(`(beside apart/topic: it did not build on the task's base, at ${at.slice(0, 12)} since before the task)`);
    const r = await response('pw-apart');
    const p = r.data.project as ProjectReport;
    expect(p).toMatchObject({ pushed: true, baseCommit: base, branch: `apart/topic-moved-${p.headCommit.slice(0, 8)}` });
    expect(r.body).toContain(`apart/topic on the remote did not build on the task's base when the task started (it was at ${at.slice(0, 12)}, which does not contain ${base.slice(0, 12)}), so the task built on the base instead and its results went beside apart/topic, to ${p.branch}.`);
    expect(r.body).not.toContain('had moved on the remote');
    expect(gitCli(['--git-dir', project.remote, 'rev-parse', 'apart/topic']).trim()).toBe(at);
    expect(showFile(project.remote, p.branch, 'mine.txt')).toBe('mine\n');
    // A shell task has no session, so `gitbus resume` would refuse it: the person is told the git commands instead,
    // and they work as given, in their checkout (where "proj", the handoff's repo, names the project's remote).
    expect(r.body).not.toContain('gitbus resume');
    gitCli(['remote', 'add', 'proj', project.remote], theirs);
    expect(r.body).toContain("proj is the project's name in node.yaml, which git does not read");
    // Tags named like the branches, on an unrelated commit: a fetch by the short name would bring the tag instead.
    for (const tag of ['apart/topic', p.branch]) gitCli(['--git-dir', project.remote, 'tag', tag, base]);
    const fetchIt = fencedAfter(r.body, 'Fetch it:');
    const byHand = fencedAfter(r.body, 'To have them together, merge the results into apart/topic yourself');
    expect(fetchIt).toEqual([`git fetch proj refs/heads/${p.branch}`]);
    expect(byHand).toEqual([
      'git fetch proj refs/heads/apart/topic &&',
      'd=$(mktemp -d) && git worktree add --detach "$d" FETCH_HEAD &&',
      `git -C "$d" merge --no-edit --allow-unrelated-histories -m 'Merge ${p.branch} into apart/topic' ${p.headCommit} &&`,
      'git -C "$d" push proj HEAD:refs/heads/apart/topic &&',
      'git worktree remove "$d"',
    ]);
    // Run as a person pastes them, with a change of theirs left uncommitted: the merge does not touch it.
    writeFileSync(join(theirs, 'theirs.txt'), 'theirs, being edited\n');
    try {
      execFileSync('sh', ['-ec', [...fetchIt, ...byHand].join('\n')], { cwd: theirs, env: { ...process.env, GIT_AUTHOR_NAME: 'p', GIT_AUTHOR_EMAIL: 'p@x', GIT_COMMITTER_NAME: 'p', GIT_COMMITTER_EMAIL: 'p@x' }, stdio: 'pipe' });
    } finally {
      for (const tag of ['apart/topic', p.branch]) gitCli(['--git-dir', project.remote, 'tag', '-d', tag]);
    }
    const together = gitCli(['--git-dir', project.remote, 'log', '-1', '--format=%P%n%s', 'refs/heads/apart/topic']).trim().split('\n');
    expect(together).toEqual([`${at} ${p.headCommit}`, `Merge ${p.branch} into apart/topic`]);
    expect([showFile(project.remote, 'apart/topic', 'mine.txt'), showFile(project.remote, 'apart/topic', 'theirs.txt')]).toEqual(['mine\n', 'theirs\n']);
    expect(gitCli(['branch', '--show-current'], theirs).trim()).toBe('apart');
    expect(readFileSync(join(theirs, 'theirs.txt'), 'utf8')).toBe('theirs, being edited\n');
    expect(gitCli(['worktree', 'list', '--porcelain'], theirs).split('\n').filter((l) => l.startsWith('worktree '))).toHaveLength(1);
    // Pushed to while its task ran: it moved.
    const busy = await response('pw-apart-busy');
    expect(busy.body).toContain(`apart/busy had moved on the remote since the task started, so the results went beside it, to ${(busy.data.project as ProjectReport).branch}.`);
    expect(busy.body).not.toContain('did not build on');
  }, 120_000);

  it('a second task on the same branch continues it on the same node, and a merge left half done is never committed', async () => {
    pushHandoffs(person, bus.remote, [{ id: 'pw-first', frontmatter: { to: 'w1', repo: 'proj', branch: 'topic/shared', command: 'echo first > first.txt' } }]);
    expect(await watchOnceRan(bus.home('w1'))).toEqual([expect.objectContaining({ id: 'pw-first', status: 'succeeded' })]);
    // The first task's worktree still holds topic/shared on w1: the second works beside it and continues the branch.
    pushHandoffs(person, bus.remote, [{ id: 'pw-second', frontmatter: { to: 'w1', repo: 'proj', branch: 'topic/shared', command: 'test -f first.txt && echo second > second.txt' } }]);
    expect(await watchOnceRan(bus.home('w1'))).toEqual([expect.objectContaining({ id: 'pw-second', status: 'succeeded' })]);
    expect(branchFiles(project.remote, 'topic/shared')).toEqual(expect.arrayContaining(['first.txt', 'second.txt']));
    expect(((await response('pw-second')).data.project as ProjectReport).branch).toBe('topic/shared');

    // A run that stops in the middle of a conflicting merge: its markers must not reach the branch.
    const conflicting = 'git -c user.name=t -c user.email=t@x checkout -q -b side && echo side > app.txt && git -c user.name=t -c user.email=t@x commit -qam side && git checkout -q - && echo mine > app.txt && git -c user.name=t -c user.email=t@x commit -qam mine && git -c user.name=t -c user.email=t@x merge side; exit 0';
    pushHandoffs(person, bus.remote, [{ id: 'pw-midmerge', frontmatter: { to: 'w2', repo: 'proj', command: conflicting } }]);
    expect(await watchOnceRan(bus.home('w2'))).toEqual([expect.objectContaining({ id: 'pw-midmerge' })]);
    const r = await response('pw-midmerge');
    expect(r.body).toContain('a merge was left unresolved, so nothing was committed');
    expect(showFile(project.remote, 'gitbus/pw-midmerge', 'app.txt')).toBe('mine\n');
  }, 120_000);

  it('doctor checks each project of node.yaml: its remote answers with this node\'s credentials, its checkout exists', async () => {
    const home = await bus.addNode('doc', [], ['--runner', 'shell']);
    editNode(home, (c) => ({ ...c, projects: { good: { url: project.remote, checkout: project.checkout }, gone: { url: join(bus.dir, 'nowhere.git') }, nocheckout: { url: project.remote, checkout: join(bus.dir, 'no-such-dir') } } }));
    const r = await gitbus(['doctor', '--json'], { home });
    const checks = json<{ checks: { name: string; status: string; detail: string; fix: string | null }[] }>(r).checks;
    const byName = (n: string) => checks.find((c) => c.name === n);
    expect(byName('project.good')).toMatchObject({ status: 'ok', detail: expect.stringContaining('answers (') });
    expect(byName('project.gone')).toMatchObject({ status: 'fail', fix: expect.stringContaining(`git ls-remote ${join(bus.dir, 'nowhere.git')}`) });
    expect(byName('project.nocheckout')).toMatchObject({ status: 'warn', detail: expect.stringContaining('does not exist') });
  }, 60_000);

  it('a merge task keeps the password of its node.yaml project URL out of the task log, also while it waits for the remote', async () => {
    const home = await bus.addNode('mrg', [], ['--runner', 'merge']);
    // Port 9 (discard) on loopback: nothing answers, so each fetch fails at once (an outage: the watcher fetches
    // again, a line in the log each time, until the lease is over), after the log named the URL.
    editNode(home, (c) => ({ ...c, projects: { locked: { url: 'http://someone:s3cret-token@127.0.0.1:9/p.git' } } }));
    pushHandoffs(person, bus.remote, [{ id: 'pw-mergesecret', frontmatter: { to: 'mrg', runner: 'merge', repo: 'locked', base: 'main', merge: ['feat/a'] } }]);
    const w = startWatcher(home, ['--poll', '1s', '--retry', '1s', '--retry-max', '1s', '--grace', '1s'], children);
    try {
      const path = join(home, 'logs', 'pw-mergesecret.1.log');
      await until('two fetches that found the remote out of reach', () => existsSync(path) && readFileSync(path, 'utf8').split('cannot be reached').length > 2, 60_000, w.stderr);
      const log = readFileSync(path, 'utf8');
      expect(log).toContain('gitbus: fetching http://***@127.0.0.1:9/p.git');
      expect(log).toContain('gitbus: the project remote http://***@127.0.0.1:9/p.git cannot be reached (');
      expect(log).not.toContain('s3cret-token');
    } finally {
      w.child.kill('SIGTERM');
      await w.exited;
    }
  }, 90_000);

  it('a node that joins after the task was dispatched to it fetches the project, runs it and pushes the branch', async () => {
    pushHandoffs(person, bus.remote, [{ id: 'pw-late', frontmatter: { to: 'gpu', repo: project.remote, base: 'main', command: 'echo validated > gpu.txt' } }]);
    const gpu = await bus.addNode('gpu', ['cuda'], ['--runner', 'shell']);
    const ran = await watchOnceRan(gpu);
    expect(ran).toEqual([expect.objectContaining({ id: 'pw-late', status: 'succeeded' })]);
    expect(showFile(project.remote, 'gitbus/pw-late', 'gpu.txt')).toBe('validated\n');
    expect(readFileSync(join(gpu, 'worktrees', 'pw-late.json'), 'utf8')).toContain('"pushedCommit"');
  }, 90_000);
});
