import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCache, fetchProject, resolveBase } from '../../watcher/workspace/cache.js';
import { DEFAULT_BRANCH_TTL_MS, rememberedDefaultBranch } from '../../watcher/workspace/default-branch.js';
import { gitCli } from '../helpers/cli.js';
import { makeProject } from '../helpers/project.js';

/**
 * A task with no base starts from the project remote's default branch, which a node asks for with a listing of every
 * ref of the remote (watcher/workspace/default-branch.ts): at most once in ten minutes per cached clone.
 */
describe('the project remote\'s default branch, remembered', () => {
  let dir: string;
  let remote: string;
  let checkout: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gitbus-default-branch-'));
    ({ remote, checkout } = makeProject(dir));
    // A second branch, with a commit of its own, that becomes the default later.
    gitCli(['checkout', '-q', '-b', 'trunk'], checkout);
    writeFileSync(join(checkout, 'trunk.txt'), 'trunk\n');
    gitCli(['add', '.'], checkout);
    gitCli(['commit', '-q', '-m', 'trunk'], checkout);
    gitCli(['push', '-q', 'origin', 'trunk'], checkout);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists the remote once, answers from what it listed for ten minutes, and lists again after them or when the branch is gone', async () => {
    const home = join(dir, 'home');
    const cache = await ensureCache(home, remote);
    await fetchProject(cache);
    const tip = (b: string) => gitCli(['--git-dir', remote, 'rev-parse', b]).trim();
    let clock = 1_800_000_000_000;
    const now = () => clock;
    expect(await resolveBase(cache, {}, false, now)).toEqual({ commit: tip('main'), base: 'main' });
    expect(rememberedDefaultBranch(cache.gitDir, clock)).toBe('main');

    // The remote's default branch changes: within the ten minutes the node still starts from main, without asking.
    gitCli(['--git-dir', remote, 'symbolic-ref', 'HEAD', 'refs/heads/trunk']);
    clock += DEFAULT_BRANCH_TTL_MS - 1;
    expect(await resolveBase(cache, {}, false, now)).toEqual({ commit: tip('main'), base: 'main' });
    // After them it asks, and starts from trunk.
    clock += 1;
    expect(await resolveBase(cache, {}, false, now)).toEqual({ commit: tip('trunk'), base: 'trunk' });
    expect(rememberedDefaultBranch(cache.gitDir, clock)).toBe('trunk');

    // The remembered branch deleted on the remote (and pruned by the next fetch): asked again at once.
    gitCli(['--git-dir', remote, 'symbolic-ref', 'HEAD', 'refs/heads/main']);
    gitCli(['--git-dir', remote, 'branch', '-D', 'trunk']);
    await fetchProject(cache);
    expect(await resolveBase(cache, {}, false, now)).toEqual({ commit: tip('main'), base: 'main' });

    // A clock set back, or a damaged file: asked again.
    clock -= 1;
    expect(rememberedDefaultBranch(cache.gitDir, clock)).toBeUndefined();
    writeFileSync(join(cache.gitDir, 'gitbus-default-branch'), `${clock} ../../etc\n`);
    expect(rememberedDefaultBranch(cache.gitDir, clock)).toBeUndefined();
    expect(await resolveBase(cache, {}, false, now)).toEqual({ commit: tip('main'), base: 'main' });
  });
});

/**
 * A `base` that is a whole commit id no branch has (a schedule's instances carry the `base` they were given and no
 * `baseCommit`): fetched by id, as `baseCommit` is, where it was refused as not on the remote.
 */
describe('a base commit id only a tag or a pull request holds', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gitbus-base-id-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is fetched by id, an annotated tag\'s id gives its commit, and an id the remote lacks is still refused', async () => {
    const { remote, checkout } = makeProject(dir);
    const commitOn = (file: string): string => {
      gitCli(['checkout', '-q', '--detach', 'main'], checkout);
      writeFileSync(join(checkout, file), `${file}\n`);
      gitCli(['add', '.'], checkout);
      gitCli(['commit', '-q', '-m', file], checkout);
      return gitCli(['rev-parse', 'HEAD'], checkout).trim();
    };
    const pr = commitOn('pr.txt');
    gitCli(['push', '-q', 'origin', `${pr}:refs/pull/7/head`], checkout);
    const tagged = commitOn('tagged.txt');
    gitCli(['tag', '-a', '-m', 'v1', 'v1', tagged], checkout);
    gitCli(['push', '-q', 'origin', 'refs/tags/v1'], checkout);
    const tagId = gitCli(['rev-parse', 'refs/tags/v1'], checkout).trim();

    const cache = await ensureCache(join(dir, 'home'), remote);
    await fetchProject(cache);
    expect(await resolveBase(cache, { base: pr })).toEqual({ commit: pr, base: pr });
    expect(await resolveBase(cache, { base: tagged })).toEqual({ commit: tagged, base: tagged });
    expect(await resolveBase(cache, { base: tagId })).toEqual({ commit: tagged, base: tagId });
    await expect(resolveBase(cache, { base: 'f'.repeat(40) })).rejects.toMatchObject({ code: 'BASE_MISSING' });
  });
});

