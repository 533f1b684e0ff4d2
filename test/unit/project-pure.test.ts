import { describe, it, expect } from 'vitest';
import { branchViolation, defaultBranch } from '../../schemas/project.js';
import { projectReportSchema } from '../../schemas/project-schema.js';
import { branchSection, projectFields, reasonText, responseBody } from '../../bus/ops/respond.js';
import { cancelCounts } from '../../cli/commands/cancel.js';
import { handoffSchema } from '../../schemas/handoff.js';
import { handoffRules } from '../../schemas/handoff-fields.js';
import { cacheName, fillEnv, resolveProject, sameRemote } from '../../watcher/workspace/project-config.js';
import { globRegExp, parseIncludeFile } from '../../watcher/workspace/include.js';
import { apartOf, isMoved, lastPushedOf, movedBranch, notFastForwardCause, refusalText } from '../../watcher/workspace/push.js';
import { parseShortstat } from '../../watcher/workspace/results.js';
import { gitReason, lastLines, outageOf } from '../../bus/project/git.js';

describe('project fields', () => {
  it('accepts branch names git accepts and refuses the rest with the reason', () => {
    for (const ok of ['gitbus/20261130-x', 'feature/a.b', 'conv-system/integration', 'a']) expect(branchViolation(ok)).toBeUndefined();
    for (const bad of ['-x', 'a..b', 'a b', 'a/', '/a', 'a//b', '.a', 'a/.b', 'a.lock', 'a@{1}', 'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[', 'a\\b', 'HEAD', '@', 'a.'])
      expect(branchViolation(bad)?.reason, bad).toContain('is not a branch name git accepts');
  });

  it('refuses names git takes as a branch but reads as something else: a full ref, a remote-tracking name, a whole commit id', () => {
    const sha1 = 'a'.repeat(40);
    const cases: [string, string][] = [
      ['refs/heads/main', '"main", not "refs/heads/main"'],
      ['refs/x', 'short name'],
      ['origin/main', '"main", not "origin/main"'],
      [sha1, 'give it as the base'],
      ['b'.repeat(64), 'give it as the base'],
    ];
    for (const [bad, fix] of cases) {
      const v = branchViolation(bad);
      expect(v?.reason, bad).toContain('is not taken as a branch name');
      expect(v?.fix, bad).toContain(fix);
      const parsed = handoffSchema.safeParse({ title: 't', repo: '/srv/p.git', branch: bad });
      expect(parsed.success, bad).toBe(false);
      expect(parsed.error?.issues[0]?.path, bad).toEqual(['branch']);
    }
    // Near misses stay branches: a part named like them further in, a short hex word, HEAD as a folder (git takes it).
    for (const ok of ['feature/refs/x', 'my-origin/main', 'originals/x', 'a'.repeat(39), 'HEAD/x', 'fix/' + sha1]) expect(branchViolation(ok), ok).toBeUndefined();
  });

  it('reserves gitbus/ for result branches gitbus/<task id>: "gitbus" itself, or deeper, would block them', () => {
    for (const ok of ['gitbus/20261130-x', 'gitbus/base-0123456789ab', 'gitbus/t1-moved-0123abcd', 'gitbusy', 'x/gitbus', 'feature/gitbus/a']) expect(branchViolation(ok), ok).toBeUndefined();
    for (const bad of ['gitbus', 'GitBus', 'gitbus/a/b', 'gitbus/A', 'GITBUS/x', 'gitbus/a.b']) {
      expect(branchViolation(bad)?.reason, bad).toContain('is in the gitbus/ namespace');
      expect(handoffSchema.safeParse({ title: 't', repo: '/srv/p.git', branch: bad }).success, bad).toBe(false);
    }
  });

  it('refuses repos git would read as an option or as a command transport', () => {
    const repo = (r: string) => handoffSchema.safeParse({ title: 't', repo: r }).success;
    expect(repo('git@github.com:o/r.git')).toBe(true);
    expect(repo('/srv/proj.git')).toBe(true);
    expect(repo('https://example.com/p.git')).toBe(true);
    expect(repo('--upload-pack=touch /tmp/x')).toBe(false);
    expect(repo('ext::sh -c touch% /tmp/pwned')).toBe(false);
    expect(repo('FD::3')).toBe(false);
    // A password or token in a URL would be published to every node: the handoff is invalid, and says so without it.
    expect(repo('https://bot@example.com/p.git')).toBe(true);
    expect(repo('ssh://git@example.com/p.git')).toBe(true);
    const withToken = handoffSchema.safeParse({ title: 't', repo: 'http://alice:s3cretTOKEN@127.0.0.1/app.git' });
    expect(withToken.success).toBe(false);
    expect(JSON.stringify(withToken.error?.issues)).toContain('carries a password or token');
    expect(JSON.stringify(withToken.error?.issues)).not.toContain('s3cretTOKEN');
    expect(handoffSchema.safeParse({ title: 't', repo: 'p', base: '--orphan' }).success).toBe(false);
    expect(handoffSchema.safeParse({ title: 't', repo: 'p', baseCommit: 'abc' }).success).toBe(false);
  });

  it('a response publishes no URL password: not in its reason, summary, output or push error', () => {
    const url = 'https://alice:s3cret@host.example/x.git';
    expect(reasonText(`the project remote ${url} refused the push`)).toBe('the project remote https://***@host.example/x.git refused the push');
    const report = { repo: 'p', branch: 'b', baseCommit: 'a'.repeat(40), headCommit: 'b'.repeat(40), pushed: false, pushError: `could not push to ${url}` };
    const body = responseBody({ summary: `cloned ${url}`, output: `origin\t${url} (fetch)\n`, project: report });
    expect(body).not.toContain('s3cret');
    expect(body).toContain('https://***@host.example/x.git');
  });

  it('needs a repo for project fields, and branches to merge for the merge runner', () => {
    const fields = (h: Record<string, unknown>) => handoffRules(handoffSchema.parse({ title: 't', ...h })).map((v) => v.field);
    expect(fields({ branch: 'x' })).toEqual(['branch']);
    expect(fields({ runner: 'merge' })).toEqual(expect.arrayContaining(['repo', 'merge']));
    expect(fields({ runner: 'merge', repo: 'p', merge: ['a/b'] })).toEqual([]);
    expect(fields({ repo: 'p', workstream: 'ws' })).toEqual(['workstream']);
    expect(defaultBranch('t1')).toBe('gitbus/t1');
  });

  it('the response report keeps subjects to one line each and at most fifty', () => {
    const base = { repo: 'p', branch: 'b', baseCommit: 'a'.repeat(40), headCommit: 'b'.repeat(40), pushed: true };
    expect(projectReportSchema.safeParse({ ...base, subjects: ['one\ntwo'] }).success).toBe(false);
    expect(projectReportSchema.safeParse({ ...base, subjects: Array.from({ length: 51 }, () => 's') }).success).toBe(false);
    expect(projectReportSchema.safeParse({ ...base, subjects: ['fine'] }).success).toBe(true);
  });
});

