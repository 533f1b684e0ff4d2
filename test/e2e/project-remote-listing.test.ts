import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json, neutralCwd, type RunResult } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { gitShim, makeProject } from '../helpers/project.js';

/**
 * Issue 14, a dispatch from a checkout on a git host: the base check lists the project remote's branches and tags
 * alone (`git ls-remote --heads --tags`, which protocol v2 asks of the remote as ref prefixes), not every ref it
 * has (a GitHub repository's `refs/pull/*`); everything only when the answer needs a ref outside them. A real
 * project remote holding a pull request's ref, and a git shim on PATH noting each listing.
 */
describe('the base check lists the project remote\'s branches and tags, everything only when it must', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home: string;
  let remote: string;
  let checkout: string;
  /** A commit the remote has under refs/pull/7/head alone, as a host keeps a pull request's head. */
  let pullCommit: string;
  let shim: ReturnType<typeof gitShim>;

  const FULL = () => `ls-remote --symref ${remote}`;
  const SCOPED = () => `ls-remote --heads --tags ${remote}`;
  const listings = () => shim.calls().filter((c) => c.startsWith('ls-remote'));
  const dispatch = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> => {
    shim.reset();
    return gitbus(['dispatch', ...args, '--json'], { home, cwd, process: true, env: { ...shim.env, ...env } });
  };
  const commit = (message: string) => gitCli(['commit', '-q', '--allow-empty', '-m', message], checkout);
  const head = () => gitCli(['rev-parse', 'HEAD'], checkout).trim();

  beforeAll(async () => {
    bus = await makeBus({ node: 'laptop' });
    home = bus.home('laptop');
    ({ remote, checkout } = makeProject(bus.dir));
    gitCli(['switch', '-q', '-c', 'contribution'], checkout);
    commit('a pull request');
    pullCommit = head();
    gitCli(['push', '-q', 'origin', 'HEAD:refs/pull/7/head'], checkout);
    gitCli(['switch', '-q', 'main'], checkout);
    gitCli(['branch', '-q', '-D', 'contribution'], checkout);
    shim = gitShim(bus.dir);
  });
  afterAll(async () => bus?.cleanup());

  it('a base on a branch: one listing of branches and tags, and the remote sends no other ref', async () => {
    const trace = join(bus.dir, 'packets.log');
    const r = await dispatch(['on main'], checkout, { GIT_TRACE_PACKET: trace });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ project: { base: string; baseCommit: string } }>(r).project).toMatchObject({ base: 'main', baseCommit: head() });
    expect(listings()).toEqual([SCOPED()]);
    // What went over the wire (protocol v2): the prefixes asked for, and no pull request's ref in the answer.
    const packets = readFileSync(trace, 'utf8');
    expect(packets).toContain('ref-prefix refs/heads/');
    expect(packets).toContain('refs/heads/main');
    expect(packets).not.toContain('refs/pull/7/head');
  });

  it('a commit only a pull request\'s ref holds is still on the remote: the whole listing is read after the first', async () => {
    gitCli(['switch', '-q', '--detach', pullCommit], checkout);
    try {
      const r = await dispatch(['from the pull request'], checkout);
      expect(r.code, r.stderr).toBe(0);
      expect(json<{ project: { baseCommit: string } }>(r).project.baseCommit).toBe(pullCommit);
      expect(listings()).toEqual([SCOPED(), FULL()]);
    } finally {
      gitCli(['switch', '-q', 'main'], checkout);
    }
  });

  it('a commit on no ref at all is refused as before, after both listings', async () => {
    gitCli(['switch', '-q', '--detach'], checkout);
    try {
      commit('nowhere');
      const r = await dispatch(['unpushed'], checkout);
      expect(r.code, r.stderr).toBe(5);
      expect(json<{ error: { code: string } }>(r).error.code).toBe('BASE_NOT_PUSHED');
      expect(listings()).toEqual([SCOPED(), FULL()]);
    } finally {
      gitCli(['switch', '-q', 'main'], checkout);
    }
  });

  it('when the whole listing fails as an outage after the first, the checkout\'s remote-tracking refs vouch for the commit, with a warning', async () => {
    // A branch pushed (so origin/gone is here), then deleted on the remote by someone else: on no branch or tag there now.
    gitCli(['switch', '-q', '-c', 'gone'], checkout);
    commit('on a branch since deleted');
    const sha = head();
    gitCli(['push', '-q', 'origin', 'gone'], checkout);
    gitCli(['--git-dir', remote, 'branch', '-q', '-D', 'gone']);
    const away = gitShim(bus.dir, { when: 'ls-remote --symref', stderr: 'fatal: unable to access the remote: Could not resolve host: git.example' });
    try {
      const r = await gitbus(['dispatch', 'while the host is away', '--json'], { home, cwd: checkout, process: true, env: away.env });
      expect(r.code, r.stderr).toBe(0);
      expect(json<{ project: { baseCommit: string } }>(r).project.baseCommit).toBe(sha);
      expect(r.stdout + r.stderr).toContain(`the project remote cannot be reached (`);
      expect(r.stdout + r.stderr).toContain(`${sha.slice(0, 12)} is on origin as ${checkout} last saw it`);
      expect(away.calls().filter((c) => c.startsWith('ls-remote'))).toEqual([SCOPED(), FULL()]);
    } finally {
      gitCli(['switch', '-q', 'main'], checkout);
    }
  });

  it('a base outside branches and tags, the remote\'s HEAD or its default branch: one whole listing', async () => {
    const byRef = await dispatch(['by ref', '--repo', remote, '--base', 'refs/pull/7/head'], neutralCwd());
    expect(byRef.code, byRef.stderr).toBe(0);
    expect(json<{ project: { base: string; baseCommit: string } }>(byRef).project).toMatchObject({ base: 'refs/pull/7/head', baseCommit: pullCommit });
    expect(listings()).toEqual([FULL()]);

    const byDefault = await dispatch(['by default', '--repo', remote], neutralCwd());
    expect(byDefault.code, byDefault.stderr).toBe(0);
    expect(json<{ project: { base: string } }>(byDefault).project.base).toBe('main');
    expect(listings()).toEqual([FULL()]);

    const byHead = await dispatch(['by HEAD', '--repo', remote, '--base', 'HEAD'], neutralCwd());
    expect(byHead.code, byHead.stderr).toBe(0);
    expect(json<{ project: { baseCommit: string } }>(byHead).project.baseCommit).toBe(gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim());
    expect(listings()).toEqual([FULL()]);
  });

  it('a commit id without a checkout: no warning when a pull request\'s ref has it at its tip, a warning when no ref does', async () => {
    const tip = await dispatch(['by id', '--repo', remote, '--base', pullCommit], neutralCwd());
    expect(tip.code, tip.stderr).toBe(0);
    expect(tip.stdout + tip.stderr).not.toContain('is no branch or tag tip');
    expect(listings()).toEqual([SCOPED(), FULL()]);

    const main = gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim();
    const onMain = await dispatch(['by main\'s id', '--repo', remote, '--base', main], neutralCwd());
    expect(onMain.code, onMain.stderr).toBe(0);
    expect(listings()).toEqual([SCOPED()]);

    const unknown = 'f'.repeat(40);
    const nowhere = await dispatch(['by an unknown id', '--repo', remote, '--base', unknown], neutralCwd());
    expect(nowhere.code, nowhere.stderr).toBe(0);
    expect(nowhere.stdout + nowhere.stderr).toContain(`${unknown} is no branch or tag tip of ${remote}`);
    expect(listings()).toEqual([SCOPED(), FULL()]);
  });

  it('a scripted fan-out asks for the remote\'s branches alone', async () => {
    const plan = join(bus.dir, 'fan.md');
    writeFileSync(plan, '---\ntitle: Fan\nworkstreams:\n  - {name: a, tasks: do a}\n---\nThe brief.\n');
    shim.reset();
    const main = gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim();
    const r = await gitbus(['fanout', plan, '--repo', remote, '--base', 'main', '--base-commit', main, '--dry-run', '--json'], { home, cwd: neutralCwd(), process: true, env: shim.env });
    expect(r.code, r.stderr).toBe(0);
    expect(listings()).toEqual([SCOPED()]);
  });
});
