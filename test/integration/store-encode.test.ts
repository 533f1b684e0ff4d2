import { describe, it, expect, afterEach } from 'vitest';
import { execFileSync } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, buildCommit, listFolder, type TreeEntry } from '../../bus/store/objects.js';
import { gitObjectId } from '../../bus/git/loose-object.js';
import { decodeTree, encodeTree } from '../../bus/store/encode.js';
import { gitCli, tempDir } from '../helpers/cli.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** A bare repository in a folder of its own, removed after the test. */
async function bareRepo(): Promise<string> {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const gitdir = join(dir.path, 'repo.git');
  gitCli(['init', '-q', '--bare', gitdir]);
  return gitdir;
}

describe('object encoding agrees with git', () => {
  it('trees sort like git (a.b before a/), and commits built in memory pass git fsck', async () => {
    const gitdir = await bareRepo();
    const store = openStore(gitdir);
    const first = await buildCommit(store, {
      parent: null,
      changes: [
        { path: 'a/x.md', content: 'x' },
        { path: 'a.b', content: 'dot' },
        { path: 'a-c', content: 'dash' },
        { path: 'handoffs/t1.md', content: '---\ntitle: t\n---\n' },
      ],
      message: 'first',
      author: { name: 'n', email: 'n@x.invalid' },
    });
    const second = await buildCommit(store, { parent: first.oid, changes: [{ path: 'a/x.md', content: null }, { path: 'claims/t1.1.md', content: 'c' }], message: 'second', author: { name: 'n', email: 'n@x.invalid' } });
    gitCli(['--git-dir', gitdir, 'update-ref', 'refs/heads/main', second.oid]);
    expect(() => gitCli(['--git-dir', gitdir, 'fsck', '--strict', '--no-progress'])).not.toThrow();
    expect(gitCli(['--git-dir', gitdir, 'ls-tree', '--name-only', 'main']).trim().split('\n')).toEqual(['a-c', 'a.b', 'claims', 'handoffs']);
    expect(gitCli(['--git-dir', gitdir, 'show', 'main:claims/t1.1.md'])).toBe('c');
    // The tree git computes for the same entries has the same oid.
    const root = await store.readTree(second.tree);
    const mktree = execFileSync('git', ['--git-dir', gitdir, 'mktree'], { input: root.map((e) => `${e.mode} ${e.type} ${e.oid}\t${e.path}`).join('\n') + '\n', encoding: 'utf8' }).trim();
    expect(mktree).toBe(second.tree);
    expect(decodeTree(encodeTree(root))).toEqual(root);
    expect((await listFolder(store, second.tree, 'handoffs')).map((e) => e.path)).toEqual(['t1.md']);
    // Only the objects this commit made are listed for the push: new blob, two trees, the commit.
    expect(second.newOids.length).toBe(4);
  });

  it("encodes any entries as git mktree does: its order by UTF-8 bytes (not JavaScript's UTF-16), folders as if they ended in /, every mode", async () => {
    const gitdir = await bareRepo();
    const blob = gitCli(['--git-dir', gitdir, 'hash-object', '-w', '--stdin'], undefined, 'x').trim();
    const tree = gitCli(['--git-dir', gitdir, 'mktree'], undefined, '').trim();
    const commit = 'c'.repeat(40);
    // U+FF5E sorts before U+1F600 as UTF-8 (EF BD 9E < F0 9F 98 80) and after it as UTF-16 (FF5E > D83D).
    const names = ['a', 'a.b', 'a-c', 'a0', 'b', 'é', 'e', '\u{ff5e}', '\u{1f600}', 'Z', 'a b', 'x.md', 'x'];
    const entries: TreeEntry[] = names.map((path, i) => {
      const kind = i % 5;
      if (kind === 0) return { mode: '040000', path, oid: tree, type: 'tree' };
      if (kind === 1) return { mode: '100755', path, oid: blob, type: 'blob' };
      if (kind === 2) return { mode: '120000', path, oid: blob, type: 'blob' };
      if (kind === 3) return { mode: '160000', path, oid: commit, type: 'commit' };
      return { mode: '100644', path, oid: blob, type: 'blob' };
    });
    const listing = entries.map((e) => `${e.mode} ${e.type} ${e.oid}\t${e.path}`).join('\n') + '\n';
    const byGit = gitCli(['--git-dir', gitdir, 'mktree', '--missing'], undefined, listing).trim();
    const mine = encodeTree([...entries].reverse());
    expect(gitObjectId('tree', mine)).toBe(byGit);
    expect(Buffer.from(mine).equals(execFileSync('git', ['--git-dir', gitdir, 'cat-file', 'tree', byGit]))).toBe(true);
    expect(new Set(decodeTree(mine).map((e) => e.path))).toEqual(new Set(names));
    // An id that is not 40 hex digits would write a damaged tree: refused.
    for (const oid of ['z'.repeat(40), 'a'.repeat(41), 'a'.repeat(39)]) expect(() => encodeTree([...entries, { mode: '100644', path: 'zz-last', oid, type: 'blob' }])).toThrow(/not an object id/);
  });

  it('reads a tree cut short, loose or packed, as a damaged object of the clone, not as entries to write again', async () => {
    const gitdir = await bareRepo();
    const blob = gitCli(['--git-dir', gitdir, 'hash-object', '-w', '--stdin'], undefined, 'x').trim();
    const whole = Buffer.concat([Buffer.from('100644 a.md\0'), Buffer.from(blob, 'hex'), Buffer.from('100644 b.md\0'), Buffer.from(blob, 'hex')]);
    // The last entry's id 10 bytes short: git hash-object refuses it unless told --literally.
    const cut = execFileSync('git', ['--git-dir', gitdir, 'hash-object', '-w', '--literally', '-t', 'tree', '--stdin'], { input: whole.subarray(0, whole.length - 10), encoding: 'utf8' }).trim();
    await expect(openStore(gitdir).readTree(cut)).rejects.toMatchObject({ code: 'CLONE_DAMAGED', data: { oid: cut } });
    // Packed: isomorphic-git reads it into an entry with a short id.
    execFileSync('git', ['--git-dir', gitdir, 'pack-objects', '-q', join(gitdir, 'objects', 'pack', 'pack')], { input: `${cut}\n${blob}\n` });
    unlinkSync(join(gitdir, 'objects', cut.slice(0, 2), cut.slice(2)));
    const store = openStore(gitdir);
    await expect(store.readTree(cut)).rejects.toMatchObject({ code: 'CLONE_DAMAGED', data: { oid: cut } });
  });

  it('repairs a folder a commit changes whose loose tree inflates but does not decode, as any damaged object', async () => {
    const gitdir = await bareRepo();
    const blob = gitCli(['--git-dir', gitdir, 'hash-object', '-w', '--stdin'], undefined, 'x').trim();
    const whole = Buffer.concat([Buffer.from('100644 a.md\0'), Buffer.from(blob, 'hex')]);
    // An entry without its id, in a file that inflates cleanly.
    const cut = execFileSync('git', ['--git-dir', gitdir, 'hash-object', '-w', '--literally', '-t', 'tree', '--stdin'], { input: whole.subarray(0, whole.length - 15), encoding: 'utf8' }).trim();
    const root = execFileSync('git', ['--git-dir', gitdir, 'hash-object', '-w', '--literally', '-t', 'tree', '--stdin'], { input: Buffer.concat([Buffer.from('40000 handoffs\0'), Buffer.from(cut, 'hex')]), encoding: 'utf8' }).trim();
    const parent = gitCli(['--git-dir', gitdir, 'commit-tree', root, '-m', 'base'], undefined, '').trim();
    const store = openStore(gitdir);
    const repaired: string[] = [];
    store.repair = async (oid, damage) => {
      repaired.push(oid);
      throw damage;
    };
    const built = buildCommit(store, { parent, changes: [{ path: 'handoffs/b.md', content: 'b' }], message: 'm', author: { name: 'n', email: 'n@x.invalid' } });
    await expect(built).rejects.toMatchObject({ code: 'CLONE_DAMAGED', data: { oid: cut } });
    expect(repaired).toEqual([cut]);
  });

  it('never writes over what is there of another kind, nor replaces a file the caller says is written once', async () => {
    const gitdir = await bareRepo();
    const store = openStore(gitdir);
    const author = { name: 'n', email: 'n@x.invalid' };
    const base = await buildCommit(store, { parent: null, changes: [{ path: 'claims/t1.1.md/notes', content: 'a folder' }, { path: 'releases', content: 'a file' }, { path: 'responses/t2.md', content: 'first' }], message: 'base', author });
    const attempt = (changes: { path: string; content: string }[], writeOnce?: (p: string) => boolean) =>
      buildCommit(store, { parent: base.oid, changes, message: 'x', author, ...(writeOnce ? { writeOnce } : {}) }).then(() => null, (e: unknown) => e);
    expect(await attempt([{ path: 'claims/t1.1.md', content: 'claim' }])).toMatchObject({ code: 'PATH_OCCUPIED', data: { path: 'claims/t1.1.md', what: 'a folder' } });
    expect(await attempt([{ path: 'releases/t1.1.md', content: 'release' }])).toMatchObject({ code: 'PATH_OCCUPIED', data: { path: 'releases', what: 'a file' } });
    const once = (p: string) => p.startsWith('responses/');
    expect(await attempt([{ path: 'responses/t2.md', content: 'second' }], once)).toMatchObject({ code: 'WRITTEN_ONCE', data: { path: 'responses/t2.md' } });
    // The same bytes again change nothing, and a file no rule covers is replaced as before.
    expect(await attempt([{ path: 'responses/t2.md', content: 'first' }], once)).toBeNull();
    expect(await attempt([{ path: 'responses/t2.md', content: 'second' }])).toBeNull();
  });

  it('changes a folder of many entries from its bytes, not decoding it, into the commit the decoded way builds, which git reads', async () => {
    const gitdir = await bareRepo();
    const git = (args: string[], input?: string) => execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) }).trim();
    const blob = git(['hash-object', '-w', '--stdin'], 'x\n');
    const sub = git(['mktree'], `100644 blob ${blob}\tinside.md\n`);
    // 300 tasks, a folder and a link among them, as git writes a tree.
    const lines = Array.from({ length: 300 }, (_, i) => `100644 blob ${blob}\tt-${String(i).padStart(3, '0')}.md\n`);
    const handoffs = git(['mktree'], [...lines, `040000 tree ${sub}\tt-100\n`, `120000 blob ${blob}\tlink\n`].join(''));
    const root = git(['mktree'], `040000 tree ${handoffs}\thandoffs\n`);
    const parent = git(['commit-tree', root, '-m', 'base'], '');
    const changes = [
      { path: 'handoffs/new.md', content: 'new' },
      { path: 'handoffs/t-005.md', content: null },
      { path: 'handoffs/t-007.md', content: 'changed' },
      { path: 'handoffs/t-100/inside.md', content: 'in the folder' },
      { path: 'handoffs/zz/deep.md', content: 'a new folder' },
    ];
    const now = new Date('2026-12-06T21:00:00Z');
    const author = { name: 'n', email: 'n@x.invalid' };
    const spliced = openStore(gitdir);
    const a = await buildCommit(spliced, { parent, changes, message: 'm', author, now });
    // The folder was changed from its bytes: never decoded.
    expect(spliced.keptTree?.(handoffs)).toBeUndefined();
    // The decoded way: a store that cannot hand a tree's bytes over.
    const decoded = { ...openStore(gitdir), readTreeBytes: undefined };
    const b = await buildCommit(decoded, { parent, changes, message: 'm', author, now });
    expect(a.oid).toBe(b.oid);
    git(['update-ref', 'refs/heads/main', a.oid]);
    git(['fsck', '--strict', '--no-dangling']);
    const names = git(['ls-tree', '--name-only', 'main:handoffs']).split('\n');
    expect(names).toHaveLength(303);
    expect(names).toContain('new.md');
    expect(names).not.toContain('t-005.md');
    expect(git(['cat-file', 'blob', 'main:handoffs/t-007.md'])).toBe('changed');
    expect(git(['ls-tree', '--name-only', 'main:handoffs/t-100']).split('\n')).toEqual(['inside.md']);
    expect(git(['cat-file', 'blob', 'main:handoffs/zz/deep.md'])).toBe('a new folder');
  });

  it('changes a tree with a slash in a name (made with --literally) the decoded way: the file "a/" is not the folder "a"', async () => {
    const gitdir = await bareRepo();
    const git = (args: string[], input?: string | Buffer) => execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) }).trim();
    const blob = git(['hash-object', '-w', '--stdin'], 'x');
    const tree = git(['hash-object', '-t', 'tree', '-w', '--literally', '--stdin'], Buffer.concat([Buffer.from('100644 a/\0'), Buffer.from(blob, 'hex')]));
    const parent = git(['commit-tree', tree, '-m', 'x'], '');
    const author = { name: 'n', email: 'n@x.invalid' };
    const file = await buildCommit(openStore(gitdir), { parent, changes: [{ path: 'a', content: 'hi' }], message: 'm', author });
    expect(git(['ls-tree', '--name-only', file.tree]).split('\n')).toEqual(['a', 'a/']);
    const folder = await buildCommit(openStore(gitdir), { parent, changes: [{ path: 'a/b', content: 'hi' }], message: 'm', author });
    expect(git(['ls-tree', '-r', '--name-only', folder.tree]).split('\n')).toContain('a/b');
  });
});

