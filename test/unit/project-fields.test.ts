import { describe, it, expect } from 'vitest';
import { planProject, headBase, type PlanInput, type ProjectPlan } from '../../bus/project/fields.js';
import { chooseRemote, pushElsewhere, refsAt, remotesOfConfig, type Checkout } from '../../bus/project/checkout.js';
import { absoluteRemoteUrl, isLocalPath, localRemotePath, nodeProjectUrls, sameRemote } from '../../bus/project/remote-url.js';
import { pushCommand } from '../../bus/project/base-check.js';
import { parseLsRemote, remoteRef } from '../../bus/project/ls-remote.js';
import { listingScope, peeledTag, pushedAsSeen } from '../../bus/project/resolve.js';
import { GitbusError } from '../../schemas/errors.js';

const HEAD = 'a'.repeat(40);

function checkout(over: Partial<Checkout> = {}): Checkout {
  const remotes = over.remotes ?? [{ name: 'origin', url: '/srv/proj.git' }];
  return { top: '/home/ada/proj', isBus: false, remotes, remote: remotes[0] ?? null, branch: 'feature', upstream: { remote: 'origin', branch: 'feature' }, head: HEAD, changes: 0, ...over };
}

function plan(over: Partial<PlanInput> = {}): ReturnType<typeof planProject> {
  return planProject({ flags: {}, implicit: true, checkout: checkout(), projects: {}, cwd: '/home/ada/proj/sub', ...over });
}

function project(over: Partial<PlanInput> = {}): ProjectPlan {
  const r = plan(over);
  if (r.project === null) throw new Error(`expected project work, got a plain task (${r.note ?? 'no note'})`);
  return r.project;
}

