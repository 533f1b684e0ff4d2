import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeConfig } from '../../bus/home.js';
import { handoffSchema } from '../../schemas/handoff.js';
import { finishWorktree } from '../../watcher/workspace/results.js';
import { runStart } from '../../watcher/workspace/left-work.js';
import { pushResult } from '../../watcher/workspace/push.js';
import { projectFields, responseBody } from '../../bus/ops/respond.js';
import { branchWarningsOfBody } from '../../bus/ops/branch-remote.js';
import { projectEndWarnings } from '../../bus/project/push-state.js';
import { prepareWorktree, type PreparedWorkspace } from '../../watcher/workspace/worktree.js';
import { listMovedAside, worktreeGitFacts } from '../../watcher/workspace/inventory.js';
import { pruneBlockers } from '../../watcher/workspace/prune-rules.js';
import { gitCli, tempDir } from '../helpers/cli.js';
import { makeProject } from '../helpers/project.js';

/**
 * The worker's git steps for a project task, in-process on real repositories: the fewer-processes paths of
 * watcher/workspace/ (worktree prune only when an add fails; no status pass before committing; the facts read at
 * once, the shortstat taken from the stat) give the same results as the long way round.
 */
let dir: Awaited<ReturnType<typeof tempDir>>;
let project: ReturnType<typeof makeProject>;
let home: string;
const config: NodeConfig = { node: 'wsnode', remote: '/nonexistent-bus.git', labels: [], runners: ['shell'], parallel: 1 };

/** Where each prepared worktree's run starts, taken as the watcher takes it once the worktree is ready. */
const starts = new WeakMap<PreparedWorkspace, Awaited<ReturnType<typeof runStart>>>();

async function prepare(id: string, extra: Record<string, unknown> = {}): Promise<PreparedWorkspace> {
  const handoff = handoffSchema.parse({ id, title: `task ${id}`, repo: project.remote, base: 'main', baseCommit: project.main(), ...extra });
  const ws = await prepareWorktree({ home, config, id, attempt: 1, handoff, slot: 0 });
  starts.set(ws, await runStart(ws.record.path));
  return ws;
}

function finish(ws: PreparedWorkspace, id: string, autoCommit?: boolean) {
  return finishWorktree({ ws, id, attempt: 1, node: config.node, title: `task ${id}`, status: 'succeeded', autoCommit, start: starts.get(ws) ?? { problem: 'not prepared here' } });
}

const commitIn = (cwd: string, msg: string) => gitCli(['-c', 'user.name=t', '-c', 'user.email=t@x.invalid', 'commit', '-qam', msg], cwd);

beforeAll(async () => {
  dir = await tempDir('gitbus-workspace-');
  project = makeProject(dir.path);
  home = join(dir.path, 'home');
});

afterAll(async () => {
  await dir?.cleanup();
});