describe('object encoding agrees with git', () => {
  it('readBlobUpTo gives a blob up to the limit, else its size as git states it (loose: from its header; packed: read)', async () => {
    const gitdir = await bareRepo();
    const store = openStore(gitdir);
    // Random-looking text compresses badly: its header is still in the first compressed KiB.
    const noisy = Array.from({ length: 40_000 }, (_, i) => ((i * 2654435761) >>> 7).toString(36)).join('');
    const oids = ['', 'a', 'x'.repeat(5_000_000), noisy].map((text) => gitCli(['--git-dir', gitdir, 'hash-object', '-w', '--stdin'], undefined, text).trim());
    for (const oid of oids) {
      const size = Number(gitCli(['--git-dir', gitdir, 'cat-file', '-s', oid]).trim());
      expect(await store.readBlobUpTo(oid, 1)).toEqual(size > 1 ? size : await store.readBlob(oid));
      const within = await store.readBlobUpTo(oid, 10_000_000);
      expect(typeof within === 'number' ? within : within.length).toBe(size);
      expect(typeof within).not.toBe('number');
    }
    const packed = gitCli(['--git-dir', gitdir, 'hash-object', '-w', '--stdin'], undefined, 'packed\n').trim();
    execFileSync('git', ['--git-dir', gitdir, 'pack-objects', '-q', join(gitdir, 'objects', 'pack', 'pack')], { input: `${packed}\n` });
    execFileSync('git', ['--git-dir', gitdir, 'prune-packed']);
    expect(await store.readBlobUpTo(packed, 6)).toBe(7);
    expect(Buffer.from((await store.readBlobUpTo(packed, 7)) as Uint8Array).toString()).toBe('packed\n');
  });
});
