import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json, neutralCwd, type RunResult } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { gitShim, makeProject } from '../helpers/project.js';

/**
 * Issue 14, a dispatch from a checkout on a git host: the base check lists the project remote's branches and tags
 * alone (`git ls-remote --heads --tags`, which protocol v2 asks of the remote as ref prefixes), not every ref it
 * has (a GitHub repository's `refs/pull/*`); everything only when the answer needs a ref outside them; nothing when
 * HEAD is at a tip of the remote's tracking refs (session 60). A real project remote holding a pull request's ref,
 * and a git shim on PATH noting each listing.
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
  /** The listings a shim (this file's, by default) noted since its last reset. */
  const listings = (of: ReturnType<typeof gitShim> = shim) => of.calls().filter((c) => c.startsWith('ls-remote'));
  const dispatch = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> => {
    shim.reset();
    return gitbus(['dispatch', ...args, '--json'], { home, cwd, process: true, env: { ...shim.env, ...env } });
  };
  /** One git setting for every git a process runs, through git's environment (GIT_CONFIG_COUNT). */
  const gitConfig = (key: string, value: string): NodeJS.ProcessEnv => ({ GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: key, GIT_CONFIG_VALUE_0: value });
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

  it('HEAD at the tip of the remote\'s tracking ref (a dispatch right after `git push`): no listing at all, the branch and the commit as pushed', async () => {
    const r = await dispatch(['right after a push'], checkout);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ project: { base: string; baseCommit: string } }>(r).project).toMatchObject({ base: 'main', baseCommit: head() });
    expect(listings()).toEqual([]);
    expect(shim.calls()).toContain('for-each-ref --points-at=HEAD --format=%(objectname) %(refname) refs/remotes/');
    // The same commit detached is the same answer: a tracking ref of the project remote is at it.
    gitCli(['switch', '-q', '--detach'], checkout);
    try {
      const detached = await dispatch(['detached at the pushed commit'], checkout);
      expect(detached.code, detached.stderr).toBe(0);
      expect(json<{ project: { base: string; baseCommit: string } }>(detached).project).toMatchObject({ base: head(), baseCommit: head() });
      expect(listings()).toEqual([]);
    } finally {
      gitCli(['switch', '-q', 'main'], checkout);
    }
  });

  it('not for a remote with a push URL of its own, nor with refs of another remote named below it: the remote is listed; the first vouched for with a warning of where pushes go, the second refused with the push that fixes it', async () => {
    type Refusal = { code: string; message: string; fix: string; data: { command: string; commit: string; elsewhere?: boolean } };
    /** A commit made on a branch of its own and pushed with `push` after `setUp`, then dispatched: `check` has the result. */
    const pushedElsewhere = async (branch: string, setUp: () => void, push: string[], tearDown: () => void, check: (r: RunResult) => Promise<void>) => {
      setUp();
      gitCli(['switch', '-q', '-c', branch], checkout);
      try {
        commit(`only on ${branch}`);
        gitCli(['push', '-q', ...push, branch], checkout);
        await check(await dispatch([`pushed as ${branch}`], checkout));
      } finally {
        tearDown();
        gitCli(['switch', '-q', 'main'], checkout);
        // Not left on the remote for the tests after (their commits would be on its branches), if it got there.
        if (gitCli(['ls-remote', '--heads', remote, branch], checkout).trim() !== '') gitCli(['push', '-q', remote, '--delete', branch], checkout);
      }
    };
    // A fork's workflow: `git push origin` goes to the fork and moves refs/remotes/origin/*. They vouch as before (most
    // push URLs are the same repository over ssh), and the warning says where pushes went.
    const vouchedWithWarning = async (r: RunResult) => {
      expect(listings()).toEqual([SCOPED()]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).toMatch(/last saw it.*pushes go to another URL than .*a fork/s);
    };
    const fork = join(bus.dir, 'fork.git');
    gitCli(['clone', '-q', '--bare', remote, fork]);
    await pushedElsewhere('forked', () => gitCli(['remote', 'set-url', '--push', 'origin', fork], checkout), ['-u', 'origin'], () => gitCli(['remote', 'set-url', '--delete', '--push', 'origin', '.*'], checkout), vouchedWithWarning);
    // The same through url.<fork>.pushInsteadOf <origin's url>: git pushes origin's branches to the fork.
    await pushedElsewhere('forked-again', () => gitCli(['config', `url.${fork}.pushInsteadOf`, remote], checkout), ['-u', 'origin'], () => gitCli(['config', '--unset', `url.${fork}.pushInsteadOf`], checkout), vouchedWithWarning);
    // origin/mirror, a remote of its own: its refs/remotes/origin/mirror/* are not origin's, and vouch for nothing.
    const mirror = join(bus.dir, 'mirror.git');
    gitCli(['init', '-q', '--bare', mirror]);
    await pushedElsewhere(
      'mirrored',
      () => gitCli(['remote', 'add', 'origin/mirror', mirror], checkout),
      // Not -u: the branch would then track origin/mirror, and the project be the mirror.
      ['origin/mirror'],
      () => gitCli(['remote', 'remove', 'origin/mirror'], checkout),
      async (r) => {
        // On no branch or tag of origin, and vouched for by nothing: looked for among its other refs (a pull request's).
        expect(listings()).toEqual([SCOPED(), FULL()]);
        expect(r.code, r.stdout + r.stderr).toBe(5);
        const error = json<{ error: Refusal }>(r).error;
        expect(error).toMatchObject({ code: 'BASE_NOT_PUSHED', data: { command: 'git push -u origin HEAD:mirrored', commit: head() } });
        expect(error.data.elsewhere).toBeUndefined();
        execFileSync('sh', ['-c', error.data.command], { cwd: checkout, stdio: 'ignore' });
        const again = await dispatch(['pushed as mirrored, then as the refusal said'], checkout);
        expect(again.code, again.stdout + again.stderr).toBe(0);
        expect(json<{ project: { baseCommit: string } }>(again).project.baseCommit).toBe(head());
      },
    );
  });

  it('a commit on no ref of a remote whose pushes go to another URL is refused with a push to the URL the task reads', async () => {
    const fork = join(bus.dir, 'fork-two.git');
    gitCli(['clone', '-q', '--bare', remote, fork]);
    gitCli(['remote', 'set-url', '--push', 'origin', fork], checkout);
    gitCli(['switch', '-q', '-c', 'unpushed'], checkout);
    try {
      commit('pushed nowhere');
      const r = await dispatch(['not pushed'], checkout);
      expect(r.code, r.stdout + r.stderr).toBe(5);
      const error = json<{ error: { message: string; fix: string; data: { command: string; elsewhere?: boolean } } }>(r).error;
      expect(error.data).toMatchObject({ command: `git push ${remote} unpushed`, elsewhere: true });
      expect(`${error.message} ${error.fix}`).toMatch(/goes to another URL.*give --repo/s);
      // `git push origin` would go to the fork: the command goes where the task reads.
      execFileSync('sh', ['-c', error.data.command], { cwd: checkout, stdio: 'ignore' });
      const again = await dispatch(['pushed where the task reads'], checkout);
      expect(again.code, again.stdout + again.stderr).toBe(0);
    } finally {
      gitCli(['remote', 'set-url', '--delete', '--push', 'origin', '.*'], checkout);
      gitCli(['switch', '-q', 'main'], checkout);
      if (gitCli(['ls-remote', '--heads', remote, 'unpushed'], checkout).trim() !== '') gitCli(['push', '-q', remote, '--delete', 'unpushed'], checkout);
    }
  });

  it('a commit made while the look runs is not taken for the pushed one before it: the refs are read against the HEAD status saw', async () => {
    const pushed = head();
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    const dir = mkdtempSync(join(bus.dir, 'git-race-'));
    // status runs after a commit lands; for-each-ref as it answered a moment before it (HEAD still the pushed commit).
    writeFileSync(
      join(dir, 'git'),
      `#!/bin/sh\ncase "$*" in\n*'status --porcelain=v2'*) '${realGit}' -c user.name=a -c user.email=a@b commit -q --allow-empty -m 'committed meanwhile' ;;\n*'for-each-ref --points-at=HEAD'*) exec '${realGit}' for-each-ref --points-at=${pushed} '--format=%(objectname) %(refname)' refs/remotes/ ;;\nesac\nexec '${realGit}' "$@"\n`,
      { mode: 0o755 },
    );
    try {
      const r = await gitbus(['dispatch', 'while committing', '--json'], { home, cwd: checkout, process: true, env: { PATH: `${dir}:${process.env['PATH'] ?? ''}` } });
      expect(head()).not.toBe(pushed);
      expect(r.code, r.stdout).toBe(5);
      expect(json<{ error: { code: string } }>(r).error.code).toBe('BASE_NOT_PUSHED');
    } finally {
      gitCli(['reset', '-q', '--hard', pushed], checkout);
    }
  });

  it('a base on a branch: one listing of branches and tags, and the remote sends no other ref', async () => {
    const trace = join(bus.dir, 'packets.log');
    // Protocol v2 whatever this machine's git config says (git's default since 2.26). A base named, not HEAD's: listed.
    const r = await dispatch(['on main', '--base', 'main'], checkout, { GIT_TRACE_PACKET: trace, ...gitConfig('protocol.version', '2') });
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

  it('a checkout behind its remote, or on a branch since deleted there: its remote-tracking refs vouch, with the warning as before and one listing below their tips, without either at a tip', async () => {
    // A commit of this checkout's pushed, and then someone else pushes to main: the remote's tip is a commit this
    // checkout has not fetched, and the one below this checkout's tracking ref is on no tip it knows.
    commit('pushed from here');
    gitCli(['push', '-q', 'origin', 'main'], checkout);
    const mate = join(bus.dir, 'mate');
    gitCli(['clone', '-q', remote, mate]);
    gitCli(['-c', 'user.name=m', '-c', 'user.email=m@x', 'commit', '-q', '--allow-empty', '-m', 'theirs'], mate);
    gitCli(['push', '-q', 'origin', 'main'], mate);
    try {
      // At origin/main's tip: taken as pushed, as the checkout last saw the remote; nothing asked of it.
      const atTip = await dispatch(['behind, at the tracking tip'], checkout);
      expect(atTip.code, atTip.stderr).toBe(0);
      expect(json<{ project: { baseCommit: string } }>(atTip).project.baseCommit).toBe(head());
      expect(atTip.stdout + atTip.stderr).not.toContain('last saw it');
      expect(listings()).toEqual([]);
      gitCli(['switch', '-q', '--detach', 'HEAD~1'], checkout);
      const behind = await dispatch(['behind'], checkout);
      expect(behind.code, behind.stderr).toBe(0);
      expect(json<{ project: { baseCommit: string } }>(behind).project.baseCommit).toBe(head());
      expect(behind.stdout + behind.stderr).toContain(`${head().slice(0, 12)} is on it as ${checkout} last saw it`);
      expect(listings()).toEqual([SCOPED()]);
    } finally {
      gitCli(['switch', '-q', 'main'], checkout);
      gitCli(['fetch', '-q', 'origin'], checkout);
      gitCli(['merge', '-q', '--ff-only', 'origin/main'], checkout);
    }

    // A branch pushed (so origin/gone is here), then deleted on the remote by someone else.
    gitCli(['switch', '-q', '-c', 'gone'], checkout);
    try {
      commit('on a branch since deleted');
      commit('its tip');
      gitCli(['push', '-q', 'origin', 'gone'], checkout);
      gitCli(['--git-dir', remote, 'branch', '-q', '-D', 'gone']);
      // At origin/gone's tip: the checkout cannot know the branch went without asking (the worker's fetch says it).
      const atTip = await dispatch(['from a deleted branch\'s tip'], checkout);
      expect(atTip.code, atTip.stderr).toBe(0);
      expect(listings()).toEqual([]);
      gitCli(['switch', '-q', '--detach', 'HEAD~1'], checkout);
      const r = await dispatch(['from a deleted branch'], checkout);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).toContain(`${head().slice(0, 12)} is on it as ${checkout} last saw it`);
      expect(listings()).toEqual([SCOPED()]);
    } finally {
      gitCli(['switch', '-q', 'main'], checkout);
    }
  });

  it('when the whole listing fails after the first, the check goes on from the branches and tags and says so: an unpushed commit is BASE_NOT_PUSHED naming the failure, a commit id is accepted with a warning', async () => {
    const away = gitShim(bus.dir, { when: 'ls-remote --symref', stderr: "fatal: Authentication failed for 'https://git.example/proj.git/'" });
    gitCli(['switch', '-q', '--detach'], checkout);
    try {
      commit('not pushed, and the whole listing refused');
      const r = await gitbus(['dispatch', 'refused twice', '--json'], { home, cwd: checkout, process: true, env: away.env });
      expect(r.code, r.stderr).toBe(5);
      const error = json<{ error: { code: string; message: string; data: { command: string; unlisted: string } } }>(r).error;
      expect(error).toMatchObject({ code: 'BASE_NOT_PUSHED', data: { command: expect.stringContaining('git push origin'), unlisted: expect.stringContaining('Authentication failed') } });
      expect(error.message).toContain('its other refs could not be listed: ');
      expect(listings(away)).toEqual([SCOPED(), FULL()]);
    } finally {
      gitCli(['switch', '-q', 'main'], checkout);
    }
    // A commit id without a checkout: accepted as a commit no tip names, with a warning that the other refs could not be listed.
    away.reset();
    const unknown = 'e'.repeat(40);
    const byId = await gitbus(['dispatch', 'by id, whole listing refused', '--repo', remote, '--base', unknown, '--json'], { home, cwd: neutralCwd(), process: true, env: away.env });
    expect(byId.code, byId.stderr).toBe(0);
    expect(byId.stdout + byId.stderr).toContain(`${unknown} is no branch or tag tip of ${remote}`);
    expect(byId.stdout + byId.stderr).toContain('listing its other refs failed (');
    expect(listings(away)).toEqual([SCOPED(), FULL()]);
  });

  it('a git without `ls-remote --heads` (a synonym git 2.46 may drop) lists everything instead; a remote that speaks protocol v0 gives the same answers', async () => {
    const old = gitShim(bus.dir, { when: 'ls-remote --heads', stderr: "error: unknown option `heads'", code: 129 });
    const r = await gitbus(['dispatch', 'no --heads', '--base', 'main', '--json'], { home, cwd: checkout, process: true, env: old.env });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ project: { base: string; baseCommit: string } }>(r).project).toMatchObject({ base: 'main', baseCommit: head() });
    expect(listings(old)).toEqual([SCOPED(), FULL()]);

    const v0 = await dispatch(['over protocol v0', '--base', 'main'], checkout, gitConfig('protocol.version', '0'));
    expect(v0.code, v0.stderr).toBe(0);
    expect(json<{ project: { baseCommit: string } }>(v0).project.baseCommit).toBe(head());
    expect(listings()).toEqual([SCOPED()]);
  });

  it('--base HEAD in a checkout with no commit yet is the remote\'s HEAD, from the whole listing', async () => {
    const fresh = join(bus.dir, 'fresh');
    gitCli(['init', '-q', '-b', 'main', fresh]);
    gitCli(['remote', 'add', 'origin', remote], fresh);
    const r = await dispatch(['from the remote\'s HEAD', '--base', 'HEAD'], fresh);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ project: { base: string; baseCommit: string } }>(r).project).toMatchObject({ base: 'HEAD', baseCommit: gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim() });
    expect(listings()).toEqual([FULL()]);
  });

  it('--base HEAD inside a checkout, and an annotated tag by name or by its id: branches and tags are enough, and the tag\'s commit is the base commit', async () => {
    const atHead = await dispatch(['from HEAD', '--base', 'HEAD'], checkout);
    expect(atHead.code, atHead.stderr).toBe(0);
    expect(json<{ project: { baseCommit: string } }>(atHead).project.baseCommit).toBe(head());
    expect(listings()).toEqual([SCOPED()]);

    gitCli(['tag', '-a', '-m', 'release', 'v9', 'HEAD'], checkout);
    gitCli(['push', '-q', 'origin', 'v9'], checkout);
    const byTag = await dispatch(['from a tag', '--repo', remote, '--base', 'v9'], neutralCwd());
    expect(byTag.code, byTag.stderr).toBe(0);
    expect(json<{ project: { baseCommit: string } }>(byTag).project.baseCommit).toBe(head());
    expect(listings()).toEqual([SCOPED()]);

    // The tag object's own id, as `git ls-remote` shows it: the task starts from the commit it points at.
    const tagId = gitCli(['rev-parse', 'v9'], checkout).trim();
    expect(tagId).not.toBe(head());
    const byTagId = await dispatch(['from the tag\'s id', '--repo', remote, '--base', tagId], neutralCwd());
    expect(byTagId.code, byTagId.stderr).toBe(0);
    expect(json<{ project: { base: string; baseCommit: string } }>(byTagId).project).toMatchObject({ base: tagId, baseCommit: head() });
    expect(byTagId.stdout + byTagId.stderr).not.toContain('is no branch or tag tip');
    expect(listings()).toEqual([SCOPED()]);
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

  it('a scripted fan-out asks for the remote\'s branches and tags alone', async () => {
    const plan = join(bus.dir, 'fan.md');
    writeFileSync(plan, '---\ntitle: Fan\nworkstreams:\n  - {name: a, tasks: do a}\n---\nThe brief.\n');
    shim.reset();
    const main = gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim();
    const r = await gitbus(['fanout', plan, '--repo', remote, '--base', 'main', '--base-commit', main, '--dry-run', '--json'], { home, cwd: neutralCwd(), process: true, env: shim.env });
    expect(r.code, r.stderr).toBe(0);
    expect(listings()).toEqual([SCOPED()]);
  });
});
