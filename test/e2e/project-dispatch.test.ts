import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json, neutralCwd, tempDir, type RunResult } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { showInProcess } from '../helpers/in-process.js';
import { dispatchedFile, dispatchedHandoff, editNode, gitShim } from '../helpers/project.js';
import type { Handoff } from '../../schemas/handoff.js';
import { openBus } from '../../bus/context.js';
import { dispatchDue } from '../../bus/ops/schedule.js';

/**
 * Issue 9 point 1, the dispatch side: `gitbus dispatch` inside a checkout of a project names its code (repo, base
 * as written and as a commit, result branch), and refuses a base the project remote does not have, with the
 * command that pushes it. A real project repository with a bare remote, in temp dirs.
 */
describe('dispatch names the code of a project', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home: string;
  let dir: string;
  let remote: string;
  let work: string;

  const sh = (command: string, cwd: string) =>
    execFileSync('sh', ['-c', command], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
  const head = (cwd: string) => gitCli(['rev-parse', 'HEAD'], cwd).trim();
  const commit = (cwd: string, message: string) => gitCli(['commit', '-q', '--allow-empty', '-m', message], cwd);
  const dispatchIn = (cwd: string, args: string[]): Promise<RunResult> => gitbus(['dispatch', ...args, '--json'], { home, cwd });

  const handoffOf = (r: RunResult): Promise<Handoff> => dispatchedHandoff(home, r);
  const handoffFile = (r: RunResult): Promise<{ path: string; text: string }> => dispatchedFile(home, r);

  beforeAll(async () => {
    bus = await makeBus({ node: 'laptop' });
    home = bus.home('laptop');
    dir = bus.dir;
    remote = join(dir, 'proj.git');
    work = join(dir, 'proj');
    gitCli(['init', '-q', '--bare', '-b', 'main', remote]);
    gitCli(['init', '-q', '-b', 'main', work]);
    gitCli(['remote', 'add', 'origin', remote], work);
    commit(work, 'first');
    gitCli(['push', '-q', '-u', 'origin', 'main'], work);
    // A remote written as a relative path, as people often add them: it must reach the handoff absolute.
    gitCli(['remote', 'set-url', 'origin', '../proj.git'], work);
    mkdirSync(join(work, 'sub'));
  });
  afterAll(async () => bus?.cleanup());

  it('inside a checkout: repo is its remote (absolute), base its branch, baseCommit HEAD, branch gitbus/<id>', async () => {
    const r = await dispatchIn(join(work, 'sub'), ['validate it']);
    const h = await handoffOf(r);
    expect(h).toMatchObject({ repo: remote, base: 'main', baseCommit: head(work), branch: `gitbus/${h.id ?? ''}` });
    expect(json<{ project: unknown }>(r).project).toEqual({ repo: remote, base: 'main', baseCommit: head(work), branch: `gitbus/${h.id ?? ''}` });
    // Said on stderr in human mode.
    const human = await gitbus(['dispatch', 'again'], { home, cwd: work });
    expect(human.stderr).toContain(`gitbus: project work on ${remote} from main (${head(work).slice(0, 12)}); results go to branch gitbus/${human.stdout.trim()}`);
  });

  it('looks at the checkout once: five git commands read it for the body and the project fields; a HEAD not pushed as the checkout saw it, one more lists the remote\'s branches and tags; four without a base from HEAD', async () => {
    const shim = gitShim(dir);
    const look = ['config -z --get-regexp ^(branch\\..*\\.(remote|merge)|remote\\..*\\.(url|pushurl)|url\\..*\\.(insteadof|pushinsteadof))$', 'for-each-ref --points-at=HEAD --format=%(objectname) %(refname) refs/remotes/', 'log --oneline -5', 'rev-parse --show-toplevel', 'status --porcelain=v2 --branch --no-ahead-behind'];
    const r = await gitbus(['dispatch', 'counted', '--json'], { home, cwd: join(work, 'sub'), process: true, env: shim.env });
    expect((await handoffOf(r)).baseCommit).toBe(head(work));
    expect(shim.calls().sort()).toEqual(look);
    // origin/main one commit behind HEAD (pushed by URL, which moves no remote-tracking ref): the remote is asked.
    commit(work, 'pushed by a push this checkout did not make');
    gitCli(['push', '-q', remote, 'HEAD:main'], work);
    try {
      shim.reset();
      const asked = await gitbus(['dispatch', 'counted again', '--json'], { home, cwd: join(work, 'sub'), process: true, env: shim.env });
      expect((await handoffOf(asked)).baseCommit).toBe(head(work));
      expect(shim.calls().sort()).toEqual([...look.slice(0, 3), `ls-remote --heads --tags ${remote}`, ...look.slice(3)]);
    } finally {
      gitCli(['fetch', '-q', 'origin'], work);
    }
    // No base taken from HEAD (--base, which reads its ref with commands of its own; --no-repo): no tracking refs read.
    const without = look.filter((c) => !c.startsWith('for-each-ref'));
    for (const [flags, exact] of [[['--base', 'main'], false], [['--no-repo'], true]] as const) {
      shim.reset();
      const r = await gitbus(['dispatch', 'no base from HEAD', ...flags, '--json'], { home, cwd: join(work, 'sub'), process: true, env: shim.env });
      expect(r.code, r.stderr).toBe(0);
      if (exact) expect(shim.calls().sort()).toEqual(without);
      else expect(shim.calls()).toEqual(expect.arrayContaining(without));
      expect(shim.calls()).not.toContain(look[1]);
    }
  });

  it('--repo, --base and --branch override the checkout; outside one, --repo alone starts from the remote default branch', async () => {
    commit(work, 'tagged');
    gitCli(['tag', '-a', '-m', 'release', 'v1', 'HEAD'], work);
    gitCli(['push', '-q', 'origin', 'main', 'v1'], work);
    const tagged = head(work);
    commit(work, 'later');
    gitCli(['push', '-q', 'origin', 'main'], work);

    const inside = await handoffOf(await dispatchIn(work, ['from the tag', '--base', 'v1', '--branch', 'results/gpu-run']));
    expect(inside).toMatchObject({ repo: remote, base: 'v1', baseCommit: tagged, branch: 'results/gpu-run' });

    const outside = await handoffOf(await dispatchIn(neutralCwd(), ['elsewhere', '--repo', remote]));
    expect(outside).toMatchObject({ repo: remote, base: 'main', baseCommit: head(work), branch: `gitbus/${outside.id ?? ''}` });
    // Without a checkout the base resolves on the remote: a tag, peeled to its commit.
    const byTag = await handoffOf(await dispatchIn(neutralCwd(), ['by tag', '--repo', remote, '--base', 'v1']));
    expect(byTag).toMatchObject({ base: 'v1', baseCommit: tagged });

    const bad = await dispatchIn(work, ['bad branch', '--branch', 'a..b']);
    expect(bad.code).toBe(2);
    expect(json<{ error: { data: { flag: string } } }>(bad).error.data.flag).toBe('--branch');
    // Names git would take but read as something else: refused before anything is written, with the name to give.
    for (const [name, fix] of [['refs/heads/main', '"main", not "refs/heads/main"'], ['origin/main', '"main", not "origin/main"']] as const) {
      const misread = await dispatchIn(work, ['misread branch', '--branch', name]);
      expect(misread.code, name).toBe(2);
      expect(json<{ error: { fix: string; data: { flag: string } } }>(misread).error).toMatchObject({ fix: expect.stringContaining(fix), data: { flag: '--branch' } });
    }
    const missing = await dispatchIn(neutralCwd(), ['no such base', '--repo', remote, '--base', 'nope']);
    expect(missing.code).toBe(4);
    expect(json<{ error: { code: string } }>(missing).error.code).toBe('BASE_NOT_FOUND');
  });

  it('--no-repo inside a checkout: a plain task (the git state is still in the body)', async () => {
    const r = await dispatchIn(work, ['plain', '--no-repo']);
    const h = await handoffOf(r);
    for (const f of ['repo', 'base', 'baseCommit', 'branch'] as const) expect(h[f], f).toBeUndefined();
    const text = (await showInProcess<{ files: { text: string }[] }>(home, h.id ?? '')).files[0]?.text ?? '';
    expect(text).toContain('## Git state');
    expect((await dispatchIn(work, ['contradiction', '--no-repo', '--base', 'main'])).code).toBe(2);
  });

  it('an unpushed base is refused with BASE_NOT_PUSHED and the git push that fixes it; after that push the dispatch succeeds', async () => {
    const cases: { setup: () => void; command: (sha: string) => string }[] = [
      // The branch has an upstream: push it.
      { setup: () => commit(work, 'not pushed yet'), command: () => 'git push origin main' },
      // A new branch without an upstream: push it and set the upstream.
      { setup: () => (gitCli(['switch', '-q', '-c', 'topic'], work), commit(work, 'on topic')), command: () => 'git push -u origin HEAD:topic' },
      // A detached HEAD: the commit needs a branch on the remote.
      { setup: () => (gitCli(['switch', '-q', '--detach'], work), commit(work, 'detached')), command: (sha) => `git push origin ${sha}:refs/heads/gitbus/base-${sha.slice(0, 12)}` },
    ];
    for (const c of cases) {
      c.setup();
      const sha = head(work);
      const refused = await dispatchIn(work, ['needs my commit']);
      expect(refused.code, refused.stderr).toBe(5);
      const error = json<{ error: { code: string; message: string; fix: string; data: { command: string; commit: string; remote: string } } }>(refused).error;
      expect(error).toMatchObject({ code: 'BASE_NOT_PUSHED', data: { command: c.command(sha), commit: sha, remote: 'origin' } });
      expect(error.message).toContain(sha);
      expect(error.fix).toContain(`run "${c.command(sha)}"`);
      sh(error.data.command, work);
      expect((await handoffOf(await dispatchIn(work, ['needs my commit']))).baseCommit).toBe(sha);
    }
    gitCli(['switch', '-q', 'main'], work);
  });

  it('fanout and run name only what they accept in the fix of BASE_NOT_PUSHED and PROJECT_REMOTE_UNREACHABLE', async () => {
    type Refused = { error: { code: string; fix: string } };
    commit(work, 'not pushed for the fan-out');
    const plan = join(dir, 'fan.md');
    writeFileSync(plan, '---\ntitle: Fan\nworkstreams:\n  - {name: a, tasks: do a}\n---\nThe brief.\n');
    const fan = await gitbus(['fanout', plan, '--dry-run', '--json'], { home, cwd: work });
    expect(fan.code, fan.stderr).toBe(5);
    const e = json<Refused>(fan).error;
    expect(e).toMatchObject({ code: 'BASE_NOT_PUSHED', fix: expect.stringContaining('then run gitbus fanout again') });
    expect(e.fix).not.toMatch(/--no-repo|dispatch again/);
    sh('git push -q origin main', work);
    const down = await gitbus(['fanout', plan, '--repo', 'ssh://127.0.0.1:1/proj.git', '--dry-run', '--json'], { home, cwd: neutralCwd() });
    expect(json<Refused>(down).error).toMatchObject({ code: 'PROJECT_REMOTE_UNREACHABLE', fix: expect.stringContaining('then run gitbus fanout again') });
    expect(json<Refused>(down).error.fix).not.toContain('--no-repo');
    const run = await gitbus(['run', 'laptop', '--repo', 'ssh://127.0.0.1:1/proj.git', '--json', '--', 'true'], { home, cwd: neutralCwd() });
    expect(json<Refused>(run).error).toMatchObject({ code: 'PROJECT_REMOTE_UNREACHABLE', fix: expect.stringContaining('leave out --repo, --base and --branch') });
    expect(json<Refused>(run).error.fix).not.toMatch(/--no-repo|dispatch again/);
  });

  it('a base the remote has under newer commits someone else pushed is not "not pushed": the remote-tracking refs vouch for it, with a warning', async () => {
    const shared = join(dir, 'shared.git');
    const me = join(dir, 'me');
    const mate = join(dir, 'mate');
    gitCli(['init', '-q', '--bare', '-b', 'main', shared]);
    gitCli(['clone', '-q', shared, me]);
    commit(me, 'one');
    commit(me, 'one, then another');
    gitCli(['push', '-q', 'origin', 'HEAD:main'], me);
    gitCli(['clone', '-q', shared, mate]);
    commit(mate, 'two');
    gitCli(['push', '-q', 'origin', 'main'], mate);
    // me is up to date with origin/main as last fetched: taken as pushed, the remote not asked, nothing to warn of.
    const atTip = await dispatchIn(me, ['at the tip']);
    expect((await handoffOf(atTip)).baseCommit).toBe(head(me));
    expect(json<{ warnings?: string[] }>(atTip).warnings ?? []).toEqual([]);
    // One commit below it: the remote is asked, and its main is a commit me has never seen.
    gitCli(['switch', '-q', '--detach', 'HEAD~1'], me);
    const r = await dispatchIn(me, ['on one']);
    expect((await handoffOf(r)).baseCommit).toBe(head(me));
    expect(json<{ warnings: string[] }>(r).warnings).toEqual([expect.stringContaining('origin has commits')]);
    // A commit no remote-tracking ref reaches is still refused.
    commit(me, 'three');
    const unpushed = await dispatchIn(me, ['on three']);
    expect(json<{ error: { code: string } }>(unpushed).error.code).toBe('BASE_NOT_PUSHED');
  });

  it('a schedule keeps base as written, not its commit, and each instance gets a branch of its own', async () => {
    const r = await dispatchIn(work, ['nightly', '--command', 'make validate', '--schedule', '* * * * *', '--id', 'nightly']);
    const template = await handoffOf(r);
    expect(template).toMatchObject({ repo: remote, base: 'main' });
    expect(template.baseCommit).toBeUndefined();
    expect(template.branch).toBeUndefined();
    const ctx = await openBus(home);
    try {
      const [instance] = await dispatchDue(ctx, new Date(Date.now() + 61_000));
      expect(instance).toBeDefined();
      const h = await handoffOf({ code: 0, stdout: JSON.stringify({ id: instance?.id }), stderr: '' });
      expect(h).toMatchObject({ repo: remote, base: 'main', branch: `gitbus/${instance?.id ?? ''}` });
    } finally {
      await ctx.repo.close();
    }
    expect((await gitbus(['cancel', 'nightly'], { home })).code).toBe(0);
  });

  it('uncommitted changes are a warning, not an error', async () => {
    writeFileSync(join(work, 'scratch.txt'), 'not committed\n');
    try {
      const human = await gitbus(['dispatch', 'with scratch'], { home, cwd: work });
      expect(human.code, human.stderr).toBe(0);
      expect(human.stderr).toContain('gitbus: warning: 1 uncommitted change in');
      expect(human.stderr).toContain('is not part of the task: commit and push it');
    } finally {
      sh('rm -f scratch.txt', work);
    }
  });

  it('a checkout without a remote dispatches a plain task, with a note saying why', async () => {
    const lone = join(dir, 'lone');
    gitCli(['init', '-q', '-b', 'main', lone]);
    commit(lone, 'local only');
    const r = await dispatchIn(lone, ['local work']);
    const h = await handoffOf(r);
    expect(h.repo).toBeUndefined();
    expect(json<{ notes: string[] }>(r).notes).toEqual([expect.stringContaining('the checkout has no remote')]);
    const human = await gitbus(['dispatch', 'local work'], { home, cwd: lone });
    expect(human.stderr).toContain('gitbus: note: not project work: the checkout has no remote');
    // A flag that needs project work is an error there, not a silent plain task.
    expect((await dispatchIn(lone, ['x', '--base', 'main'])).code).toBe(2);
  });

  it('a project remote that cannot be reached is its own error; a checkout answers from what it last saw of it', async () => {
    const refusedRemote = 'ssh://127.0.0.1:1/proj.git';
    const down = await dispatchIn(neutralCwd(), ['down', '--repo', refusedRemote]);
    expect(down.code).toBe(6);
    expect(json<{ error: { code: string; data: { outage: boolean } } }>(down).error).toMatchObject({ code: 'PROJECT_REMOTE_UNREACHABLE', data: { outage: true } });
    const notRepo = await dispatchIn(neutralCwd(), ['not a repo', '--repo', join(dir, 'nothing-here.git')]);
    expect(json<{ error: { code: string; data: { outage: boolean } } }>(notRepo).error).toMatchObject({ code: 'PROJECT_REMOTE_UNREACHABLE', data: { outage: false } });

    // A clone whose remote went away after it pushed: its remote-tracking refs still say what is there.
    const away = join(dir, 'away');
    gitCli(['clone', '-q', remote, away]);
    gitCli(['remote', 'set-url', 'origin', refusedRemote], away);
    // At origin/main's tip: pushed as the clone saw it, the remote not asked (nor missed).
    const atTip = await dispatchIn(away, ['offline, at the tip']);
    expect((await handoffOf(atTip)).baseCommit).toBe(head(away));
    expect(json<{ warnings?: string[] }>(atTip).warnings ?? []).toEqual([]);
    // Below it: the remote is asked, cannot be reached, and the tracking refs answer with a warning.
    gitCli(['switch', '-q', '--detach', 'HEAD~1'], away);
    const offline = await dispatchIn(away, ['offline']);
    expect((await handoffOf(offline)).baseCommit).toBe(head(away));
    expect(json<{ warnings: string[] }>(offline).warnings).toEqual([expect.stringContaining('the project remote cannot be reached')]);
    commit(away, 'never pushed');
    const unknown = await dispatchIn(away, ['offline, unpushed']);
    expect(json<{ error: { code: string } }>(unknown).error.code).toBe('PROJECT_REMOTE_UNREACHABLE');
  });

  it('credentials in the checkout\'s remote URL never reach the bus nor its messages: the handoff records the URL without them, and says so; --repo with a password is refused', async () => {
    // Unreachable (port 1), so the dispatch answers from the clone's remote-tracking refs, as in the test above.
    const secret = join(dir, 'with-secret');
    gitCli(['clone', '-q', remote, secret]);
    gitCli(['remote', 'set-url', 'origin', 'http://alice:s3cretTOKEN@127.0.0.1:1/app.git'], secret);
    const r = await dispatchIn(secret, ['with a token']);
    expect((await handoffOf(r)).repo).toBe('http://127.0.0.1:1/app.git');
    expect(r.stdout + r.stderr).not.toContain('s3cretTOKEN');
    // Nor the body's git state, which names the remote too.
    const { text } = await handoffFile(r);
    expect(text).toContain('**Repository:** http://127.0.0.1:1/app.git');
    expect(text).not.toContain('s3cretTOKEN');
    expect(json<{ warnings: string[] }>(r).warnings).toEqual(expect.arrayContaining([expect.stringContaining('carries credentials')]));
    // Over SSH the user name is part of the address: only the password goes.
    gitCli(['remote', 'set-url', 'origin', 'ssh://git:s3cretTOKEN@127.0.0.1:1/app.git'], secret);
    const ssh = await dispatchIn(secret, ['over ssh']);
    expect((await handoffOf(ssh)).repo).toBe('ssh://git@127.0.0.1:1/app.git');
    // Given with --repo: refused, pointing at a credential helper.
    const given = await dispatchIn(neutralCwd(), ['given', '--repo', 'http://alice:s3cretTOKEN@127.0.0.1:1/app.git']);
    expect(json<{ error: { code: string; fix: string } }>(given).error).toMatchObject({ code: 'BAD_INPUT', fix: expect.stringContaining('credential helper') });
    // ...and the refusal quotes the URL without its password, in the message, the fix and the data, as text and as
    // JSON, for dispatch, run and fanout alike.
    const url = 'http://alice:s3cretTOKEN@127.0.0.1:1/app.git';
    const refusals = [
      given,
      await gitbus(['dispatch', 'given', '--repo', url], { home, cwd: neutralCwd() }),
      await gitbus(['run', '--repo', url, '--json', '--', 'true'], { home, cwd: neutralCwd() }),
      await gitbus(['fanout', 'plan.md', '--repo', url, '--json'], { home, cwd: neutralCwd() }),
    ];
    for (const refused of refusals) {
      expect(refused.code).toBe(2);
      expect(refused.stdout + refused.stderr).not.toContain('s3cretTOKEN');
      expect(refused.stdout + refused.stderr).toContain('http://***@127.0.0.1:1/app.git');
    }
  });

  it('--base NAME that a branch and a tag share is the branch (local, else remote-tracking, else the remote\'s), with a warning naming the tag\'s ref', async () => {
    const twin = join(dir, 'twin');
    gitCli(['clone', '-q', remote, twin]);
    commit(twin, 'tagged twin');
    gitCli(['tag', 'twin', 'HEAD'], twin);
    commit(twin, 'branch twin');
    gitCli(['branch', 'twin', 'HEAD'], twin);
    gitCli(['push', '-q', 'origin', 'refs/heads/twin:refs/heads/twin', 'refs/tags/twin'], twin);
    const branch = head(twin);
    const tagged = gitCli(['rev-parse', 'refs/tags/twin'], twin).trim();
    expect(tagged).not.toBe(branch);
    const warned = expect.arrayContaining([expect.stringContaining('--base twin names a branch (refs/')]);
    for (const cwd of [twin, neutralCwd()]) {
      const r = await dispatchIn(cwd, ['from the twin branch', '--repo', remote, '--base', 'twin']);
      expect(await handoffOf(r)).toMatchObject({ base: 'twin', baseCommit: branch });
      expect(json<{ warnings: string[] }>(r).warnings).toEqual(warned);
    }
    // No local branch of that name: the remote-tracking one, still before the tag.
    gitCli(['switch', '-q', '--detach'], twin);
    gitCli(['branch', '-q', '-D', 'twin'], twin);
    const tracking = await dispatchIn(twin, ['from origin/twin', '--base', 'twin']);
    expect(await handoffOf(tracking)).toMatchObject({ baseCommit: branch });
    expect(json<{ warnings: string[] }>(tracking).warnings).toEqual(expect.arrayContaining([expect.stringContaining('(refs/remotes/origin/twin, ')]));
    // The tag by its full name.
    expect(await handoffOf(await dispatchIn(twin, ['from the tag', '--base', 'refs/tags/twin']))).toMatchObject({ baseCommit: tagged });
    // Neither a branch nor a remote-tracking one here, only a tag: the remote's branch of that name still comes first.
    const elsewhere = join(dir, 'twin-elsewhere');
    gitCli(['clone', '-q', remote, elsewhere]);
    commit(elsewhere, 'their branch');
    gitCli(['push', '-q', 'origin', 'HEAD:refs/heads/twin2'], elsewhere);
    gitCli(['tag', 'twin2', 'refs/tags/twin'], twin);
    const fromRemote = await dispatchIn(twin, ['from their branch', '--base', 'twin2']);
    expect(await handoffOf(fromRemote)).toMatchObject({ base: 'twin2', baseCommit: head(elsewhere) });
    expect(json<{ warnings: string[] }>(fromRemote).warnings).toEqual(expect.arrayContaining([expect.stringContaining(`--base twin2 names a branch (refs/heads/twin2 of ${remote}, `)]));
  });

  it('--base NAME with no local branch NAME is the remote\'s branch as it is now, not the checkout\'s stale remote-tracking ref (saying which when they differ); with the remote away, the tracking ref, with a warning', async () => {
    const mover = join(dir, 'mover');
    const stale = join(dir, 'stale');
    gitCli(['clone', '-q', remote, mover]);
    commit(mover, 'moving one');
    gitCli(['push', '-q', 'origin', 'HEAD:refs/heads/moving'], mover);
    const seen = head(mover);
    // stale fetched `moving` once (origin/moving), has no branch of that name, and has not fetched since.
    gitCli(['clone', '-q', remote, stale]);
    expect(gitCli(['rev-parse', 'refs/remotes/origin/moving'], stale).trim()).toBe(seen);
    commit(mover, 'moving two');
    gitCli(['push', '-q', 'origin', 'HEAD:refs/heads/moving'], mover);
    const tip = head(mover);
    const r = await dispatchIn(stale, ['from moving', '--repo', remote, '--base', 'moving']);
    expect(await handoffOf(r)).toMatchObject({ base: 'moving', baseCommit: tip });
    expect(json<{ warnings: string[] }>(r).warnings).toEqual([`--base moving: the branch moving of ${remote} is at ${tip.slice(0, 12)} now, and ${stale} last saw it at ${seen.slice(0, 12)} (refs/remotes/origin/moving): the task starts from ${tip.slice(0, 12)}, as the remote has it (git fetch origin updates the checkout)`]);
    // Once fetched, they agree: nothing to say.
    gitCli(['fetch', '-q', 'origin'], stale);
    const fresh = await dispatchIn(stale, ['from moving again', '--repo', remote, '--base', 'moving']);
    expect(await handoffOf(fresh)).toMatchObject({ baseCommit: tip });
    expect(json<{ warnings?: string[] }>(fresh).warnings ?? []).toEqual([]);
    // The remote out of reach: the tracking ref is all there is, said to be what the checkout last saw.
    const refusedRemote = 'ssh://127.0.0.1:1/proj.git';
    gitCli(['remote', 'set-url', 'origin', refusedRemote], stale);
    const offline = await dispatchIn(stale, ['from moving, offline', '--repo', refusedRemote, '--base', 'moving']);
    expect(await handoffOf(offline)).toMatchObject({ base: 'moving', baseCommit: tip });
    expect(json<{ warnings: string[] }>(offline).warnings).toEqual(expect.arrayContaining([`--base moving: the project remote cannot be reached, so the task starts from ${tip.slice(0, 12)}, where ${stale} last saw the branch (refs/remotes/origin/moving); the remote may have moved it since`]));
  });

  it('--repo WORD that names no node.yaml project and no remote is a path: when none is there, the error says so and lists the projects', async () => {
    editNode(home, (c) => ({ ...c, projects: { alpha: { url: remote }, beta: { url: remote } } }));
    try {
      const r = await dispatchIn(neutralCwd(), ['nt work', '--repo', 'nt']);
      expect(r.code, r.stderr).toBe(6);
      const error = json<{ error: { code: string; message: string; fix: string; data: { repo: string; projects: string[] } } }>(r).error;
      expect(error).toMatchObject({ code: 'PROJECT_REMOTE_UNREACHABLE', data: { repo: 'nt', projects: ['alpha', 'beta'] } });
      expect(error.message).toContain(`the project remote ${join(neutralCwd(), 'nt')} cannot be read`);
      expect(error.message).toContain('--repo nt was taken as a path because no node.yaml project and no remote of the checkout here is named nt (node.yaml names alpha, beta)');
      expect(error.fix).toContain('a project name node.yaml has');
      // A name node.yaml has is that project.
      expect(await handoffOf(await dispatchIn(neutralCwd(), ['alpha work', '--repo', 'alpha']))).toMatchObject({ repo: 'alpha' });
    } finally {
      editNode(home, ({ projects: _p, ...c }) => c);
    }
  });

  it('a temp dir for the suite is inside no checkout, so plain test dispatches stay plain', async () => {
    const t = await tempDir();
    try {
      expect(() => execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: neutralCwd(), stdio: 'ignore' })).toThrow();
      const h = await handoffOf(await dispatchIn(t.path, ['plain']));
      expect(h.repo).toBeUndefined();
    } finally {
      await t.cleanup();
    }
  });
});