function refusal(over: Partial<PlanInput>): GitbusError {
  try {
    plan(over);
  } catch (err) {
    if (err instanceof GitbusError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('remote URLs', () => {
  it('tells paths from URLs the way git does', () => {
    for (const path of ['/srv/p.git', '../p.git', 'p.git', 'dir/with:colon', 'file:///srv/p.git']) expect(isLocalPath(path), path).toBe(true);
    for (const url of ['https://h/p.git', 'ssh://h/p', 'host:p.git', 'git@github.com:o/p.git', '[::1]:p']) expect(isLocalPath(url), url).toBe(false);
  });

  it('makes relative paths absolute and leaves URLs alone', () => {
    expect(absoluteRemoteUrl('../r.git', '/home/ada/proj')).toBe('/home/ada/r.git');
    expect(absoluteRemoteUrl('/srv/r.git', '/home/ada/proj')).toBe('/srv/r.git');
    expect(absoluteRemoteUrl('gpu:r.git', '/home/ada/proj')).toBe('gpu:r.git');
    expect(absoluteRemoteUrl('https://h/r.git', '/x')).toBe('https://h/r.git');
    expect(absoluteRemoteUrl('file:///srv/r.git', '/x')).toBe('file:///srv/r.git');
  });

  it('maps node.yaml projects to URLs one way for dispatch, fanout and the MCP server: ~ in the user home, relative in the bus home', () => {
    expect(nodeProjectUrls({ a: { url: '~/src/a.git' }, b: { url: 'repos/b.git' }, c: { url: 'git@h:c.git' } }, '/h/.gitbus', '/h')).toEqual({ a: '/h/src/a.git', b: '/h/.gitbus/repos/b.git', c: 'git@h:c.git' });
    expect(nodeProjectUrls(undefined, '/h/.gitbus', '/h')).toEqual({});
  });

  it('compares remotes across spellings of one path', () => {
    expect(sameRemote('/srv/r.git/', 'file:///srv/r.git')).toBe(true);
    // As git opens them (git ls-remote): file://localhost, escapes, repeated slashes and "." parts are one path.
    for (const same of ['file://localhost/srv/r.git', 'file:///srv/r%2egit', '/srv//./r.git/']) expect(sameRemote(same, '/srv/r.git'), same).toBe(true);
    // Not "..": the system takes it after following a link, so /srv/x/../r.git is /srv/r.git only when x is none.
    expect(sameRemote('/srv/x/../r.git', '/srv/r.git')).toBe(false);
    // Nor ".git", one rule for paths as for URLs: git opens /srv/r.git for /srv/r when only the former exists, and
    // "git clone /srv/r" records origin /srv/r.
    expect(sameRemote('/srv/r.git', '/srv/r')).toBe(true);
    expect(sameRemote('file:///srv/r.git', 'file:///srv/r/')).toBe(true);
    expect(sameRemote('/srv/r/.git', '/srv/r')).toBe(true);
    expect(sameRemote('/srv/r.git', '/srv/q')).toBe(false);
    // FILE:// is no transport of git's; a `%` without two hex digits stays as written (git 2.39 opens
    // file:///srv/r%zz as the folder /srv/r%zz), and escapes that are no UTF-8 decode as git's bytes do.
    expect(sameRemote('FILE:///srv/r.git', '/srv/r.git')).toBe(false);
    expect(sameRemote('file:///srv/r%zz', '/srv/r%zz')).toBe(true);
    // The host of a file:// URL is this machine's as the bus's transport takes it (WHATWG URL: localhost in any
    // case); any other host is not read as a path here.
    for (const local of ['file://LOCALHOST/srv/r.git', 'file://LocalHost/srv/r.git']) expect(localRemotePath(local), local).toBe('/srv/r');
    expect(localRemotePath('file://otherhost/srv/r.git')).toBeNull();
  });

  it('compares a file:// URL whose percent-encoding is no UTF-8 as git reads it, without throwing', () => {
    // A checkout's remote is the person's own git config: `git remote add origin file:///srv/%E0%A4%A` is legal.
    expect(sameRemote('file:///srv/%E0%A4%A', '/srv/r.git')).toBe(false);
    expect(sameRemote('file:///srv/%E0%A4%A', 'file:///srv/%E0%A4%A/')).toBe(true);
    expect(sameRemote('file:///srv/caf%C3%A9%2525.git', '/srv/café%25.git')).toBe(true);
  });

  it('compares byte paths: an escape that is no UTF-8, a U+FFFD and a literal "%XX" are three paths, as git opens three', () => {
    const distinct = ['file:///srv/%E0', 'file:///srv/%FF', '/srv/\uFFFD', '/srv/%E0', 'file:///srv/%C0%AE'];
    for (const a of distinct) for (const b of distinct) expect(sameRemote(a, b), `${a} ${b}`).toBe(a === b);
    expect(localRemotePath('file:///srv/%e0%ff')).toBe('/srv/%E0%FF');
    expect(localRemotePath('/srv/%E0')).toBe('/srv/%25E0');
    // The same bytes however they are spelled: escaped or not, upper or lower case, the UTF-8 of a U+FFFD.
    expect(sameRemote('file:///srv/%ef%bf%bd', '/srv/\uFFFD')).toBe(true);
    expect(sameRemote('file:///srv/%E0', 'file:///srv/%e0/')).toBe(true);
    expect(sameRemote('file:///srv/%2525E0', '/srv/%25E0')).toBe(true);
  });

  it('leaves a trailing ".git" on a last part that would be empty, "." or ".." without it', () => {
    expect(localRemotePath('/srv/x/...git')).toBe('/srv/x/...git');
    expect(localRemotePath('/srv/..git')).toBe('/srv/..git');
    expect(sameRemote('/srv/..git', '/srv')).toBe(false);
    expect(sameRemote('/srv/x/...git', '/srv/x/..')).toBe(false);
    expect(sameRemote('file:///srv/%2E.git', '/srv')).toBe(false);
    // A last part ".git" is the working tree's repository; "..x.git" is the folder "..x".
    expect(localRemotePath('/srv/x/.git')).toBe('/srv/x');
    expect(localRemotePath('/srv/..x.git')).toBe('/srv/..x');
    expect(localRemotePath('/srv/x.git/')).toBe('/srv/x');
  });
});

describe('the checkout facts', () => {
  it("reads each remote's first URL from the configuration, rewritten by the longest insteadOf, absolute, by name", () => {
    const entry = (key: string, value?: string) => (value === undefined ? key : `${key}\n${value}`);
    const out = [
      entry('remote.origin.url', '../r.git'),
      entry('branch.main.remote', 'origin'),
      entry('remote.origin.url', '/second/ignored.git'),
      entry('remote.gh.url', 'https://github.com/o/p.git'),
      entry('remote.my.fork.url', 'gh:me/p.git'),
      entry('url.ssh://git@github.com/.insteadof', 'https://github.com/'),
      entry('url.https://gitlab.example/.insteadof', 'https://'),
      entry('url.git@github.com:.insteadof', 'gh:'),
      // Equally long: the base met first wins, as in git's list of rewrites.
      entry('remote.tie.url', 'tt:x'),
      entry('url.first:.insteadof', 'tt:'),
      entry('url.second:.insteadof', 'tt:'),
      // A name that is a path: git ignores it.
      entry('remote./abs.url', '/x.git'),
      // Without a value (git refuses the configuration): passed over.
      entry('remote.bare.url'),
      entry('url.nothing.insteadof'),
      '',
    ].join('\0');
    expect(remotesOfConfig(out, '/home/ada/proj')).toEqual([
      { name: 'gh', url: 'ssh://git@github.com/o/p.git' },
      { name: 'my.fork', url: 'git@github.com:me/p.git' },
      { name: 'origin', url: '/home/ada/r.git' },
      { name: 'tie', url: 'first:x' },
    ]);
    expect(remotesOfConfig('', '/x')).toEqual([]);
  });

  it("chooses the branch's upstream remote, else origin, else the only remote", () => {
    const a = { name: 'a', url: '/a' };
    const origin = { name: 'origin', url: '/o' };
    expect(chooseRemote([origin, a], { remote: 'a', branch: 'x' }).remote).toBe(a);
    expect(chooseRemote([a, origin], null).remote).toBe(origin);
    expect(chooseRemote([a], null).remote).toBe(a);
    expect(chooseRemote([], null)).toEqual({ remote: null, why: 'the checkout has no remote' });
    expect(chooseRemote([a, { name: 'b', url: '/b' }], null).why).toMatch(/2 remotes \(a, b\), none named origin/);
  });

  it('the base from HEAD is the branch as the remote names it, or the commit when detached', () => {
    expect(headBase(checkout(), 'origin')).toBe('feature');
    expect(headBase(checkout({ branch: 'local-name', upstream: { remote: 'origin', branch: 'their-name' } }), 'origin')).toBe('their-name');
    expect(headBase(checkout({ upstream: { remote: 'fork', branch: 'x' } }), 'origin')).toBe('feature');
    expect(headBase(checkout({ branch: null, upstream: null }), 'origin')).toBe(HEAD);
    expect(headBase(checkout({ head: null }), 'origin')).toBeNull();
  });
});

describe('planProject: which code a task works on', () => {
  it('inside a checkout, no flags: its remote, its branch at HEAD', () => {
    expect(project()).toEqual({ repo: '/srv/proj.git', url: '/srv/proj.git', remoteName: 'origin', local: checkout(), base: 'feature', head: true, warnings: [] });
  });

  it('a detached HEAD: the base is the commit', () => {
    expect(project({ checkout: checkout({ branch: null, upstream: null }) })).toMatchObject({ base: HEAD, head: true });
  });

  it('uncommitted changes are a warning, not an error', () => {
    expect(project({ checkout: checkout({ changes: 3 }) }).warnings).toEqual([expect.stringMatching(/^3 uncommitted changes in \/home\/ada\/proj are not part of the task: commit and push them/)]);
    expect(project({ checkout: checkout({ changes: 3 }), flags: { base: 'main' } }).warnings).toEqual([]);
  });

  it('--base and --branch override; the checkout still resolves the base', () => {
    expect(project({ flags: { base: 'v1.2', branch: 'results/x' } })).toMatchObject({ base: 'v1.2', head: false, branch: 'results/x', local: checkout(), remoteName: 'origin' });
  });

  it('--no-repo: a plain task, and --base or --branch with it is a usage error', () => {
    expect(plan({ flags: { repo: false } })).toEqual({ project: null });
    expect(refusal({ flags: { repo: false, base: 'main' } })).toMatchObject({ code: 'BAD_INPUT', data: { flag: '--no-repo' } });
  });

  it('outside a checkout: a plain task, silently; --base alone is a usage error', () => {
    expect(plan({ checkout: null })).toEqual({ project: null });
    expect(refusal({ checkout: null, flags: { base: 'main' } })).toMatchObject({ code: 'BAD_INPUT', data: { flag: '--base' } });
    expect(refusal({ checkout: null, flags: { branch: 'x' }, noCheckout: '--no-git leaves the checkout unread' }).message).toContain('--no-git leaves the checkout unread');
  });

  it('a checkout without a usable remote, with no commit, or of the bus: a plain task with a note saying why', () => {
    expect(plan({ checkout: checkout({ remotes: [], remote: null, remoteWhy: 'the checkout has no remote' }) })).toEqual({ project: null, note: expect.stringContaining('the checkout has no remote') });
    expect(plan({ checkout: checkout({ head: null }) })).toEqual({ project: null, note: expect.stringContaining('has no commit yet') });
    expect(plan({ checkout: checkout({ isBus: true }) })).toEqual({ project: null, note: expect.stringContaining('checkout of the bus') });
    expect(plan({ busRemote: 'file:///srv/proj.git' })).toEqual({ project: null, note: expect.stringContaining('checkout of the bus') });
    // The bus is at the path it is configured with (its transport looks for no ".git" twin): a project at /srv/w is
    // not a bus at /srv/w.git. A clone of the bus made as "git clone /srv/w" is one by its gitbus.yaml (isBus).
    const w = (url: string) => checkout({ remotes: [{ name: 'origin', url }], remote: { name: 'origin', url } });
    expect(project({ checkout: w('/srv/w'), busRemote: '/srv/w.git' }).repo).toBe('/srv/w');
    expect(project({ checkout: w('/srv/w.git'), busRemote: 'file:///srv/w' }).repo).toBe('/srv/w.git');
    for (const [origin, bus] of [['/srv/w.git/', 'file:///srv/w.git'], ['file://localhost/srv/w.git', '/srv/w.git'], ['file://LOCALHOST/srv/w.git', '/srv/w.git'], ['/srv/w.git', 'file://LocalHost/srv//w.git']] as const) {
      expect(plan({ checkout: w(origin), busRemote: bus }), `${origin} ${bus}`).toEqual({ project: null, note: expect.stringContaining('checkout of the bus') });
    }
    // A bus elsewhere: hosts serve x and x.git alike.
    expect(plan({ checkout: w('https://host/o/bus'), busRemote: 'https://host/o/bus.git' })).toEqual({ project: null, note: expect.stringContaining('checkout of the bus') });
    expect(refusal({ checkout: checkout({ remotes: [], remote: null }), flags: { branch: 'x' } }).code).toBe('BAD_INPUT');
  });

  it('run (not implicit): plain without flags, project work with --repo', () => {
    expect(plan({ implicit: false })).toEqual({ project: null });
    expect(project({ implicit: false, flags: { repo: 'origin' } })).toMatchObject({ repo: '/srv/proj.git', base: 'feature', head: true });
  });

  it('--repo NAME of node.yaml is recorded as the name, checked at its URL, and uses a checkout of it', () => {
    expect(project({ flags: { repo: 'proj' }, projects: { proj: '/srv/proj.git' } })).toMatchObject({ repo: 'proj', url: '/srv/proj.git', remoteName: 'origin', base: 'feature' });
  });

  it('--repo of another project: no checkout of it here, so the base is the remote default branch', () => {
    expect(project({ flags: { repo: 'https://example.com/other.git' } })).toEqual({ repo: 'https://example.com/other.git', url: 'https://example.com/other.git', remoteName: null, local: null, base: null, head: false, warnings: [] });
  });

  it('--repo as a relative path is made absolute against where the command runs', () => {
    expect(project({ flags: { repo: '../../other.git' }, checkout: null })).toMatchObject({ repo: '/home/ada/other.git', local: null });
    // The same remote as the checkout's, written as a path: the checkout is used.
    expect(project({ flags: { repo: '../../../../srv/proj.git' } })).toMatchObject({ repo: '/srv/proj.git', remoteName: 'origin', head: true });
  });

  it('a remote that git would read as an option or a command transport is refused', () => {
    expect(refusal({ checkout: checkout({ remotes: [{ name: 'origin', url: 'ext::sh -c evil' }] }) })).toMatchObject({ code: 'BAD_INPUT' });
    expect(refusal({ flags: { repo: 'origin' }, checkout: checkout({ remotes: [{ name: 'origin', url: '/path with space' }] }) }).message).toContain('--repo');
  });
});

describe('a HEAD pushed as the checkout saw it (no listing)', () => {
  const at = (refs: string[], over: Partial<PlanInput> = {}, more: Partial<Checkout> = {}) => pushedAsSeen(project({ checkout: checkout({ trackingAtHead: refs, pushElsewhere: [], ...more }), ...over }));

  it('is the branch as the remote calls it and HEAD\'s commit when a tracking ref of the project remote is at HEAD', () => {
    expect(at(['refs/remotes/origin/feature'])).toEqual({ base: 'feature', baseCommit: HEAD });
    // Another of its branches at the same commit says the same: the commit was on the remote.
    expect(at(['refs/remotes/origin/other'])).toEqual({ base: 'feature', baseCommit: HEAD });
    expect(pushedAsSeen(project({ checkout: checkout({ branch: null, upstream: null, trackingAtHead: ['refs/remotes/origin/main'], pushElsewhere: [] }) }))).toEqual({ base: HEAD, baseCommit: HEAD });
  });

  it('is not when no tracking ref of the project remote is at HEAD: another remote\'s, the remote\'s HEAD alone, a longer remote name, none, or none looked at', () => {
    expect(at(['refs/remotes/fork/feature'])).toBeNull();
    expect(at(['refs/remotes/origin/HEAD'])).toBeNull();
    expect(at(['refs/remotes/originals/feature'])).toBeNull();
    expect(at([])).toBeNull();
    expect(pushedAsSeen(project())).toBeNull();
    // origin/mirror is a remote of its own: its refs are not origin's.
    const remotes = [{ name: 'origin', url: '/srv/proj.git' }, { name: 'origin/mirror', url: '/srv/mirror.git' }];
    expect(at(['refs/remotes/origin/mirror/feature'], {}, { remotes, remote: remotes[0] ?? null })).toBeNull();
    expect(at(['refs/remotes/origin/mirror/feature', 'refs/remotes/origin/feature'], {}, { remotes, remote: remotes[0] ?? null })).toEqual({ base: 'feature', baseCommit: HEAD });
    // The project remote origin/mirror, beside origin: origin's branch mirror/feature is refs/remotes/origin/mirror/feature
    // too, so no ref under it says what origin/mirror has.
    expect(at(['refs/remotes/origin/mirror/feature'], {}, { remotes, remote: remotes[1] ?? null, upstream: null })).toBeNull();
  });

  it('is not for a remote with a push URL of its own (a fork\'s workflow: a push moves the refs, the commit goes to the fork), nor when that was not looked at', () => {
    expect(at(['refs/remotes/origin/feature'], {}, { pushElsewhere: ['origin'] })).toBeNull();
    expect(at(['refs/remotes/origin/feature'], {}, { pushElsewhere: ['fork'] })).toEqual({ base: 'feature', baseCommit: HEAD });
    expect(pushedAsSeen(project({ checkout: checkout({ trackingAtHead: ['refs/remotes/origin/feature'] }) }))).toBeNull();
  });

  it('reads the refs at the commit status saw, and the remotes that push elsewhere, from the look\'s output', () => {
    const other = 'b'.repeat(40);
    expect(refsAt(`${HEAD} refs/remotes/origin/main\n${other} refs/remotes/origin/next\n${HEAD} refs/heads/main\n`, HEAD)).toEqual(['refs/remotes/origin/main']);
    expect(refsAt('', HEAD)).toEqual([]);
    const config = ['remote.origin.url\n/srv/up.git', 'remote.origin.pushurl\n/srv/fork.git', 'remote.same.url\n/srv/s.git', 'remote.same.pushurl\n/srv/s.git', 'remote.plain.url\n/srv/p.git', 'branch.main.remote\norigin'].join('\0') + '\0';
    expect(pushElsewhere(config)).toEqual(['origin']);
    // url.<base>.pushInsteadOf rewrites a remote's url for pushes (never its pushurl).
    const rewrites = ['remote.origin.url\nhttps://up.example/p.git', 'remote.other.url\n/srv/o.git', 'remote.pinned.url\nhttps://up.example/q.git', 'remote.pinned.pushurl\nhttps://up.example/q.git', 'url.ssh://fork.example/.pushinsteadof\nhttps://up.example/'].join('\0') + '\0';
    expect(pushElsewhere(rewrites)).toEqual(['origin']);
  });

  it('is not for a base given by flag, even HEAD\'s own branch: the remote says where that branch is now', () => {
    expect(at(['refs/remotes/origin/feature'], { flags: { base: 'feature' } })).toBeNull();
  });
});

describe('the command that pushes a base', () => {
  const sha = 'b'.repeat(40);
  it('names the branch, its upstream, or a new branch for a bare commit', () => {
    expect(pushCommand('origin', sha, { kind: 'current-branch', branch: 'feature', upstream: { remote: 'origin', branch: 'feature' } })).toBe('git push origin feature');
    expect(pushCommand('origin', sha, { kind: 'current-branch', branch: 'feature', upstream: { remote: 'origin', branch: 'feat' } })).toBe('git push origin feature:feat');
    expect(pushCommand('origin', sha, { kind: 'current-branch', branch: 'feature', upstream: null })).toBe('git push -u origin HEAD:feature');
    expect(pushCommand('origin', sha, { kind: 'current-branch', branch: 'feature', upstream: { remote: 'fork', branch: 'feature' } })).toBe('git push -u origin HEAD:feature');
    expect(pushCommand('origin', sha, { kind: 'branch', branch: 'main' })).toBe('git push origin main');
    expect(pushCommand('origin', sha, { kind: 'tag', tag: 'v1' })).toBe('git push origin refs/tags/v1');
    expect(pushCommand('origin', sha, { kind: 'commit' })).toBe(`git push origin ${sha}:refs/heads/gitbus/base-bbbbbbbbbbbb`);
    expect(pushCommand('/path with space/r.git', sha, { kind: 'branch', branch: 'main' })).toBe(`git push '/path with space/r.git' main`);
  });
});

describe('git ls-remote', () => {
  const c1 = '1'.repeat(40);
  const c2 = '2'.repeat(40);
  const tag = '3'.repeat(40);
  const listing = parseLsRemote(`ref: refs/heads/main\tHEAD\n${c1}\tHEAD\n${c1}\trefs/heads/main\n${c2}\trefs/heads/dev\n${tag}\trefs/tags/v1\n${c2}\trefs/tags/v1^{}\n`);

  it('parses refs and the default branch', () => {
    expect(listing.head).toBe('refs/heads/main');
    expect(listing.refs.get('refs/heads/dev')).toBe(c2);
    expect(listing.refs.size).toBe(5);
  });

  it('resolves a base by branch, then tag (peeled to its commit), or a full ref name', () => {
    expect(remoteRef('main', listing)).toEqual({ ref: 'refs/heads/main', sha: c1 });
    expect(remoteRef('v1', listing)).toEqual({ ref: 'refs/tags/v1', sha: c2 });
    expect(remoteRef('refs/heads/dev', listing)).toEqual({ ref: 'refs/heads/dev', sha: c2 });
    expect(remoteRef('HEAD', listing)).toEqual({ ref: 'HEAD', sha: c1 });
    expect(remoteRef('nope', listing)).toBeNull();
  });

  it('lists branches and tags alone unless the base is a ref outside them, the remote\'s HEAD, or its default branch', () => {
    const checkout = { local: { head: c1 } };
    // Inside a checkout, its branch or its detached commit (planProject's base for HEAD), or HEAD read there.
    for (const base of ['main', c1, 'HEAD']) expect(listingScope({ base, ...checkout }), base).toBe('branches-and-tags');
    // No checkout: the default branch and the remote's HEAD are only in the whole listing.
    expect(listingScope({ base: null, local: null })).toBe('all');
    expect(listingScope({ base: 'HEAD', local: null })).toBe('all');
    // A checkout with no commit yet: its HEAD names nothing, the remote's is the base.
    expect(listingScope({ base: 'HEAD', local: { head: null } })).toBe('all');
    for (const base of ['main', 'v1', 'refs/heads/dev', 'refs/tags/v1', c1, 'feature/x']) expect(listingScope({ base, local: null }), base).toBe('branches-and-tags');
    for (const base of ['refs/pull/7/head', 'refs/merge-requests/3/head', 'refs/notes/commits']) expect(listingScope({ base, local: null }), base).toBe('all');
    expect(parseLsRemote(`${c1}\trefs/heads/main\n`, false)).toMatchObject({ head: null, complete: false });
    // An annotated tag's object id peels to its commit; a commit id, or a lightweight tag's, does not.
    expect(peeledTag(tag, listing)).toBe(c2);
    expect(peeledTag(c1, listing)).toBeNull();
    expect(peeledTag(c1, parseLsRemote(`${c1}\trefs/heads/main\n${c1}\trefs/tags/light\n`))).toBeNull();
    expect(peeledTag('4'.repeat(40), listing)).toBeNull();
    expect(listing.complete).toBe(true);
  });
});