describe('project settings on a node', () => {
  const config = { projects: { app: { url: 'git@host:o/app.git', setup: 'npm ci' } } };
  it('maps a short name or the same URL to the node.yaml entry, and refuses a bare relative path', () => {
    expect(resolveProject(config, 'app')).toMatchObject({ url: 'git@host:o/app.git', name: 'app' });
    expect(resolveProject(config, 'git@host:o/app')).toMatchObject({ name: 'app' });
    expect(resolveProject(config, '/srv/other.git')).toMatchObject({ url: '/srv/other.git', name: null });
    expect(resolveProject(config, 'other')).toMatchObject({ reason: expect.stringContaining('neither a project named') });
    expect(sameRemote('https://h/o/r.git/', 'https://h/o/r')).toBe(true);
    // node.yaml keeps the node's user name; dispatch records the URL without it (and never a password).
    const withUsers = { projects: { app: { url: 'https://me@h/o/app.git' }, ops: { url: 'ssh://git@h/o/ops.git' } } };
    expect(resolveProject({ ...withUsers, projectsOnly: true }, 'https://h/o/app.git')).toMatchObject({ url: 'https://me@h/o/app.git', name: 'app' });
    expect(resolveProject({ ...withUsers, projectsOnly: true }, 'ssh://h/o/ops')).toMatchObject({ url: 'ssh://git@h/o/ops.git', name: 'ops' });
    expect(resolveProject({ ...withUsers, projectsOnly: true }, 'ssh://eve@h/o/ops.git')).toMatchObject({ reason: expect.stringContaining('not one of the projects') });
    // projectsOnly: only what node.yaml lists, by name or URL.
    expect(resolveProject({ ...config, projectsOnly: true }, '/srv/other.git')).toMatchObject({ reason: expect.stringContaining('not one of the projects this node works on') });
    expect(resolveProject({ ...config, projectsOnly: true }, 'git@host:o/app.git')).toMatchObject({ name: 'app' });
    // A path on the node, with file:// or without, matches as git opens it; its ".git" does not matter, as a URL's does not.
    const local = { projects: { lib: { url: '/srv/lib.git' }, web: { url: 'file:///srv/web.git' } } };
    expect(resolveProject({ ...local, projectsOnly: true }, 'file:///srv/lib.git')).toMatchObject({ url: '/srv/lib.git', name: 'lib' });
    expect(resolveProject({ ...local, projectsOnly: true }, 'file://localhost/srv/lib.git/')).toMatchObject({ name: 'lib' });
    expect(resolveProject({ ...local, projectsOnly: true }, '/srv/web.git')).toMatchObject({ url: 'file:///srv/web.git', name: 'web' });
    expect(resolveProject({ ...local, projectsOnly: true }, '/srv/lib')).toMatchObject({ url: '/srv/lib.git', name: 'lib' });
    expect(resolveProject(local, 'file:///srv/web')).toMatchObject({ url: 'file:///srv/web.git', name: 'web' });
    expect(resolveProject({ ...local, projectsOnly: true }, '/srv/other')).toMatchObject({ reason: expect.stringContaining('not one of the projects') });
    // node.yaml's ~ and relative paths: the user's home and the bus home.
    expect(resolveProject({ projects: { a: { url: '~/src/a.git' }, b: { url: 'repos/b.git' } } }, 'a', { home: '/h/.gitbus', userHome: '/h' })).toMatchObject({ url: '/h/src/a.git' });
    expect(resolveProject({ projects: { a: { url: '~/src/a.git' }, b: { url: 'repos/b.git' } } }, 'b', { home: '/h/.gitbus', userHome: '/h' })).toMatchObject({ url: '/h/.gitbus/repos/b.git' });
  });

  it('names caches readably and distinctly', () => {
    expect(cacheName('git@host:o/app.git')).toMatch(/^app-[0-9a-f]{12}\.git$/);
    expect(cacheName('/a/app.git')).not.toBe(cacheName('/b/app.git'));
  });

  it('fills a project env per run: a port per slot', () => {
    expect(fillEnv({ PORT: '{8000+slot}', NAME: '{group}-{workstream}', ID: '{id}', KEEP: '{other} {2+id}' }, { id: 't1', branch: 'b', slot: 2, group: 'g', workstream: 'w' })).toEqual({ PORT: '8002', NAME: 'g-w', ID: 't1', KEEP: '{other} {2+id}' });
  });

  it('matches include globs the way gitignore does', () => {
    expect(globRegExp('.env').test('.env')).toBe(true);
    expect(globRegExp('.env').test('sub/.env')).toBe(true);
    expect(globRegExp('/.env').test('sub/.env')).toBe(false);
    expect(globRegExp('config/*.local').test('config/db.local')).toBe(true);
    expect(globRegExp('config/*.local').test('config/x/db.local')).toBe(false);
    expect(globRegExp('**/secrets.json').test('a/b/secrets.json')).toBe(true);
    expect(parseIncludeFile('# c\n.env\n\n!x\nconf/*.local\n')).toEqual(['.env', 'conf/*.local']);
  });
});

