import { describe, it, expect, afterEach } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { initBareClone } from '../../bus/store/init-clone.js';
import { looseCommitTime } from '../../bus/store/commit-time.js';
import { isoGit } from '../../bus/git/iso-git.js';
import { gitCli, tempDir } from '../helpers/cli.js';

/** Every file under `dir` with its text, by path relative to it (folders too, as empty entries). */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = relative(dir, join(e.parentPath, e.name));
    out[path] = e.isFile() ? fs.readFileSync(join(dir, path), 'utf8') : '';
  }
  return out;
}

// What a node does without loading isomorphic-git (issue 14: it cost ~70 ms of a command's start), checked
// against isomorphic-git and git themselves. isomorphic-git is loaded only through bus/git/iso-git.ts here (this
// file's own process): a static import would load sha.js before gitbus could put node:crypto in its place.
describe('the node clone without isomorphic-git', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  it('initBareClone writes what isomorphic-git\'s bare init writes, byte for byte, and the 256 fan-out folders, and leaves an existing clone alone', async () => {
    const dir = await tempDir();
    cleanup = dir.cleanup;
    const theirs = join(dir.path, 'theirs.git');
    const ours = join(dir.path, 'ours.git');
    await (await isoGit()).init({ fs, gitdir: theirs, bare: true, defaultBranch: 'main' });
    await initBareClone(ours);
    const fanOuts = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [join('objects', i.toString(16).padStart(2, '0')), '']));
    expect(tree(ours)).toEqual({ ...tree(theirs), ...fanOuts });
    expect(gitCli(['--git-dir', ours, 'symbolic-ref', 'HEAD']).trim()).toBe('refs/heads/main');
    fs.writeFileSync(join(ours, 'config'), '[core]\n\tbare = true\n');
    await initBareClone(ours);
    expect(fs.readFileSync(join(ours, 'config'), 'utf8')).toBe('[core]\n\tbare = true\n');
  });

  it('looseCommitTime reads the committer time git wrote, and null for what is not a loose commit', async () => {
    const dir = await tempDir();
    cleanup = dir.cleanup;
    const work = join(dir.path, 'work');
    gitCli(['init', '-q', '-b', 'main', work]);
    const env = { GIT_COMMITTER_DATE: '@1700000000 +0530', GIT_AUTHOR_DATE: '@1600000000 -0800' };
    const oid = execGit(work, ['commit', '-q', '--allow-empty', '-m', 'committer line\n\ncommitter 5 +0000 in the message'], env);
    const gitdir = join(work, '.git');
    expect(await looseCommitTime(gitdir, oid)).toBe(1_700_000_000_000);
    const tree = gitCli(['rev-parse', 'HEAD^{tree}'], work).trim();
    expect(await looseCommitTime(gitdir, tree)).toBeNull();
    gitCli(['gc', '-q'], work);
    expect(await looseCommitTime(gitdir, oid)).toBeNull();
  });

  it('isomorphic-git hashes through node:crypto, not sha.js: a pack it writes carries the right checksum', async () => {
    const dir = await tempDir();
    cleanup = dir.cleanup;
    const work = join(dir.path, 'work');
    gitCli(['init', '-q', '-b', 'main', work]);
    fs.writeFileSync(join(work, 'a.md'), 'a\n');
    gitCli(['add', 'a.md'], work);
    const oid = execGit(work, ['commit', '-q', '-m', 'one'], {});
    const iso = await isoGit();
    const { packfile } = await iso.packObjects({ fs, gitdir: join(work, '.git'), oids: [oid], cache: {} });
    const pack = Buffer.from(packfile ?? new Uint8Array());
    expect(pack.subarray(0, 4).toString('latin1')).toBe('PACK');
    expect(pack.subarray(-20).toString('hex')).toBe(createHash('sha1').update(pack.subarray(0, -20)).digest('hex'));
    // The module isomorphic-git required for sha.js/sha1.js is gitbus's, and sha.js's polyfill chain never loaded.
    const req = createRequire(import.meta.url);
    const shaPath = createRequire(req.resolve('isomorphic-git')).resolve('sha.js/sha1.js');
    const Sha1 = req.cache[shaPath]?.exports as new () => { update(b: Buffer): { digest(e: 'hex'): string } };
    expect(new Sha1().update(Buffer.from('abc')).digest('hex')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(Object.keys(req.cache).filter((f) => /node_modules\/(to-buffer|typed-array-buffer|get-intrinsic)\//.test(f))).toEqual([]);
  });
});

/** `git ARGS` in `cwd` with `env` added (dates, identity); HEAD's commit after it. */
function execGit(cwd: string, args: string[], env: NodeJS.ProcessEnv): string {
  const identity = { GIT_AUTHOR_NAME: 'tester', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 'tester', GIT_COMMITTER_EMAIL: 't@example.invalid' };
  execFileSync('git', args, { cwd, env: { ...process.env, ...identity, ...env } });
  return gitCli(['rev-parse', 'HEAD'], cwd).trim();
}
