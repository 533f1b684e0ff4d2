import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { deflateStored, inflateStored } from '../../bus/git/zlib-stored.js';
import { TREE_STORED_MAX } from '../../bus/git/object-deflate.js';
import { join } from 'node:path';
import { directFetch } from '../../bus/transport/local-direct-fetch.js';
import { gitCli } from '../helpers/cli.js';
import { barePairPerTest } from '../helpers/bare-pair.js';

describe('a direct fetch from a local bare remote (no git process)', () => {
  const setup = barePairPerTest();

  it('copies commits pushed by git, and declines (for upload-pack to take over) once the remote is repacked', async () => {
    const { dir, remote, local } = await setup();
    const work = join(dir, 'work');
    gitCli(['clone', '-q', remote, work]);
    for (let i = 0; i < 3; i++) {
      writeFileSync(join(work, `f${i}.md`), `${i}`);
      gitCli(['add', '-A'], work);
      gitCli(['commit', '-q', '-m', `c${i}`], work);
      gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    }
    const tip = gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim();
    const has = async (oid: string) => {
      try {
        gitCli(['--git-dir', local, 'cat-file', '-e', oid]);
        return true;
      } catch {
        return false;
      }
    };
    expect(await directFetch(remote, local, tip, has)).toBe(true);
    gitCli(['--git-dir', local, 'update-ref', 'refs/heads/main', tip]);
    expect(() => gitCli(['--git-dir', local, 'fsck', '--strict', '--no-progress'])).not.toThrow();
    expect(gitCli(['--git-dir', local, 'log', '--format=%s', 'main'])).toBe('c2\nc1\nc0\n');

    writeFileSync(join(work, 'late.md'), 'late');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'late'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    gitCli(['--git-dir', remote, 'gc', '-q']);
    const packed = gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim();
    expect(await directFetch(remote, local, packed, has)).toBe(false);
  });

  it("asks the clone only about the entries a commit changed, against the folder in the commit before it, however many there are", async () => {
    const { dir, remote, local } = await setup();
    // Objects stay loose however many one push brings (git keeps a pack of 100 or more by default).
    gitCli(['--git-dir', remote, 'config', 'receive.unpackLimit', '100000']);
    const work = join(dir, 'work');
    gitCli(['clone', '-q', remote, work]);
    const commit = (message: string) => {
      gitCli(['add', '-A'], work);
      gitCli(['commit', '-q', '-m', message], work);
      gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
      return gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim();
    };
    // A bus's live tasks side by side in one folder, and a folder below it.
    mkdirSync(join(work, 'handoffs', 'deep'), { recursive: true });
    for (let i = 0; i < 300; i++) writeFileSync(join(work, 'handoffs', `t${i}.md`), `task ${i}`);
    writeFileSync(join(work, 'handoffs', 'deep', 'x.md'), 'x');
    writeFileSync(join(work, 'README.md'), 'r');
    const first = commit('many');
    const asked: string[] = [];
    const has = async (oid: string) => {
      asked.push(oid);
      return existsSync(join(local, 'objects', oid.slice(0, 2), oid.slice(2)));
    };
    expect(await directFetch(remote, local, first, has)).toBe(true);
    // The first fetch has no commit before it in the clone: every entry is new, and asked about once.
    expect(asked.length).toBeGreaterThan(300);
    // Three commits at once: one adds a task, one changes a task and the folder below, one removes a task.
    writeFileSync(join(work, 'handoffs', 'new.md'), 'new');
    commit('add');
    writeFileSync(join(work, 'handoffs', 't7.md'), 'changed');
    writeFileSync(join(work, 'handoffs', 'deep', 'y.md'), 'y');
    commit('change');
    rmSync(join(work, 'handoffs', 't9.md'));
    const tip = commit('remove');
    asked.length = 0;
    expect(await directFetch(remote, local, tip, has)).toBe(true);
    // The three commits and whatever each changed, not the 300 entries of each new handoffs folder.
    expect(asked.length).toBeLessThan(20);
    gitCli(['--git-dir', local, 'update-ref', 'refs/heads/main', tip]);
    expect(() => gitCli(['--git-dir', local, 'fsck', '--strict', '--no-progress'])).not.toThrow();
    expect(gitCli(['--git-dir', local, 'cat-file', '-p', `${tip}:handoffs/t7.md`])).toBe('changed');
    expect(gitCli(['--git-dir', local, 'cat-file', '-p', `${tip}:handoffs/deep/y.md`])).toBe('y');
    // A commit before it that the clone does not hold loose (a clone's first pack, from join): every entry is asked
    // about again, and nothing is missed.
    const packedClone = join(dir, 'packed.git');
    gitCli(['clone', '-q', '--bare', '--depth', '1', `file://${remote}`, packedClone]);
    writeFileSync(join(work, 'handoffs', 'after.md'), 'after');
    const later = commit('after the clone');
    const inPack = new Set(gitCli(['--git-dir', packedClone, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname)']).split('\n'));
    const hasPacked = async (oid: string) => {
      asked.push(oid);
      return inPack.has(oid) || existsSync(join(packedClone, 'objects', oid.slice(0, 2), oid.slice(2)));
    };
    asked.length = 0;
    expect(await directFetch(remote, packedClone, later, hasPacked)).toBe(true);
    expect(asked.length).toBeGreaterThan(300);
    gitCli(['--git-dir', packedClone, 'update-ref', 'refs/heads/main', later]);
    expect(() => gitCli(['--git-dir', packedClone, 'fsck', '--strict', '--no-progress'])).not.toThrow();
  });

  it('a base folder speaks only for entries of the same kind: an id it held as a submodule entry is still copied', async () => {
    const { remote, local } = await setup();
    const g = (gitdir: string, args: string[], input?: string) => gitCli(['--git-dir', gitdir, ...args], undefined, input).trim();
    // Raw trees (git mktree refuses a submodule entry naming a blob), entries in git's order.
    const mktree = (entries: [string, string, string][]) =>
      execFileSync('git', ['--git-dir', remote, 'hash-object', '-t', 'tree', '-w', '--stdin'], { input: Buffer.concat(entries.flatMap(([mode, oid, name]) => [Buffer.from(`${mode} ${name}\0`), Buffer.from(oid, 'hex')])), encoding: 'utf8' }).trim();
    const has = async (oid: string) => existsSync(join(local, 'objects', oid.slice(0, 2), oid.slice(2)));
    const blob = g(remote, ['hash-object', '-w', '--stdin'], 'payload');
    const folder = mktree([['100644', blob, 'f']]);
    // First x and y are submodule entries naming the blob and the folder (never copied), then a file and a folder.
    const c1 = g(remote, ['commit-tree', mktree([['160000', blob, 'x'], ['160000', folder, 'y']]), '-m', 'one']);
    expect(await directFetch(remote, local, c1, has)).toBe(true);
    const c2 = g(remote, ['commit-tree', mktree([['100644', blob, 'x'], ['40000', folder, 'y']]), '-p', c1, '-m', 'two']);
    expect(await directFetch(remote, local, c2, has)).toBe(true);
    expect(g(local, ['rev-list', '--objects', '--missing=print', c2]).split('\n').filter((l) => l.startsWith('?'))).toEqual([]);
  });

  it('copies blobs as the remote stores them, and commits and trees stored as gitbus writes them, after checking each is what its name says', async () => {
    const { dir, remote, local } = await setup();
    // Not the compression node:zlib uses: a copy is told from an object deflated again.
    gitCli(['--git-dir', remote, 'config', 'core.looseCompression', '1']);
    const work = join(dir, 'work');
    gitCli(['clone', '-q', remote, work]);
    mkdirSync(join(work, 'handoffs'));
    writeFileSync(join(work, 'handoffs', 'a.md'), 'a');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'one'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const tip = gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim();
    const objectFile = (gitdir: string, oid: string) => join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
    const has = async (oid: string) => existsSync(objectFile(local, oid));
    const oidOf = (rev: string) => gitCli(['--git-dir', remote, 'rev-parse', rev]).trim();
    const fileOf = (gitdir: string, rev: string) => fs.readFileSync(objectFile(gitdir, oidOf(rev)));
    expect(await directFetch(remote, local, tip, has)).toBe(true);
    // A commit or tree git compressed is kept stored (every command reads them, and would load node:zlib to), with
    // the same bytes inside; a blob is copied as it is.
    for (const rev of ['main', 'main^{tree}', 'main:handoffs']) {
      expect(inflateStored(fileOf(remote, rev)), rev).toBeNull();
      expect(inflateStored(fileOf(local, rev))?.data, rev).toEqual(inflateSync(fileOf(remote, rev)));
    }
    expect(fileOf(local, 'main:handoffs/a.md')).toEqual(fileOf(remote, 'main:handoffs/a.md'));
    gitCli(['--git-dir', local, 'update-ref', 'refs/heads/main', tip]);
    expect(() => gitCli(['--git-dir', local, 'fsck', '--strict', '--no-progress'])).not.toThrow();

    // Stored already (git's compression 0, as gitbus writes them): copied as they are. A tree past what gitbus
    // stores (a folder of 1,300 tasks) is copied as git wrote it.
    gitCli(['--git-dir', remote, 'config', 'core.looseCompression', '0']);
    // Unpacked into loose objects, what a direct fetch reads, as git does with a push of fewer than 100 (this has 1,300).
    gitCli(['--git-dir', remote, 'config', 'transfer.unpackLimit', '10000']);
    mkdirSync(join(work, 'big'));
    for (let i = 0; i < 1300; i++) writeFileSync(join(work, 'big', `20261206-210000-${String(i).padStart(6, '0')}.md`), `${i}`);
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'stored'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const stored = oidOf('main');
    expect(await directFetch(remote, local, stored, has)).toBe(true);
    for (const rev of ['main', 'main^{tree}']) {
      expect(inflateStored(fileOf(remote, rev)), rev).not.toBeNull();
      expect(fileOf(local, rev), rev).toEqual(fileOf(remote, rev));
    }
    expect(Number(gitCli(['--git-dir', remote, 'cat-file', '-s', 'main:big']))).toBeGreaterThan(TREE_STORED_MAX);
    expect(fileOf(local, 'main:big')).toEqual(fileOf(remote, 'main:big'));

    // A tree whose file holds another tree (the remote's disk, or someone with write access to it): not copied under
    // the name it does not have; the fetch declines, for git's upload-pack to say what is wrong.
    writeFileSync(join(work, 'handoffs', 'b.md'), 'b');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'two'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const two = gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim();
    const folder = gitCli(['--git-dir', remote, 'rev-parse', 'main:handoffs']).trim();
    const other = gitCli(['--git-dir', remote, 'rev-parse', 'main~1:handoffs']).trim();
    fs.chmodSync(objectFile(remote, folder), 0o644);
    fs.copyFileSync(objectFile(remote, other), objectFile(remote, folder));
    expect(await directFetch(remote, local, two, has)).toBe(false);
    expect(existsSync(objectFile(local, folder))).toBe(false);
    expect(existsSync(objectFile(local, two))).toBe(false);
  });

  it('writes a merge\'s commits parents first: a fetch that fails half way leaves no commit without its history', async () => {
    const { dir, remote, local } = await setup();
    const work = join(dir, 'work');
    gitCli(['clone', '-q', remote, work]);
    const objectFile = (gitdir: string, oid: string) => join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
    const has = async (oid: string) => existsSync(objectFile(local, oid));
    const rev = (r: string) => gitCli(['rev-parse', r], work).trim();
    const commitFile = (name: string) => {
      writeFileSync(join(work, name), name);
      gitCli(['add', '-A'], work);
      gitCli(['commit', '-q', '-m', name], work);
      return rev('HEAD');
    };
    commitFile('base.md');
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    expect(await directFetch(remote, local, rev('HEAD'), has)).toBe(true);
    // X, then two lines from it, merged: a walk from the merge meets the second line (and X) before the first.
    let x = commitFile('shared.md');
    // X's fan-out folder is one the clone does not have yet (another message until so), to be blocked below.
    for (let i = 0; existsSync(join(local, 'objects', x.slice(0, 2))); i++) {
      gitCli(['commit', '-q', '--amend', '-m', `shared ${i}`], work);
      x = rev('HEAD');
    }
    gitCli(['branch', '-q', 'two'], work);
    const p1 = commitFile('one.md');
    gitCli(['switch', '-q', 'two'], work);
    const p2 = commitFile('two.md');
    gitCli(['switch', '-q', 'main'], work);
    gitCli(['merge', '-q', '--no-ff', '-m', 'merge', 'two'], work);
    const merge = rev('HEAD');
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);

    // A file where X's fan-out folder goes: its write fails (as a kill or a full disk would stop the fetch there).
    const block = join(local, 'objects', x.slice(0, 2));
    writeFileSync(block, '');
    await expect(directFetch(remote, local, merge, has)).rejects.toThrow();
    const parentsOf: Record<string, string[]> = { [x]: [], [p1]: [x], [p2]: [x], [merge]: [p1, p2] };
    for (const [commit, parents] of Object.entries(parentsOf)) {
      if (!(await has(commit))) continue;
      for (const p of parents) expect(await has(p), `${commit} is in the clone without its parent ${p}`).toBe(true);
    }
    expect(await has(x)).toBe(false);
    rmSync(block);
    expect(await directFetch(remote, local, merge, has)).toBe(true);
    gitCli(['--git-dir', local, 'update-ref', 'refs/heads/main', merge]);
    expect(() => gitCli(['--git-dir', local, 'fsck', '--strict', '--no-progress'])).not.toThrow();
  });

  it("a commit or tree whose file is not git's encoding of what its name says is not copied, however its content hashes", async () => {
    const { remote, local } = await setup();
    const sha = (b: Buffer) => createHash('sha1').update(b).digest('hex');
    const objectFile = (gitdir: string, oid: string) => join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
    const has = async (oid: string) => existsSync(objectFile(local, oid));
    const entry = Buffer.concat([Buffer.from('100644 a.md\0', 'latin1'), Buffer.from(gitCli(['--git-dir', remote, 'hash-object', '-w', '-t', 'blob', '--stdin'], undefined, 'a').trim(), 'hex')]);
    const treeOid = sha(Buffer.concat([Buffer.from(`tree ${entry.length}\0`), entry]));
    const commit = Buffer.from(`tree ${treeOid}\nauthor a <a@x> 0 +0000\ncommitter a <a@x> 0 +0000\n\none\n`);
    const commitOid = sha(Buffer.concat([Buffer.from(`commit ${commit.length}\0`), commit]));
    fs.mkdirSync(join(remote, 'objects', commitOid.slice(0, 2)), { recursive: true });
    writeFileSync(objectFile(remote, commitOid), deflateSync(Buffer.concat([Buffer.from(`commit ${commit.length}\0`), commit])));
    fs.mkdirSync(join(remote, 'objects', treeOid.slice(0, 2)), { recursive: true });
    const damaged: Record<string, Buffer> = {
      // Its content hashes to its name, but its header says more: the clone's own reader calls it damaged.
      'a header that overstates the size': deflateSync(Buffer.concat([Buffer.from(`tree ${entry.length + 10}\0`), entry])),
      // Bytes after the stream: git calls the object corrupt ("garbage at end of loose object").
      'bytes after the stream': Buffer.concat([deflateSync(Buffer.concat([Buffer.from(`tree ${entry.length}\0`), entry])), Buffer.from('junk')]),
      // Cut short, and a header that understates the size: zlib's own errors, never reported as what they are.
      'a stream cut short': deflateSync(Buffer.concat([Buffer.from(`tree ${entry.length}\0`), entry])).subarray(0, 12),
      'a header that understates the size': deflateSync(Buffer.concat([Buffer.from(`tree ${entry.length - 5}\0`), entry])),
    };
    // The same, as gitbus writes small objects: stored blocks, read without node:zlib (bus/git/zlib-stored.ts).
    const stored = (b: Buffer) => deflateStored(b);
    Object.assign(damaged, {
      'stored: a header that overstates the size': stored(Buffer.concat([Buffer.from(`tree ${entry.length + 10}\0`), entry])),
      'stored: bytes after the stream': Buffer.concat([stored(Buffer.concat([Buffer.from(`tree ${entry.length}\0`), entry])), Buffer.from('junk')]),
      'stored: a stream cut short': stored(Buffer.concat([Buffer.from(`tree ${entry.length}\0`), entry])).subarray(0, 12),
      'stored: a stream without its checksum': stored(Buffer.concat([Buffer.from(`tree ${entry.length}\0`), entry])).subarray(0, -4),
      'stored: a header that understates the size': stored(Buffer.concat([Buffer.from(`tree ${entry.length - 5}\0`), entry])),
    });
    for (const [what, bytes] of Object.entries(damaged)) {
      writeFileSync(objectFile(remote, treeOid), bytes);
      expect(await directFetch(remote, local, commitOid, has), what).toBe(false);
      expect(await has(treeOid), what).toBe(false);
      expect(await has(commitOid), what).toBe(false);
    }
    writeFileSync(objectFile(remote, treeOid), deflateStored(Buffer.concat([Buffer.from(`tree ${entry.length}\0`), entry])));
    expect(await directFetch(remote, local, commitOid, has)).toBe(true);
    gitCli(['--git-dir', local, 'update-ref', 'refs/heads/main', commitOid]);
    expect(() => gitCli(['--git-dir', local, 'fsck', '--strict', '--no-progress'])).not.toThrow();
  });
});
