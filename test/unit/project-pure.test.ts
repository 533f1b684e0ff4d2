import { describe, it, expect } from 'vitest';
import { branchViolation, defaultBranch, projectReportSchema } from '../../schemas/project.js';
import { projectFields } from '../../bus/ops/respond.js';
import { handoffRules, handoffSchema } from '../../schemas/handoff.js';
import { cacheName, fillEnv, resolveProject, sameRemote } from '../../watcher/workspace/project-config.js';
import { globRegExp, parseIncludeFile } from '../../watcher/workspace/include.js';
import { isMoved, movedBranch, refusalText } from '../../watcher/workspace/push.js';
import { parseShortstat } from '../../watcher/workspace/results.js';
import { outageOf } from '../../bus/project/git.js';

describe('project fields', () => {
  it('accepts branch names git accepts and refuses the rest with the reason', () => {
    for (const ok of ['gitbus/20261130-x', 'feature/a.b', 'conv-system/integration', 'a']) expect(branchViolation(ok)).toBeUndefined();
    for (const bad of ['-x', 'a..b', 'a b', 'a/', '/a', 'a//b', '.a', 'a/.b', 'a.lock', 'a@{1}', 'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[', 'a\\b', 'HEAD', '@', 'a.'])
      expect(branchViolation(bad)?.reason, bad).toContain('is not a branch name git accepts');
  });

  it('refuses repos git would read as an option or as a command transport', () => {
    const repo = (r: string) => handoffSchema.safeParse({ title: 't', repo: r }).success;
    expect(repo('git@github.com:o/r.git')).toBe(true);
    expect(repo('/srv/proj.git')).toBe(true);
    expect(repo('https://example.com/p.git')).toBe(true);
    expect(repo('--upload-pack=touch /tmp/x')).toBe(false);
    expect(repo('ext::sh -c touch% /tmp/pwned')).toBe(false);
    expect(repo('FD::3')).toBe(false);
    expect(handoffSchema.safeParse({ title: 't', repo: 'p', base: '--orphan' }).success).toBe(false);
    expect(handoffSchema.safeParse({ title: 't', repo: 'p', baseCommit: 'abc' }).success).toBe(false);
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
    // projectsOnly: only what node.yaml lists, by name or URL.
    expect(resolveProject({ ...config, projectsOnly: true }, '/srv/other.git')).toMatchObject({ reason: expect.stringContaining('not one of the projects this node works on') });
    expect(resolveProject({ ...config, projectsOnly: true }, 'git@host:o/app.git')).toMatchObject({ name: 'app' });
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
  it('tells a moved branch, an outage and a refusal apart', () => {
    expect(isMoved(' ! [rejected]        abc -> b (non-fast-forward)')).toBe(true);
    expect(isMoved(' ! [rejected]        abc -> b (fetch first)')).toBe(true);
    expect(isMoved(' ! [remote rejected] abc -> b (pre-receive hook declined)')).toBe(false);
    expect(outageOf("fatal: '/x.git' does not appear to be a git repository\nfatal: Could not read from remote repository.")).not.toBeNull();
    expect(outageOf('ssh: connect to host h port 22: Connection refused\nfatal: Could not read from remote repository.')).not.toBeNull();
    expect(outageOf('git@h: Permission denied (publickey).\nfatal: Could not read from remote repository.')).toBeNull();
    expect(refusalText('remote: closed today        \nTo r.git\n ! [remote rejected] HEAD -> x (pre-receive hook declined)\nerror: failed to push some refs')).toBe('closed today / ! [remote rejected] HEAD -> x (pre-receive hook declined)');
    expect(movedBranch('f/x', 'abcdef0123456')).toBe('f/x-moved-abcdef01');
    expect(parseShortstat(' 3 files changed, 10 insertions(+), 1 deletion(-)')).toEqual({ files: 3, insertions: 10, deletions: 1 });
    expect(parseShortstat(' 1 file changed, 1 insertion(+)')).toEqual({ files: 1, insertions: 1, deletions: 0 });
  });
});
