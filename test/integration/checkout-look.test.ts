import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitCli, tempDirs } from '../helpers/cli.js';
import { parseStatusV2 } from '../../bus/project/status-v2.js';
import { branchUpstream, lookAtWorkTree } from '../../bus/project/checkout-look.js';
import { checkoutOf, remotesOfConfig } from '../../bus/project/checkout.js';
import { LOOK_CONFIG } from '../../bus/project/checkout-look.js';
import { gitContextOf } from '../../bus/git-context.js';

// One `git status --porcelain=v2 --branch` stands for `git status --short`, `git branch --show-current`,
// `git rev-parse HEAD` and `git status --porcelain` (issue 14): each reading is held to what those print, on the
// same checkout, by the real git.
const dirs = tempDirs();
afterAll(dirs.cleanup);

const lines = (out: string) => out.split('\n').filter((l) => l !== '');

/**
 * `git status --short`'s lines in the order parseStatusV2 gives them: the unmerged paths first (short sorts them in
 * among the other changes, v2 lists them after those), then the others, in both ending with the untracked files.
 */
function unmergedFirst(short: string[]): string[] {
  const unmerged = (l: string) => ['DD', 'AU', 'UD', 'UA', 'DU', 'AA', 'UU'].includes(l.slice(0, 2));
  return [...short.filter(unmerged), ...short.filter((l) => !unmerged(l))];
}

/** A checkout with every kind of change `git status` lists, in paths that need quoting in one format or both. */
async function messyCheckout(): Promise<string> {
  const repo = await dirs.temp('gitbus-look-');
  gitCli(['init', '-q', '-b', 'main', repo]);
  mkdirSync(join(repo, 'sub', 'deep'), { recursive: true });
  for (const f of ['top.txt', 'sub/a', 'gone.txt', 'two words.txt', 'conflict.txt', 'staged del.txt']) writeFileSync(join(repo, f), `${f}\n`);
  gitCli(['add', '.'], repo);
  gitCli(['commit', '-q', '-m', 'start'], repo);
  gitCli(['checkout', '-q', '-b', 'other'], repo);
  writeFileSync(join(repo, 'conflict.txt'), 'theirs\n');
  gitCli(['commit', '-q', '-am', 'theirs'], repo);
  gitCli(['checkout', '-q', 'main'], repo);
  writeFileSync(join(repo, 'conflict.txt'), 'ours\n');
  gitCli(['commit', '-q', '-am', 'ours'], repo);
  try {
    gitCli(['merge', '-q', 'other'], repo);
  } catch {
    // The conflict is the point: an unmerged entry.
  }
  gitCli(['mv', 'top.txt', 'sub/re named.txt'], repo);
  gitCli(['mv', 'two words.txt', 'tab\there.txt'], repo);
  gitCli(['rm', '-q', 'staged del.txt'], repo);
  writeFileSync(join(repo, 'sub', 'a'), 'changed\n');
  gitCli(['rm', '-q', '--cached', 'gone.txt'], repo);
  writeFileSync(join(repo, 'new "quoted" file'), 'x\n');
  writeFileSync(join(repo, 'sub', 'deep', 'ünïcode space.txt'), 'x\n');
  writeFileSync(join(repo, 'plain space.txt'), 'x\n');
  gitCli(['add', 'plain space.txt'], repo);
  writeFileSync(join(repo, 'plain space.txt'), 'changed\n');
  return repo;
}