describe('the response\'s project report', () => {
  it('is cleaned of what git or the run put in it, and a moved branch stays a branch name', () => {
    const base = { repo: 'p', branch: 'b', baseCommit: 'a'.repeat(40), headCommit: 'b'.repeat(40), pushed: false };
    const cleaned = projectFields({ ...base, pushError: '\u001b[31mclosed\u001b[0m\tnow', subjects: ['x\u0007y'], conflicts: [{ branch: 'g/ws', files: ['a\tb.txt', ''] }] });
    expect(cleaned).toMatchObject({ pushError: 'closed now', subjects: ['xy'], conflicts: [{ branch: 'g/ws', files: ['a b.txt'] }] });
    expect(projectReportSchema.safeParse(cleaned).success).toBe(true);
    const long = movedBranch(`${'x'.repeat(240)}.lock`, 'c'.repeat(40));
    expect(long.length).toBeLessThanOrEqual(250);
    expect(branchViolation(long)).toBeUndefined();
  });
});

describe('what git said', () => {
  it('names the line of git\'s stderr that says what went wrong, never its closing boilerplate', () => {
    const gone = "fatal: '/x.git' does not appear to be a git repository\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n";
    expect(outageOf(gone)).toBe("fatal: '/x.git' does not appear to be a git repository");
    expect(gitReason('ssh: connect to host h port 22: Connection refused\r\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.')).toBe('ssh: connect to host h port 22: Connection refused');
    expect(gitReason("hint: try this\nfatal: unable to access 'https://h/x.git/': Could not resolve host: h\n")).toBe("fatal: unable to access 'https://h/x.git/': Could not resolve host: h");
    expect(gitReason('fatal: Could not read from remote repository.\n')).toBe('fatal: Could not read from remote repository.');
    expect(gitReason('it did not finish in time and was stopped')).toBe('it did not finish in time and was stopped');
    expect(lastLines(gone, 3)).toBe("fatal: '/x.git' does not appear to be a git repository / fatal: Could not read from remote repository.");
  });

  it('tells a moved branch, an outage and a refusal apart', () => {
    expect(isMoved(' ! [rejected]        abc -> b (non-fast-forward)')).toBe(true);
    expect(isMoved(' ! [rejected]        abc -> b (fetch first)')).toBe(true);
    expect(isMoved(' ! [remote rejected] abc -> b (pre-receive hook declined)')).toBe(false);
    expect(outageOf("fatal: '/x.git' does not appear to be a git repository\nfatal: Could not read from remote repository.")).not.toBeNull();
    expect(outageOf('ssh: connect to host h port 22: Connection refused\nfatal: Could not read from remote repository.')).not.toBeNull();
    expect(outageOf('git@h: Permission denied (publickey).\nfatal: Could not read from remote repository.')).toBeNull();
    // A ref the remote lacks, over protocol v0, where the remote hangs up after saying so.
    expect(outageOf("fatal: couldn't find remote ref refs/tags/v9\nfatal: the remote end hung up unexpectedly")).toBeNull();
    expect(outageOf('ERROR: Repository not found.\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.')).toBeNull();
    expect(refusalText('remote: closed today        \nTo r.git\n ! [remote rejected] HEAD -> x (pre-receive hook declined)\nerror: failed to push some refs')).toBe('closed today / ! [remote rejected] HEAD -> x (pre-receive hook declined)');
    expect(movedBranch('f/x', 'abcdef0123456')).toBe('f/x-moved-abcdef01');
    expect(parseShortstat(' 3 files changed, 10 insertions(+), 1 deletion(-)')).toEqual({ files: 3, insertions: 10, deletions: 1 });
    expect(parseShortstat(' 1 file changed, 1 insertion(+)')).toEqual({ files: 1, insertions: 1, deletions: 0 });
  });

  it('tells a branch that moved on the remote from a run that rewrote it, by the commit of it the worktree pushed last or started from', () => {
    const c = 'c'.repeat(40);
    const d = 'd'.repeat(40);
    // The remote's branch still at what this worktree put there, and the result without it: a rebase or an amend.
    expect(notFastForwardCause(c, c, false)).toBe('rewritten');
    expect(notFastForwardCause(c, c, true)).toBe('moved');
    expect(notFastForwardCause(c, c, null)).toBe('moved');
    // Someone else pushed there (as well, maybe): moved, whatever the result holds; nothing known: moved.
    expect(notFastForwardCause(c, d, false)).toBe('moved');
    expect(notFastForwardCause(c, null, false)).toBe('moved');
    expect(notFastForwardCause(undefined, c, false)).toBe('moved');
    // What the worktree last pushed to its branch itself; a record from before `onBranch`: its last push, when that
    // went to the branch, not beside it or elsewhere.
    expect(lastPushedOf({ branch: 'f/x', onBranch: c, pushedCommit: d, pushedBranch: movedBranch('f/x', d) })).toBe(c);
    expect(lastPushedOf({ branch: 'f/x', pushedCommit: c, pushedBranch: 'f/x' })).toBe(c);
    expect(lastPushedOf({ branch: 'f/x', pushedCommit: c, pushedBranch: movedBranch('f/x', c) })).toBeUndefined();
    expect(lastPushedOf({ branch: 'f/x', pushedCommit: c, pushedBranch: 'f/y' })).toBeUndefined();
    expect(lastPushedOf({ branch: 'f/x' })).toBeUndefined();
    // Before the worktree pushed to its branch: the commit the branch was at on the remote when the worktree was
    // made from it; its own push, once there is one, comes first.
    expect(lastPushedOf({ branch: 'f/x', remoteAtStart: c })).toBe(c);
    expect(lastPushedOf({ branch: 'f/x', remoteAtStart: c, pushedCommit: d, pushedBranch: movedBranch('f/x', d) })).toBe(c);
    expect(lastPushedOf({ branch: 'f/x', remoteAtStart: c, onBranch: d })).toBe(d);
    expect(lastPushedOf({ branch: 'f/x', remoteAtStart: c, pushedCommit: d, pushedBranch: 'f/x' })).toBe(d);
  });

  it("tells a branch that moved on the remote from one that never built on the task's base, by the commit it was at when the worktree was made", () => {
    const c = 'c'.repeat(40);
    const d = 'd'.repeat(40);
    // The remote's branch still where it was when the worktree started beside it: nobody moved it.
    expect(notFastForwardCause(undefined, c, null, c)).toBe('apart');
    // Someone pushed there since, or nothing is known: moved.
    expect(notFastForwardCause(undefined, d, null, c)).toBe('moved');
    expect(notFastForwardCause(undefined, null, null, c)).toBe('moved');
    // A rewrite of what the worktree itself pushed there comes first.
    expect(notFastForwardCause(c, c, false, c)).toBe('rewritten');
    // Kept until the worktree pushes to the branch itself; results beside it keep it apart.
    expect(apartOf({ branch: 'f/x', apartAtStart: c })).toBe(c);
    expect(apartOf({ branch: 'f/x', apartAtStart: c, pushedCommit: d, pushedBranch: movedBranch('f/x', d) })).toBe(c);
    expect(apartOf({ branch: 'f/x', apartAtStart: c, onBranch: d })).toBeUndefined();
    expect(apartOf({ branch: 'f/x', apartAtStart: c, pushedCommit: d, pushedBranch: 'f/x' })).toBeUndefined();
    expect(apartOf({ branch: 'f/x' })).toBeUndefined();
  });

  it('the response says which: the branch moved on the remote, the run rewrote its history (and how to adopt that), or the branch never built on the base', () => {
    const report = { repo: 'p', branch: 'f/x-moved-bbbbbbbb', baseCommit: 'a'.repeat(40), headCommit: 'b'.repeat(40), pushed: true };
    const claude = { id: 't1', runner: 'claude' };
    const moved = branchSection(report, undefined, { moved: 'f/x' }, claude);
    expect(moved).toContain('f/x had moved on the remote since the task started, so the results went beside it, to f/x-moved-bbbbbbbb.');
    expect(moved).not.toContain('rewrote');
    expect(moved).not.toContain('force');
    const rewritten = branchSection(report, undefined, { moved: 'f/x', rewritten: 'c'.repeat(40) }, claude);
    expect(rewritten).toContain(`The run rewrote the history of f/x (a rebase or an amend): ${'c'.repeat(12)}, the commit of f/x on the remote that this worktree built on, is not part of the results`);
    expect(rewritten).not.toContain('had moved on the remote');
    expect(rewritten).toContain(`git push --force-with-lease=refs/heads/f/x:${'c'.repeat(40)} p ${'b'.repeat(40)}:refs/heads/f/x`);
    expect(rewritten).toContain(`gitbus resume t1 'merge f/x into this branch and fix what breaks'`);
    const apart = branchSection(report, undefined, { moved: 'f/x', apart: 'c'.repeat(40) }, claude);
    expect(apart).toContain(`f/x on the remote did not build on the task's base when the task started (it was at ${'c'.repeat(12)}, which does not contain ${'a'.repeat(12)}), so the task built on the base instead and its results went beside f/x, to f/x-moved-bbbbbbbb.`);
    expect(apart).not.toContain('had moved on the remote');
    expect(apart).not.toContain('force');
    expect(apart).toContain(`gitbus resume t1 'merge f/x into this branch and fix what breaks'`);
  });

  it('a task of another runner has no session to resume: the response gives the git commands that merge the results into the branch', () => {
    const report = { repo: 'p', branch: 'f/x-moved-bbbbbbbb', baseCommit: 'a'.repeat(40), headCommit: 'b'.repeat(40), pushed: true };
    // One chain in a temporary worktree: a conflict stops it before the push, and the person's checkout is not touched.
    const merge = (flags: string) => [
      'git fetch p refs/heads/f/x &&',
      'd=$(mktemp -d) && git worktree add --detach "$d" FETCH_HEAD &&',
      `git -C "$d" merge --no-edit${flags} -m 'Merge f/x-moved-bbbbbbbb into f/x' ${'b'.repeat(40)} &&`,
      'git -C "$d" push p HEAD:refs/heads/f/x &&',
      'git worktree remove "$d"',
    ].join('\n');
    const onConflict = 'On a conflict the commands stop at the merge: resolve it in "$d", `git -C "$d" commit --no-edit`, then run the push and the `git worktree remove`.';
    for (const runner of ['shell', 'tmux', 'icecc', 'merge', 'manual', undefined]) {
      const apart = branchSection(report, undefined, { moved: 'f/x', apart: 'c'.repeat(40) }, { id: 't1', runner });
      expect(apart, String(runner)).not.toContain('gitbus resume');
      expect(apart, String(runner)).toContain(`To have them together, merge the results into f/x yourself, after the fetch above,`);
      expect(apart, String(runner)).toContain(`\`\`\`\n${merge(' --allow-unrelated-histories')}\n\`\`\`\n\n${onConflict}\n`);
      const rewritten = branchSection(report, undefined, { moved: 'f/x', rewritten: 'c'.repeat(40) }, { id: 't1', runner });
      expect(rewritten, String(runner)).not.toContain('gitbus resume');
      expect(rewritten, String(runner)).toContain(`git push --force-with-lease=refs/heads/f/x:${'c'.repeat(40)} p ${'b'.repeat(40)}:refs/heads/f/x`);
      expect(rewritten, String(runner)).toContain(`Or keep f/x's history: merge the results into f/x yourself`);
      expect(rewritten, String(runner)).toContain(`\`\`\`\n${merge('')}\n\`\`\`\n\n${onConflict}\n`);
    }
  });
});