describe('project workspace steps', () => {
  it('count every commit and changed file of the run, past the 60 files the stat lists, and commit what was left without the included files', async () => {
    const ws = await prepare('ws-many');
    writeFileSync(join(ws.cwd, 'app.txt'), 'changed\n');
    commitIn(ws.cwd, 'first by the run');
    writeFileSync(join(ws.cwd, 'README.md'), 'changed too\n');
    commitIn(ws.cwd, 'second by the run');
    mkdirSync(join(ws.cwd, 'many'));
    for (let i = 0; i < 70; i++) writeFileSync(join(ws.cwd, 'many', `f${i}.txt`), `${i}\n`);
    // A file the node copied in (include): never committed.
    writeFileSync(join(ws.cwd, 'copied.txt'), 'from the checkout\n');
    ws.record.included = ['copied.txt'];
    const f = await finish(ws, 'ws-many');
    expect(f.report).toMatchObject({ commits: 3, files: 72, insertions: 72, deletions: 4, subjects: ['task ws-many', 'second by the run', 'first by the run'] });
    expect(f.stat).toContain('...');
    expect(f.stat.split('\n').pop()).toMatch(/72 files changed, 72 insertions\(\+\), 4 deletions\(-\)/);
    expect(f.report.headCommit).toBe(gitCli(['rev-parse', 'HEAD'], ws.cwd).trim());
    expect(gitCli(['status', '--porcelain'], ws.cwd).trim()).toBe('?? copied.txt');
  });

  it('a run that left nothing commits nothing, and with autoCommit off what it left is counted, not committed', async () => {
    const clean = await prepare('ws-clean');
    const c = await finish(clean, 'ws-clean');
    expect(c.report).toMatchObject({ commits: 0, files: 0, insertions: 0, deletions: 0, headCommit: project.main() });
    expect(c.report.subjects).toBeUndefined();

    const off = await prepare('ws-off');
    writeFileSync(join(off.cwd, 'app.txt'), 'left\n');
    writeFileSync(join(off.cwd, 'new.txt'), 'left\n');
    const o = await finish(off, 'ws-off', false);
    expect(o.uncommitted).toBe(2);
    expect(o.report).toMatchObject({ commits: 0, headCommit: project.main() });
  });

  it('a run of more commits than the response lists is counted whole, with the newest 50 subjects', async () => {
    const ws = await prepare('ws-long');
    execFileSync('sh', ['-c', 'for i in $(seq 1 55); do git -c user.name=t -c user.email=t@x.invalid commit -q --allow-empty -m "commit $i"; done'], { cwd: ws.cwd });
    const f = await finish(ws, 'ws-long');
    expect(f.report.commits).toBe(55);
    expect(f.report.subjects).toHaveLength(50);
    expect(f.report.subjects?.[0]).toBe('commit 55');
    expect(f.report.subjects?.[49]).toBe('commit 6');
    expect(f.report.headCommit).toBe(gitCli(['rev-parse', 'HEAD'], ws.cwd).trim());
  });

  it('a task on a branch the remote already has ahead of the base continues that branch; one whose base is gone fails', async () => {
    const first = await prepare('ws-first', { branch: 'feature/cont' });
    writeFileSync(join(first.cwd, 'first.txt'), 'first\n');
    const f = await finish(first, 'ws-first');
    expect((await pushResult(f.push)).kind).toBe('pushed');
    gitCli(['--git-dir', first.cache.gitDir, 'worktree', 'remove', '--force', first.record.path]);
    const second = await prepare('ws-second', { branch: 'feature/cont' });
    expect(gitCli(['rev-parse', 'HEAD'], second.cwd).trim()).toBe(f.report.headCommit);
    expect(second.record.baseCommit).toBe(project.main());
    await expect(prepare('ws-nobase', { baseCommit: 'f'.repeat(40) })).rejects.toThrow(/is not on the project remote/);
  });

  it('a base tag the remote lacks fails at once under git protocol v0 too, where git adds "the remote end hung up" to "couldn\'t find remote ref"', async () => {
    // Protocol v0 is what a plain sshd (no GIT_PROTOCOL passed on) speaks; here through git's own config variables,
    // which every git the worker runs reads.
    const saved = { count: process.env['GIT_CONFIG_COUNT'], key: process.env['GIT_CONFIG_KEY_0'], value: process.env['GIT_CONFIG_VALUE_0'] };
    Object.assign(process.env, { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'protocol.version', GIT_CONFIG_VALUE_0: '0' });
    try {
      const handoff = handoffSchema.parse({ id: 'ws-notag', title: 'task ws-notag', repo: project.remote, base: 'no-such-tag' });
      // An outage would be fetched again for the whole hold (a minute here) before failing: a refusal fails at once.
      const started = Date.now();
      const fetchWait = { policy: { firstMs: 1_000, maxMs: 1_000 }, holdMs: 60_000 };
      await expect(prepareWorktree({ home, config, id: 'ws-notag', attempt: 1, handoff, slot: 0, fetchWait })).rejects.toMatchObject({ code: 'BASE_MISSING', message: expect.stringContaining('base "no-such-tag" is not on the project remote') });
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      for (const [k, v] of [['GIT_CONFIG_COUNT', saved.count], ['GIT_CONFIG_KEY_0', saved.key], ['GIT_CONFIG_VALUE_0', saved.value]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }, 90_000);

  it('a worktree folder removed by hand is made again at the same path, on its branch at what reached the remote', async () => {
    const ws = await prepare('ws-gone');
    writeFileSync(join(ws.cwd, 'work.txt'), 'work\n');
    const f = await finish(ws, 'ws-gone');
    expect(await pushResult(f.push)).toEqual({ kind: 'pushed', branch: 'gitbus/ws-gone' });
    // Removed by hand: git still has it registered (prunable), holding its path and its branch.
    rmSync(ws.record.path, { recursive: true, force: true });
    const again = await prepare('ws-gone-resume', { resumes: 'ws-gone' });
    expect(again.record.path).toBe(ws.record.path);
    expect(again.created).toBe(true);
    expect(existsSync(join(again.cwd, 'work.txt'))).toBe(true);
    expect(gitCli(['rev-parse', '--abbrev-ref', 'HEAD'], again.cwd).trim()).toBe('gitbus/ws-gone');
    expect(gitCli(['rev-parse', 'HEAD'], again.cwd).trim()).toBe(f.report.headCommit);
  });
  it("a run that removes its worktree's .git, in a home inside another repository, fails with where its files are and commits nothing to that repository", async () => {
    // A dotfiles repository around the node's home, as a person's $HOME with ~/.gitbus in it.
    const dotfiles = join(dir.path, 'dotfiles');
    mkdirSync(dotfiles);
    gitCli(['init', '-q', dotfiles]);
    writeFileSync(join(dotfiles, '.bashrc'), 'alias x=y\n');
    gitCli(['add', '.'], dotfiles);
    gitCli(['-c', 'user.name=t', '-c', 'user.email=t@x.invalid', 'commit', '-qm', 'dotfiles'], dotfiles);
    const before = gitCli(['rev-parse', 'HEAD'], dotfiles).trim();
    const nested = join(dotfiles, '.gitbus');
    const handoff = handoffSchema.parse({ id: 'ws-nogit', title: 'task ws-nogit', repo: project.remote, base: 'main', baseCommit: project.main() });
    const ws = await prepareWorktree({ home: nested, config, id: 'ws-nogit', attempt: 1, handoff, slot: 0 });
    writeFileSync(join(ws.cwd, 'work.txt'), 'work\n');
    rmSync(join(ws.cwd, '.git'), { recursive: true, force: true });
    await expect(finish(ws, 'ws-nogit')).rejects.toMatchObject({
      code: 'WORKTREE_LOST',
      message: expect.stringContaining(`the run removed its worktree's .git: its work cannot be committed; the files stay in ${ws.record.path}`),
    });
    expect(gitCli(['rev-parse', 'HEAD'], dotfiles).trim()).toBe(before);
    expect(gitCli(['diff', '--cached', '--name-only'], dotfiles).trim()).toBe('');
    expect(existsSync(join(ws.cwd, 'work.txt'))).toBe(true);
    // `gitbus worktrees` says so, and prune keeps it with the way out, never a git command that would read the dotfiles.
    const facts = await worktreeGitFacts(ws.record);
    expect(facts).toMatchObject({ exists: false, uncommitted: null, lost: expect.stringContaining("removed its worktree's .git") });
    const blockers = pruneBlockers({ record: ws.record, git: facts, tasks: [], resumers: [], pendingPush: false, running: new Set() });
    expect(blockers).toEqual([expect.objectContaining({ overridable: false, fix: expect.stringContaining('copy what you need out of') })]);
  });
  it("a task that rewires the node's clone of the project (a pushurl, a hooks folder, an insteadOf) changes nowhere a later task's branch goes, and no hook runs in gitbus's own git", async () => {
    const other = join(dir.path, 'other.git');
    gitCli(['init', '-q', '--bare', other]);
    const hooks = join(dir.path, 'planted-hooks');
    mkdirSync(hooks);
    const ran = join(dir.path, 'hooks-ran');
    for (const name of ['post-checkout', 'pre-push', 'post-commit', 'pre-commit', 'reference-transaction', 'post-rewrite']) {
      writeFileSync(join(hooks, name), `#!/bin/sh\necho ${name} >> '${ran}'\n`, { mode: 0o755 });
    }
    const rewiring = await prepare('ws-rewire');
    // What a task may run in its worktree: each writes the config every worktree of the clone shares.
    gitCli(['config', 'remote.origin.pushurl', other], rewiring.cwd);
    gitCli(['config', 'core.hooksPath', hooks], rewiring.cwd);
    const gitDir = rewiring.cache.gitDir;
    try {
      const next = await prepare('ws-after-rewire');
      writeFileSync(join(next.cwd, 'after.txt'), 'after\n');
      const f = await finish(next, 'ws-after-rewire');
      expect(await pushResult(f.push)).toEqual({ kind: 'pushed', branch: 'gitbus/ws-after-rewire' });
      expect(gitCli(['--git-dir', project.remote, 'rev-parse', 'refs/heads/gitbus/ws-after-rewire']).trim()).toBe(f.report.headCommit);
      expect(gitCli(['--git-dir', other, 'for-each-ref']).trim()).toBe('');
      expect(existsSync(ran)).toBe(false);
      // A URL rewrite in the shared config is refused, for fetches and pushes, with the command that removes it.
      gitCli(['config', `url.${other}.pushInsteadOf`, project.remote], rewiring.cwd);
      const refused = await pushResult({ ...f.push, branch: 'gitbus/ws-after-rewire-2' });
      expect(refused).toMatchObject({ kind: 'refused', reason: expect.stringContaining(`config --local --unset-all url.${other}.pushinsteadof`) });
      await expect(prepare('ws-after-insteadof')).rejects.toMatchObject({ code: 'PROJECT_CLONE_CONFIG' });
      gitCli(['--git-dir', gitDir, 'config', '--remove-section', `url.${other}`]);
      // So is a remote named by a URL: git reads its pushurl for a push to that URL.
      gitCli(['config', `remote.file://${project.remote}.pushurl`, other], rewiring.cwd);
      expect(await pushResult({ ...f.push, url: `file://${project.remote}`, branch: 'gitbus/ws-after-rewire-3' })).toMatchObject({ kind: 'refused', reason: expect.stringContaining(`remote.file://${project.remote}.pushurl`) });
      gitCli(['--git-dir', gitDir, 'config', '--remove-section', `remote.file://${project.remote}`]);
      // Read as git reads it: a rewrite in the clone's worktree config, or two section headers on one line, and a
      // command the index runs (fsmonitor).
      gitCli(['--git-dir', gitDir, 'config', 'extensions.worktreeConfig', 'true']);
      gitCli(['--git-dir', gitDir, 'config', '--worktree', `url.${other}.insteadOf`, project.remote]);
      await expect(prepare('ws-after-worktree-config')).rejects.toMatchObject({ code: 'PROJECT_CLONE_CONFIG', message: expect.stringContaining('in its worktree config') });
      gitCli(['--git-dir', gitDir, 'config', '--worktree', '--remove-section', `url.${other}`]);
      gitCli(['--git-dir', gitDir, 'config', '--unset', 'extensions.worktreeConfig']);
      const config = readFileSync(join(gitDir, 'config'), 'utf8');
      appendFileSync(join(gitDir, 'config'), `[gc][url "${other}"]\n\tinsteadOf = ${project.remote}\n`);
      await expect(prepare('ws-after-two-headers')).rejects.toMatchObject({ code: 'PROJECT_CLONE_CONFIG' });
      writeFileSync(join(gitDir, 'config'), config);
      gitCli(['config', 'core.fsmonitor', join(hooks, 'post-checkout')], rewiring.cwd);
      await expect(prepare('ws-after-fsmonitor')).rejects.toMatchObject({ code: 'PROJECT_CLONE_CONFIG', message: expect.stringContaining('core.fsmonitor') });
      gitCli(['--git-dir', gitDir, 'config', '--unset', 'core.fsmonitor']);
      // A remote of the task's own (git remote add upstream, gh repo fork) and a commit identity change nothing
      // gitbus does: later tasks go on.
      gitCli(['remote', 'add', 'upstream', other], rewiring.cwd);
      gitCli(['config', 'user.email', 'agent@example.invalid'], rewiring.cwd);
      const later = await prepare('ws-after-upstream');
      writeFileSync(join(later.cwd, 'later.txt'), 'later\n');
      const g = await finish(later, 'ws-after-upstream');
      expect(await pushResult(g.push)).toEqual({ kind: 'pushed', branch: 'gitbus/ws-after-upstream' });
      expect(gitCli(['--git-dir', other, 'for-each-ref']).trim()).toBe('');
    } finally {
      // Put back for the other tests of this file, whichever step failed: a setting already gone is no failure.
      for (const args of [['--unset', 'remote.origin.pushurl'], ['--unset', 'core.hooksPath'], ['--remove-section', `url.${other}`], ['--remove-section', `remote.file://${project.remote}`], ['--unset', 'extensions.worktreeConfig'], ['--unset', 'core.fsmonitor'], ['--remove-section', 'remote.upstream'], ['--unset', 'user.email']]) {
        spawnSync('git', ['--git-dir', gitDir, 'config', ...args], { stdio: 'ignore' });
      }
    }
  });
  it('a folder in the way of a new worktree, without a record, is moved aside as it was, said in the task\'s log, and listed by "gitbus worktrees"', async () => {
    const path = join(home, 'worktrees', 'ws-inway');
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'left.txt'), 'left by a crash\n');
    const notes: string[] = [];
    const handoff = handoffSchema.parse({ id: 'ws-inway', title: 'task ws-inway', repo: project.remote, base: 'main', baseCommit: project.main() });
    const ws = await prepareWorktree({ home, config, id: 'ws-inway', attempt: 1, handoff, slot: 0, note: (line) => notes.push(line) });
    expect(ws.record.path).toBe(path);
    const aside = listMovedAside(home).filter((m) => m.path.startsWith(`${path}.orphan-`));
    expect(aside).toHaveLength(1);
    expect(readdirSync(aside[0]?.path ?? '')).toEqual(['left.txt']);
    expect(notes).toEqual([expect.stringContaining(`${path} was in the way without a record of this node`)]);
    expect(notes[0]).toContain(`moved aside to ${aside[0]?.path ?? ''}`);
  });
  it('copies the checkout\'s included files only to real paths of the worktree: never through a symbolic link of the branch, and never into a commit', async () => {
    // The node's checkout: ignored files a task may need, one of them a secret.
    appendFileSync(join(project.checkout, '.git', 'info', 'exclude'), '*.local\n');
    mkdirSync(join(project.checkout, 'config'), { recursive: true });
    mkdirSync(join(project.checkout, 'out'), { recursive: true });
    for (const f of ['config/secret.local', 'out/secret.local', 'dangling.local', 'plain.local']) writeFileSync(join(project.checkout, f), 'API_KEY=SUPERSECRET\n');
    // A branch someone pushed to the project: `config` leads to a tracked folder, `out` out of the worktree, and
    // `dangling.local` to a file that is not there yet.
    const outside = join(dir.path, 'outside');
    mkdirSync(outside);
    const evil = join(dir.path, 'evil-clone');
    gitCli(['clone', '-q', project.remote, evil]);
    mkdirSync(join(evil, 'leak'));
    writeFileSync(join(evil, 'leak', '.keep'), '');
    symlinkSync('leak', join(evil, 'config'));
    symlinkSync(outside, join(evil, 'out'));
    symlinkSync('leak/planted', join(evil, 'dangling.local'));
    gitCli(['add', '-A'], evil);
    gitCli(['-c', 'user.name=t', '-c', 'user.email=t@x.invalid', 'commit', '-qm', 'links'], evil);
    gitCli(['push', '-q', 'origin', 'HEAD:refs/heads/evil'], evil);
    const evilSha = gitCli(['rev-parse', 'HEAD'], evil).trim();

    const withInclude: NodeConfig = { ...config, projects: { proj: { url: project.remote, checkout: project.checkout, include: ['*.local'] } } };
    const handoff = handoffSchema.parse({ id: 'ws-links', title: 'task ws-links', repo: project.remote, baseCommit: evilSha });
    const ws = await prepareWorktree({ home, config: withInclude, id: 'ws-links', attempt: 1, handoff, slot: 0 });
    expect(ws.record.included).toEqual(['plain.local']);
    expect(ws.skippedIncludes.sort()).toEqual([
      'config/secret.local: config is a symbolic link in the worktree',
      'dangling.local: dangling.local is a symbolic link in the worktree',
      'out/secret.local: out is a symbolic link in the worktree',
    ]);
    expect(readdirSync(join(ws.cwd, 'leak'))).toEqual(['.keep']);
    expect(readdirSync(outside)).toEqual([]);

    const f = await finish(ws, 'ws-links');
    expect((await pushResult(f.push)).kind).toBe('pushed');
    const files = gitCli(['--git-dir', project.remote, 'ls-tree', '-r', '--name-only', 'refs/heads/gitbus/ws-links']);
    expect(files).not.toMatch(/secret|plain\.local|planted/);
    expect(gitCli(['status', '--porcelain'], ws.cwd).trim()).toBe('?? plain.local');
  });
  it('a branch that clashes with another as name and folder (feat and feat/sub) fails with a clear error, on the node and at the remote', async () => {
    const first = await prepare('ws-feat', { branch: 'feat' });
    writeFileSync(join(first.cwd, 'feat.txt'), 'feat\n');
    const f = await finish(first, 'ws-feat');
    expect((await pushResult(f.push)).kind).toBe('pushed');
    await expect(prepare('ws-feat-sub', { branch: 'feat/sub' })).rejects.toThrow(/the branch feat\/sub cannot be made in this node's clone of .*: it has a branch feat, and git cannot have a branch both as a name and as a folder of branches/);
    const pushed = await pushResult({ ...f.push, branch: 'feat/other' });
    expect(pushed).toMatchObject({ kind: 'refused', reason: expect.stringContaining('cannot take feat/other: it has a branch feat, and git cannot have a branch both as a name and as a folder') });
  });

  it("a push the remote refuses names the node's remote without the credentials in its URL, in the reason and in the response's report", async () => {
    const ws = await prepare('ws-refused-secret');
    writeFileSync(join(ws.cwd, 'app.txt'), 'refused\n');
    const f = await finish(ws, 'ws-refused-secret');
    // The remote refuses every push (a pre-receive hook), as a host closed for pushes does.
    const hook = join(project.remote, 'hooks', 'pre-receive');
    writeFileSync(hook, '#!/bin/sh\necho "pushes are closed" >&2\nexit 1\n', { mode: 0o755 });
    // The push goes to the URL it is given (never the clone's origin), its credential out of the command line (in
    // git's environment instead: cache.ts remoteEnv): the node's own git configuration leads that URL to the project
    // remote, as a person's insteadOf would (theirs wins over gitbus's rewrite of the same URL).
    const urls = ['https://bob:s3cretPass@git.example.com/org/app.git', 'https://ghp_s3cretT0ken@git.example.com/org/app.git'];
    const globalConfig = join(dir.path, 'gitconfig-insteadof');
    writeFileSync(globalConfig, `[url "${project.remote}"]\n\tinsteadOf = https://git.example.com/org/app.git\n`);
    const before = process.env['GIT_CONFIG_GLOBAL'];
    process.env['GIT_CONFIG_GLOBAL'] = globalConfig;
    try {
      for (const url of urls) {
        const r = await pushResult({ ...f.push, url });
        expect(r).toMatchObject({ kind: 'refused', reason: expect.stringContaining('the project remote https://git.example.com/org/app.git refused the push') });
        // What the response records (bus/ops/respond.ts): the reason, and a pushError written with a URL in it.
        const report = projectFields({ ...f.report, pushed: false, pushError: r.kind === 'refused' ? `${r.reason} (pushing to ${url})` : '' });
        expect(JSON.stringify([r, report])).not.toContain('s3cret');
      }
    } finally {
      if (before === undefined) delete process.env['GIT_CONFIG_GLOBAL'];
      else process.env['GIT_CONFIG_GLOBAL'] = before;
      rmSync(hook);
    }
  });

  it('a result that does not contain its base (the run reset its branch past it) is said so in the response, by show and by a waiting command, never counted as commits over it', async () => {
    // main gets a second commit, so that the run can reset below its base.
    writeFileSync(join(project.checkout, 'app.txt'), 'line 1\nline 2\nline 3\nline 4\n');
    commitIn(project.checkout, 'second on main');
    gitCli(['push', '-q', 'origin', 'main'], project.checkout);
    const ws = await prepare('ws-rewound');
    execFileSync('sh', ['-c', 'git reset -q --hard HEAD~1 && echo x > x.txt && git add x.txt && git -c user.name=t -c user.email=t@x.invalid commit -qm rewound'], { cwd: ws.cwd });
    const f = await finish(ws, 'ws-rewound');
    expect(f.baseMissing).toBe(true);
    expect(f.warnings).toEqual([expect.stringContaining(`does not contain the task's base ${project.main().slice(0, 12)}: the run moved it off the base`)]);
    expect(f.warnings[0]).toContain(`log --oneline ${f.report.headCommit.slice(0, 12)}..${project.main().slice(0, 12)}`);
    const body = responseBody({ id: 'ws-rewound', project: { ...f.report, pushed: true }, projectStat: f.stat, baseMissing: f.baseMissing, projectWarnings: f.warnings });
    expect(body).toContain(`, which does not contain its base ${project.main().slice(0, 12)}: 1 commit not in ${project.main().slice(0, 12)}`);
    expect(body).not.toContain('commit over');
    // Read back from the body, as show and dispatch --wait do: the report's fields are fixed within a protocol version.
    expect(branchWarningsOfBody(body)).toEqual(f.warnings);
    expect(projectEndWarnings('ws-rewound', f.report.branch, { ...f.report, pushed: true }, branchWarningsOfBody(body))).toEqual([`ws-rewound's branch ${f.report.branch}: ${f.warnings[0] ?? ''}`]);
    // A result that builds on its base warns of nothing.
    const plain = await prepare('ws-not-rewound');
    writeFileSync(join(plain.cwd, 'y.txt'), 'y\n');
    const p = await finish(plain, 'ws-not-rewound');
    expect(p).toMatchObject({ baseMissing: false, warnings: [] });
    expect(branchWarningsOfBody(responseBody({ project: { ...p.report, pushed: true }, projectStat: p.stat }))).toEqual([]);
  });
});