describe('a checkout read with one git status', () => {
  it('lists the changes as git status --short prints them, from the top and from a subdirectory, quoting as git does', async () => {
    const repo = await messyCheckout();
    for (const quotePath of ['true', 'false']) {
      gitCli(['config', 'core.quotePath', quotePath], repo);
      for (const dir of [repo, join(repo, 'sub'), join(repo, 'sub', 'deep')]) {
        const read = parseStatusV2(gitCli(['status', '--porcelain=v2', '--branch'], dir));
        const short = lines(gitCli(['-c', 'color.status=never', '-c', 'status.branch=false', 'status', '--short'], dir));
        // The kinds the checkout was made to hold, so that a reading that drops a kind cannot pass.
        expect(short.map((l) => l.slice(0, 2)).sort()).toEqual(expect.arrayContaining(['R ', 'UU', 'D ', ' M', '??', 'AM']));
        expect(read.short, `from ${dir}, core.quotePath=${quotePath}`).toEqual(unmergedFirst(short));
        expect(read.short.length).toBe(lines(gitCli(['status', '--porcelain'], dir)).length);
      }
    }
  });

  it('shows a submodule with changes inside it as git status --short does: m for changed files, ? for untracked ones, M for a new commit', async () => {
    const sub = await dirs.temp('gitbus-look-sub-');
    gitCli(['init', '-q', '-b', 'main', sub]);
    writeFileSync(join(sub, 'f.txt'), 'one\n');
    gitCli(['add', '.'], sub);
    gitCli(['commit', '-q', '-m', 'one'], sub);
    const repo = await dirs.temp('gitbus-look-');
    gitCli(['init', '-q', '-b', 'main', repo]);
    for (const name of ['changed', 'untracked', 'moved', 'clean']) gitCli(['-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', sub, name], repo);
    gitCli(['commit', '-q', '-m', 'submodules'], repo);
    writeFileSync(join(repo, 'changed', 'f.txt'), 'two\n');
    writeFileSync(join(repo, 'untracked', 'new.txt'), 'new\n');
    writeFileSync(join(repo, 'moved', 'f.txt'), 'moved\n');
    gitCli(['commit', '-q', '-am', 'a commit of its own'], join(repo, 'moved'));
    const read = parseStatusV2(gitCli(['status', '--porcelain=v2', '--branch', '--no-ahead-behind'], repo));
    const short = lines(gitCli(['status', '--short'], repo));
    expect(short).toEqual([' m changed', ' M moved', ' ? untracked']);
    expect(read.short).toEqual(short);
  });

  it('names the branch and HEAD as git does, and neither when HEAD is detached or the branch has no commit', async () => {
    const repo = await dirs.temp('gitbus-look-');
    gitCli(['init', '-q', '-b', 'feature/x.y', repo]);
    expect(parseStatusV2(gitCli(['status', '--porcelain=v2', '--branch'], repo))).toEqual({ branch: 'feature/x.y', head: null, short: [] });
    gitCli(['commit', '-q', '--allow-empty', '-m', 'one'], repo);
    const head = gitCli(['rev-parse', 'HEAD'], repo).trim();
    expect(parseStatusV2(gitCli(['status', '--porcelain=v2', '--branch'], repo))).toEqual({ branch: gitCli(['branch', '--show-current'], repo).trim(), head, short: [] });
    gitCli(['checkout', '-q', '--detach'], repo);
    expect(parseStatusV2(gitCli(['status', '--porcelain=v2', '--branch'], repo))).toEqual({ branch: null, head, short: [] });
  });

  it('reads the remote-tracking refs at HEAD as git branch -r --points-at HEAD lists them: none in a repository without commits, none before a push, the pushed ones after', async () => {
    const remote = await dirs.temp('gitbus-look-remote-');
    gitCli(['init', '-q', '--bare', '-b', 'main', remote]);
    const repo = await dirs.temp('gitbus-look-');
    gitCli(['init', '-q', '-b', 'main', repo]);
    gitCli(['remote', 'add', 'origin', remote], repo);
    const tracking = async () => checkoutOf(await lookAtWorkTree(repo, { recent: false }))?.trackingAtHead;
    const gits = () => lines(gitCli(['branch', '-r', '--points-at', 'HEAD', '--format=%(refname)'], repo));
    // No commit: git for-each-ref fails on HEAD, and the look reads none.
    expect(await tracking()).toEqual([]);
    gitCli(['commit', '-q', '--allow-empty', '-m', 'one'], repo);
    expect(await tracking()).toEqual([]);
    gitCli(['push', '-q', 'origin', 'main', 'main:side'], repo);
    gitCli(['remote', 'set-head', 'origin', 'main'], repo);
    expect(await tracking()).toEqual(gits());
    expect(await tracking()).toEqual(['refs/remotes/origin/HEAD', 'refs/remotes/origin/main', 'refs/remotes/origin/side']);
    gitCli(['commit', '-q', '--allow-empty', '-m', 'two'], repo);
    expect(await tracking()).toEqual([]);
  });

  it("reads a branch's upstream as git config --get does: the last value, the branch's name exactly", async () => {
    const repo = await dirs.temp('gitbus-look-');
    gitCli(['init', '-q', '-b', 'main', repo]);
    gitCli(['config', 'branch.Feat.ure.remote', 'up'], repo);
    gitCli(['config', '--add', 'branch.Feat.ure.merge', 'refs/heads/first'], repo);
    gitCli(['config', '--add', 'branch.Feat.ure.merge', 'refs/heads/second'], repo);
    gitCli(['config', 'branch.feat.ure.remote', 'lower'], repo);
    gitCli(['config', 'branch.main.remote', '.'], repo);
    const out = gitCli(['config', '-z', '--get-regexp', '^branch\\..*\\.(remote|merge)$'], repo);
    for (const branch of ['Feat.ure', 'feat.ure', 'main', 'none']) {
      const get = (key: string) => {
        try {
          return gitCli(['config', '--get', `branch.${branch}.${key}`], repo).trim();
        } catch {
          return null;
        }
      };
      expect(branchUpstream(out, branch), branch).toEqual({ remote: get('remote'), merge: get('merge') });
    }
  });

  it('reads the remotes as git remote -v lists them, URL rewrites from the global configuration and its includes applied', async () => {
    const repo = await dirs.temp('gitbus-look-');
    gitCli(['init', '-q', '-b', 'main', repo]);
    const home = await dirs.temp('gitbus-look-home-');
    const included = join(home, 'rewrites.inc');
    writeFileSync(included, '[url "git@example.invalid:"]\n\tinsteadOf = ex:\n\tinsteadOf = https://example.invalid/\n');
    writeFileSync(join(home, '.gitconfig'), `[include]\n\tpath = ${included}\n[url "ssh://git@example.invalid/"]\n\tinsteadOf = https://example.invalid/long/\n[url "https://mirror.invalid/"]\n\tinsteadOf = https://\n`);
    const env = { HOME: home, GIT_CONFIG_GLOBAL: join(home, '.gitconfig'), GIT_CONFIG_NOSYSTEM: '1' };
    const git = (args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, ...env } });
    for (const [name, url] of [
      ['origin', 'https://example.invalid/long/p.git'],
      ['short', 'ex:team/p.git'],
      ['web', 'https://other.invalid/p.git'],
      ['rel', '../sibling.git'],
      ['Dotted.Name', 'file:///srv/p.git'],
      ['plain', '/srv/plain.git'],
      // Byte order, as git sorts them: "Zed" before "alpha" (a locale's order puts it after).
      ['Zed', '/srv/z.git'],
      ['alpha', '/srv/a.git'],
    ]) git(['remote', 'add', name as string, url as string]);
    git(['config', '--add', 'remote.origin.url', 'https://second.invalid/p.git']);
    const listed = git(['remote', '-v'])
      .split('\n')
      .flatMap((l) => {
        const m = /^(\S+)\t(.*) \(fetch\)$/.exec(l);
        return m ? [{ name: m[1], url: m[2]?.startsWith('../') ? join(repo, m[2]) : m[2] }] : [];
      });
    expect(listed).toHaveLength(8);
    expect(listed.map((r) => r.name).slice(0, 3)).toEqual(['Dotted.Name', 'Zed', 'alpha']);
    expect(remotesOfConfig(git(['config', '-z', '--get-regexp', LOOK_CONFIG]), repo)).toEqual(listed);
  });

  it("reads a partial clone's remote, which git remote -v prints with its filter", async () => {
    const source = await dirs.temp('gitbus-look-src-');
    gitCli(['init', '-q', '-b', 'main', source]);
    gitCli(['commit', '-q', '--allow-empty', '-m', 'one'], source);
    gitCli(['config', 'uploadpack.allowFilter', 'true'], source);
    const clone = join(await dirs.temp('gitbus-look-'), 'partial');
    gitCli(['clone', '-q', '--filter=blob:none', `file://${source}`, clone]);
    expect(gitCli(['remote', '-v'], clone)).toContain('(fetch) [blob:none]');
    expect(checkoutOf(await lookAtWorkTree(clone, { recent: false }))?.remote).toEqual({ name: 'origin', url: `file://${source}` });
  });

  it('one look gives the project fields and the body, with the remote in the body without its credentials', async () => {
    const repo = await messyCheckout();
    gitCli(['remote', 'add', 'origin', 'https://alice:s3cret@example.invalid/p.git'], repo);
    gitCli(['remote', 'add', 'mirror', '../mirror.git'], repo);
    gitCli(['config', 'branch.main.remote', 'mirror'], repo);
    gitCli(['config', 'branch.main.merge', 'refs/heads/trunk'], repo);
    const sub = join(repo, 'sub');
    const look = await lookAtWorkTree(sub, { recent: true });
    const checkout = checkoutOf(look);
    expect(checkout).toMatchObject({
      top: repo,
      branch: 'main',
      head: gitCli(['rev-parse', 'HEAD'], repo).trim(),
      upstream: { remote: 'mirror', branch: 'trunk' },
      remote: { name: 'mirror', url: join(repo, '..', 'mirror.git') },
      changes: lines(gitCli(['status', '--porcelain'], repo)).length,
    });
    const context = gitContextOf(look);
    expect(context).toEqual({
      root: repo,
      branch: 'main',
      status: unmergedFirst(lines(gitCli(['status', '--short'], sub))).slice(0, 20).join('\n'),
      recent: gitCli(['log', '--oneline', '-5'], sub).trimEnd(),
      remote: 'https://example.invalid/p.git',
    });
    expect(JSON.stringify(context)).not.toContain('s3cret');
  });

  it('outside a checkout there is no look; a checkout whose git status fails is a courtesy left empty in the body and an error for the project', async () => {
    const plain = await dirs.temp('gitbus-look-');
    expect(await lookAtWorkTree(plain, { recent: true })).toBeNull();
    const repo = await dirs.temp('gitbus-look-');
    gitCli(['init', '-q', '-b', 'main', repo]);
    gitCli(['commit', '-q', '--allow-empty', '-m', 'one'], repo);
    // An index git cannot read: status fails, the other commands answer.
    writeFileSync(join(repo, '.git', 'index'), 'not an index');
    const look = await lookAtWorkTree(repo, { recent: true });
    expect(look).not.toBeNull();
    expect(gitContextOf(look)).toMatchObject({ root: repo, branch: '', status: '' });
    expect(gitContextOf(look)?.recent).toContain('one');
    expect(() => checkoutOf(look)).toThrow(/git status --porcelain=v2 --branch/);
  });
});