describe('cancel --group counts', () => {
  it('counts what is cancelled and what is being cancelled apart', () => {
    expect(cancelCounts([{ changed: true, state: 'cancelling' }, { changed: true, state: 'cancelling' }, { changed: true, state: 'cancelled' }])).toBe('1 of 3 task(s) cancelled, 2 being cancelled (their nodes stop the work and report)');
    expect(cancelCounts([{ changed: true, state: 'cancelling' }, { changed: false, state: 'succeeded' }])).toBe('0 of 2 task(s) cancelled, 1 being cancelled (its node stops the work and reports)');
    expect(cancelCounts([{ changed: false, state: 'succeeded' }])).toBe('0 of 1 task(s) cancelled');
  });
});

describe("a project URL's credential, kept off git's command line", () => {
  it('takes the user part of an http(s) URL and the password of another out of the arguments, and gives git the URL with it in its environment', async () => {
    const { remoteArgs, remoteEnv, urlWithoutCredentials } = await import('../../watcher/workspace/cache.js');
    expect(urlWithoutCredentials('https://ghp_t0ken@github.com/o/r.git')).toBe('https://github.com/o/r.git');
    expect(urlWithoutCredentials('https://bob:pw@h/r.git')).toBe('https://h/r.git');
    expect(urlWithoutCredentials('ssh://git:pw@h/r.git')).toBe('ssh://git@h/r.git');
    expect(urlWithoutCredentials('ssh://git@h/r.git')).toBeNull();
    expect(urlWithoutCredentials('/srv/r.git')).toBeNull();
    const cache = { url: 'https://bob:s3cret@h/r.git' };
    expect(remoteArgs(cache)).toEqual(['--', 'https://h/r.git']);
    expect(JSON.stringify(remoteArgs(cache))).not.toContain('s3cret');
    expect(remoteEnv(cache, {})).toEqual({ GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'url.https://bob:s3cret@h/r.git.insteadOf', GIT_CONFIG_VALUE_0: 'https://h/r.git' });
    // After what the environment already gives git.
    expect(remoteEnv(cache, { GIT_CONFIG_COUNT: '2' })).toMatchObject({ GIT_CONFIG_COUNT: '3', GIT_CONFIG_KEY_2: 'url.https://bob:s3cret@h/r.git.insteadOf' });
    expect(remoteEnv({ url: '/srv/r.git' }, {})).toEqual({});
  });
});
