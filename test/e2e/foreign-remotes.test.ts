import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json, spawnBounded, tempDir, type RunResult } from '../helpers/cli.js';
import { initNode } from '../helpers/in-process.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';
import { sshdAvailable, startSshd, type Sshd } from '../helpers/sshd.js';

/**
 * Buses in repositories someone else made: `git init --bare` with HEAD at an unborn master, or HEAD at a
 * `trunk` branch that holds unrelated commits. A bus is refs/heads/main only, so every command must work the
 * same over a local path, SSH and HTTP whatever HEAD says.
 */
const sshOk = sshdAvailable();
if (!sshOk) console.warn('skipping the SSH cases of the foreign-remote tests: /usr/sbin/sshd is not installed (apt-get install openssh-server)');

let sshd: Sshd | undefined;
let http: GitHttpServer;
let root: string;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const dir = await tempDir('gitbus-foreign-');
  cleanups.push(dir.cleanup);
  root = dir.path;
  mkdirSync(join(root, 'srv'));
  http = await startGitHttpServer({ projectRoot: join(root, 'srv') });
  cleanups.push(() => http.close());
  if (sshOk) {
    sshd = await startSshd();
    cleanups.push(() => (sshd as Sshd).cleanup());
  }
}, 60_000);
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

type Shape = 'an unborn master' | 'a master with commits' | 'a trunk with commits';
type Via = 'local' | 'ssh' | 'http';

let seq = 0;

const branchOf = (shape: Shape) => (shape === 'a trunk with commits' ? 'trunk' : 'master');

/** A bare repository as plain git makes it, in the folder the HTTP server and sshd serve. */
function foreignRepo(shape: Shape): { path: string; name: string; seq: number } {
  const mine = ++seq;
  const name = `r${mine}.git`;
  const path = join(root, 'srv', name);
  gitCli(['-c', 'init.defaultBranch=master', 'init', '-q', '--bare', path]);
  const branch = branchOf(shape);
  if (shape !== 'an unborn master') {
    const work = join(root, `work-${mine}`);
    gitCli(['init', '-q', '-b', branch, work]);
    gitCli(['commit', '-q', '--allow-empty', '-m', 'someone else\'s project'], work);
    gitCli(['push', '-q', path, branch], work);
    gitCli(['--git-dir', path, 'symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
  }
  return { path, name, seq: mine };
}

function urlOf(repo: { path: string; name: string }, via: Via): string {
  if (via === 'local') return repo.path;
  if (via === 'http') return `${http.url}/${repo.name}`;
  return (sshd as Sshd).url(repo.path);
}

function cli(args: string[], home: string): Promise<RunResult> {
  return gitbus(args, { home, env: sshd?.env ?? process.env, timeoutMs: 120_000 });
}

function ok(r: RunResult): RunResult {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  expect(r.stderr).not.toContain('internal error');
  return r;
}

// Every shape over a local path; over SSH and HTTP the two that differ there (HEAD at a branch that does not exist,
// HEAD at another branch with commits): a master with commits is the trunk case under another name, and each case
// costs a dozen CLI processes and as many logins or CGI runs.
const cases: [Via, Shape][] = [];
for (const via of ['local', 'ssh', 'http'] as const) {
  if (via === 'ssh' && !sshOk) continue;
  for (const shape of ['an unborn master', 'a master with commits', 'a trunk with commits'] as const) if (via === 'local' || shape !== 'a master with commits') cases.push([via, shape]);
}

// Every case has its own repository and homes: they run side by side (most of a case is waiting on its
// processes and round trips, one after another).
describe.concurrent('a bus in a repository made with plain git init --bare', () => {
  it.each(cases)('over %s with HEAD at %s: init, join, dispatch, claim, respond, status, watch, archive', { timeout: 240_000 }, async (via, shape) => {
    const repo = foreignRepo(shape);
    const url = urlOf(repo, via);
    const home = (n: string) => join(root, `home-${repo.seq}-${n}`);
    ok(await cli(['init', '--remote', url, '--node', 'alpha', '--json'], home('alpha')));
    ok(await cli(['join', url, '--node', 'beta', '--runner', 'shell', '--json'], home('beta')));
    const id = json<{ id: string }>(ok(await cli(['dispatch', 'echo foreign', '--to', 'beta', '--json'], home('alpha')))).id;
    expect(json<{ id: string }>(ok(await cli(['claim', '--next', '--json'], home('beta')))).id).toBe(id);
    ok(await cli(['respond', id, '--status', 'succeeded', '--summary', 'done', '--json'], home('beta')));
    const status = json<{ tasks: { id: string; state: string }[] }>(ok(await cli(['status', '--json'], home('alpha'))));
    expect(status.tasks.find((t) => t.id === id)?.state).toBe('succeeded');
    // The watcher (heartbeat ref, claim, response) and the archive branch work there too.
    const ran = json<{ id: string }>(ok(await cli(['dispatch', 'echo by the watcher', '--to', 'beta', '--command', 'echo watched', '--json'], home('alpha')))).id;
    expect(json<{ ran: { id: string; status: string }[] }>(ok(await cli(['watch', '--once', '--json'], home('beta')))).ran).toEqual([expect.objectContaining({ id: ran, status: 'succeeded' })]);
    ok(await cli(['archive', '--all', '--json'], home('alpha')));
    expect(gitCli(['--git-dir', repo.path, 'ls-tree', '-r', '--name-only', 'archive'])).toContain(`${id}`);

    // The bus went to main; the other branch is as its owner left it, and so is HEAD, except an unborn one of a local
    // remote, which init points at main so that a plain `git clone` checks the bus out (over SSH or HTTP the
    // host's default branch is the host's to set).
    expect(gitCli(['--git-dir', repo.path, 'ls-tree', '-r', '--name-only', 'main'])).toContain('gitbus.yaml');
    const head = gitCli(['--git-dir', repo.path, 'symbolic-ref', 'HEAD']).trim();
    expect(head).toBe(via === 'local' && shape === 'an unborn master' ? 'refs/heads/main' : `refs/heads/${branchOf(shape)}`);
    if (via === 'local' && shape === 'an unborn master') {
      const work = join(root, `plain-clone-${repo.seq}`);
      await spawnBounded('git', ['clone', '-q', repo.path, work], { timeoutMs: 60_000 });
      expect(gitCli(['rev-parse', '--abbrev-ref', 'HEAD'], work).trim()).toBe('main');
    }
    if (shape !== 'an unborn master') expect(gitCli(['--git-dir', repo.path, 'log', '--format=%s', branchOf(shape)]).trim()).toBe('someone else\'s project');
    else expect(gitCli(['--git-dir', repo.path, 'for-each-ref', '--format=%(refname)', 'refs/heads/master'])).toBe('');
  });

  // The cases above run beside these (eleven tests at once): each of these has a bound of its own too, as a few CLI
  // processes one after another took over the default minute at load ~17.
  it('join of a repository without main but with other branches is refused as NOT_A_BUS, naming them, with a fix', { timeout: 120_000 }, async () => {
    const repo = foreignRepo('a trunk with commits');
    for (const via of ['local', 'http'] as const) {
      const r = await cli(['join', urlOf(repo, via), '--node', 'beta', '--json'], join(root, `home-nomain-${via}`));
      expect(r.code, r.stderr).toBe(7);
      const err = json<{ error: { code: string; message: string; fix: string } }>(r).error;
      expect(err.code).toBe('NOT_A_BUS');
      expect(err.message).toContain('no main branch');
      expect(err.message).toContain('trunk');
      expect(err.fix).toContain('gitbus init --remote');
    }
  });

  it('init over a main that holds someone else\'s commits is refused as NOT_A_BUS, and does not suggest init again', { timeout: 120_000 }, async () => {
    const repo = foreignRepo('an unborn master');
    const work = join(root, `work-main-${repo.seq}`);
    gitCli(['init', '-q', '-b', 'main', work]);
    gitCli(['commit', '-q', '--allow-empty', '-m', 'a project on main'], work);
    gitCli(['push', '-q', repo.path, 'main'], work);
    const r = await cli(['init', '--remote', urlOf(repo, 'http'), '--node', 'alpha', '--json'], join(root, `home-taken-${repo.seq}`));
    expect(r.code, r.stderr).toBe(7);
    const err = json<{ error: { code: string; fix: string } }>(r).error;
    expect(err.code).toBe('NOT_A_BUS');
    expect(err.fix).toContain('main branch to itself');
    expect(err.fix).not.toContain('gitbus init');
    expect(gitCli(['--git-dir', repo.path, 'log', '--format=%s', 'main']).trim()).toBe('a project on main');
  });

  it('join of an empty repository says it is empty and to init it first, over every transport', { timeout: 120_000 }, async () => {
    const repo = foreignRepo('an unborn master');
    for (const via of ['local', 'http', ...(sshd ? (['ssh'] as const) : [])] as const) {
      const r = await cli(['join', urlOf(repo, via), '--node', 'beta'], join(root, `home-empty-${via}`));
      expect(r.code, r.stderr).toBe(7);
      expect(r.stderr).toContain('is empty');
      expect(r.stderr).toContain('gitbus init --remote');
      expect(r.stderr).not.toContain('internal error');
    }
  });

  it('a person\'s plain git clone (HEAD at master) is told to switch to main when installing hooks', { timeout: 120_000 }, async () => {
    const repo = foreignRepo('an unborn master');
    // The bus is the fixture (init in a foreign repository is the cases' above): made in the test's process.
    await initNode(join(root, `home-hooks-${repo.seq}`), repo.path, { node: 'alpha' });
    // As a host's default branch left at master would (init points an unborn HEAD of a local remote at main).
    gitCli(['--git-dir', repo.path, 'symbolic-ref', 'HEAD', 'refs/heads/master']);
    const work = join(root, `clone-${repo.seq}`);
    await spawnBounded('git', ['clone', '-q', repo.path, work], { timeoutMs: 60_000 });
    const refused = await gitbus(['hooks', 'install'], { cwd: work });
    expect(refused.code).toBe(7);
    expect(refused.stderr).toContain('git switch main');
    gitCli(['switch', '-q', 'main'], work);
    ok(await gitbus(['hooks', 'install'], { cwd: work }));
  });
});
