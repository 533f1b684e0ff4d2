import { describe, it, expect, afterEach } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { existsSync, linkSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { join } from 'node:path';
import { directAccessBlocker, directFetch, directPush, sweepRefLockMarks, whileRemoteExists } from '../../bus/transport/local-direct.js';
import { PushRejectedError } from '../../bus/git/push-errors.js';
import { buildCommit, openStore } from '../../bus/store/objects.js';
import { gitCli, tempDir } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';
import { StaleLockJudge } from '../../bus/stale-lock.js';

const ZERO = '0'.repeat(40);
const author = { name: 't', email: 't@x.invalid' };

describe('direct access to a local bare remote (no git process)', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  async function setup() {
    const dir = await tempDir();
    cleanup = dir.cleanup;
    const remote = join(dir.path, 'remote.git');
    const local = join(dir.path, 'local.git');
    gitCli(['init', '-q', '--bare', '-b', 'main', remote]);
    gitCli(['init', '-q', '--bare', '-b', 'main', local]);
    return { dir: dir.path, remote, local, store: openStore(local) };
  }

  it('is used only when nothing would be skipped: hooks, receive policy or a switch turn it off', async () => {
    const { remote } = await setup();
    expect(await directAccessBlocker(remote)).toBeNull();
    writeFileSync(join(remote, 'hooks', 'pre-receive'), '#!/bin/sh\nexit 0\n');
    expect(await directAccessBlocker(remote)).toContain('pre-receive');
    gitCli(['init', '-q', '--bare', join(remote, '..', 'r2.git')]);
    gitCli(['--git-dir', join(remote, '..', 'r2.git'), 'config', 'receive.denyNonFastForwards', 'true']);
    expect(await directAccessBlocker(join(remote, '..', 'r2.git'))).toContain('receive');
    const saved = process.env['GITBUS_DIRECT'];
    process.env['GITBUS_DIRECT'] = '0';
    try {
      expect(await directAccessBlocker(join(remote, '..', 'r2.git'))).toContain('GITBUS_DIRECT');
    } finally {
      if (saved === undefined) delete process.env['GITBUS_DIRECT'];
      else process.env['GITBUS_DIRECT'] = saved;
    }
  });

  it('creates and fast-forwards the ref, rejects a stale old value, and leaves a repo git fsck accepts', async () => {
    const { remote, store } = await setup();
    const c1 = await buildCommit(store, { parent: null, changes: [{ path: 'a.md', content: 'a' }], message: 'one', author });
    await directPush(remote, { ref: 'refs/heads/main', oldOid: ZERO, newOid: c1.oid, objects: c1.objects });
    const c2 = await buildCommit(store, { parent: c1.oid, changes: [{ path: 'b.md', content: 'b' }], message: 'two', author });
    await directPush(remote, { ref: 'refs/heads/main', oldOid: c1.oid, newOid: c2.oid, objects: c2.objects });
    const late = await buildCommit(store, { parent: c1.oid, changes: [{ path: 'c.md', content: 'c' }], message: 'late', author });
    const err = await directPush(remote, { ref: 'refs/heads/main', oldOid: c1.oid, newOid: late.oid, objects: late.objects }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PushRejectedError);
    expect((err as PushRejectedError).data['kind']).toBe('stale');
    expect(gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim()).toBe(c2.oid);
    expect(() => gitCli(['--git-dir', remote, 'fsck', '--strict', '--no-progress'])).not.toThrow();
    expect(gitCli(['--git-dir', remote, 'log', '--format=%s', 'main'])).toBe('two\none\n');
  });

  it('lets exactly one of many concurrent pushes from the same parent win', async () => {
    const { remote, store } = await setup();
    const base = await buildCommit(store, { parent: null, changes: [{ path: 'a.md', content: 'a' }], message: 'base', author });
    await directPush(remote, { ref: 'refs/heads/main', oldOid: ZERO, newOid: base.oid, objects: base.objects });
    for (let round = 0; round < 5; round++) {
      const parent = gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim();
      const commits = await Promise.all(Array.from({ length: 12 }, (_, i) => buildCommit(store, { parent, changes: [{ path: `r${round}-${i}.md`, content: `${i}` }], message: `r${round} ${i}`, author })));
      const results = await Promise.allSettled(commits.map((c) => directPush(remote, { ref: 'refs/heads/main', oldOid: parent, newOid: c.oid, objects: c.objects })));
      expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as PushRejectedError).data['kind']).toBe('stale');
    }
    expect(() => gitCli(['--git-dir', remote, 'fsck', '--no-progress'])).not.toThrow();
  });

  it('treats a held lock as a lost race and clears a lock left behind by a dead process', async () => {
    const { remote, store } = await setup();
    const c1 = await buildCommit(store, { parent: null, changes: [{ path: 'a.md', content: 'a' }], message: 'one', author });
    mkdirSync(join(remote, 'refs', 'heads'), { recursive: true });
    const lock = join(remote, 'refs', 'heads', 'main.lock');
    writeFileSync(lock, '');
    const judge = new StaleLockJudge(300);
    const push = () => directPush(remote, { ref: 'refs/heads/main', oldOid: ZERO, newOid: c1.oid, objects: c1.objects }, judge);
    await expect(push()).rejects.toThrow(/being updated/);
    // An old mtime proves nothing (on a shared mount it is the file server's clock): still a live lock to us.
    utimesSync(lock, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    await expect(push()).rejects.toThrow(/being updated/);
    expect(existsSync(lock)).toBe(true);
    // Unchanged for longer than the judge's time, by this process's clock: left by a dead process, broken.
    await until('the dead lock to be broken', () => push().then(() => true, () => false), 10_000);
    expect(gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim()).toBe(c1.oid);
  });

  it('breaks at once a lock whose holder on this host is dead, never one whose holder lives, and sweeps dead marks', async () => {
    const { remote, store } = await setup();
    const c1 = await buildCommit(store, { parent: null, changes: [{ path: 'a.md', content: 'a' }], message: 'one', author });
    const lock = join(remote, 'refs', 'heads', 'main.lock');
    const host = Buffer.from(hostname()).toString('hex');
    const dead = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    // What a push killed while holding the lock leaves: the lock, and its mark (the same file) naming the holder.
    const liveMark = join(remote, `gitbus-reflock.${process.pid}.aa.${host}`);
    writeFileSync(liveMark, `${c1.oid}\n`);
    linkSync(liveMark, lock);
    const judge = new StaleLockJudge(60_000);
    const push = () => directPush(remote, { ref: 'refs/heads/main', oldOid: ZERO, newOid: c1.oid, objects: c1.objects }, judge);
    await expect(push()).rejects.toThrow(/being updated/);
    expect(existsSync(lock), 'a living holder keeps its lock').toBe(true);
    rmSync(lock);
    rmSync(liveMark);
    const deadMark = join(remote, `gitbus-reflock.${dead}.bb.${host}`);
    writeFileSync(deadMark, `${c1.oid}\n`);
    linkSync(deadMark, lock);
    await expect(push()).rejects.toThrow(/being updated/);
    expect(existsSync(lock), 'a dead holder\'s lock is broken at once').toBe(false);
    await push();
    expect(gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim()).toBe(c1.oid);
    expect(readdirSync(remote).filter((n) => n.startsWith('gitbus-reflock.'))).toEqual([]);
    // A mark left without a lock (killed after its rename) goes at the next sweep; a living process's stays.
    writeFileSync(deadMark, 'x');
    writeFileSync(liveMark, 'x');
    expect(sweepRefLockMarks(remote)).toBe(1);
    expect(readdirSync(remote).filter((n) => n.startsWith('gitbus-reflock.'))).toEqual([`gitbus-reflock.${process.pid}.aa.${host}`]);
  });

  it('never breaks a lock that keeps changing, however old its time stamp looks', async () => {
    const judge = new StaleLockJudge(50);
    const { dir } = await setup();
    const lock = join(dir, 'x.lock');
    writeFileSync(lock, 'a');
    let t = 0;
    expect(judge.isStale(lock, (t += 0))).toBe(false);
    expect(judge.isStale(lock, (t += 40))).toBe(false);
    // Re-created by another holder (new inode or time): the clock starts again.
    rmSync(lock);
    writeFileSync(lock, 'bb');
    expect(judge.isStale(lock, (t += 40))).toBe(false);
    expect(judge.isStale(lock, (t += 40))).toBe(false);
    expect(judge.isStale(lock, (t += 40))).toBe(true);
    rmSync(lock);
    expect(judge.isStale(lock, (t += 100))).toBe(false);
  });

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

  it('copies commits and trees as the remote stores them, after checking each is what its name says', async () => {
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
    expect(await directFetch(remote, local, tip, has)).toBe(true);
    for (const rev of ['main', 'main^{tree}', 'main:handoffs', 'main:handoffs/a.md']) {
      const oid = gitCli(['--git-dir', remote, 'rev-parse', rev]).trim();
      expect(fs.readFileSync(objectFile(local, oid))).toEqual(fs.readFileSync(objectFile(remote, oid)));
    }

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
    for (const [what, bytes] of Object.entries(damaged)) {
      writeFileSync(objectFile(remote, treeOid), bytes);
      expect(await directFetch(remote, local, commitOid, has), what).toBe(false);
      expect(await has(treeOid), what).toBe(false);
      expect(await has(commitOid), what).toBe(false);
    }
    writeFileSync(objectFile(remote, treeOid), deflateSync(Buffer.concat([Buffer.from(`tree ${entry.length}\0`), entry])));
    expect(await directFetch(remote, local, commitOid, has)).toBe(true);
    gitCli(['--git-dir', local, 'update-ref', 'refs/heads/main', commitOid]);
    expect(() => gitCli(['--git-dir', local, 'fsck', '--strict', '--no-progress'])).not.toThrow();
  });

  it("a push writes each object's file as the clone stores it, and moves one ref among many without listing them", async () => {
    const { remote, local, store } = await setup();
    for (let i = 0; i < 50; i++) gitCli(['--git-dir', remote, 'update-ref', `refs/gitbus/heartbeats/n${i}`, gitCli(['--git-dir', remote, 'hash-object', '-w', '-t', 'blob', '--stdin'], undefined, `${i}`).trim()]);
    const c1 = await buildCommit(store, { parent: null, changes: [{ path: 'handoffs/a.md', content: 'a' }], message: 'one', author });
    await directPush(remote, { ref: 'refs/heads/main', oldOid: ZERO, newOid: c1.oid, objects: c1.objects });
    expect(c1.objects.every((o) => o.loose !== undefined)).toBe(true);
    for (const oid of c1.newOids) expect(fs.readFileSync(join(remote, 'objects', oid.slice(0, 2), oid.slice(2)))).toEqual(fs.readFileSync(join(local, 'objects', oid.slice(0, 2), oid.slice(2))));
    // An object the clone had already (no file bytes of this commit's) is deflated for the remote as before.
    const c2 = await buildCommit(store, { parent: c1.oid, changes: [{ path: 'handoffs/b.md', content: 'a' }], message: 'two', author });
    expect(c2.objects.filter((o) => o.loose === undefined).length).toBe(1);
    await directPush(remote, { ref: 'refs/heads/main', oldOid: c1.oid, newOid: c2.oid, objects: c2.objects });
    const stale = await directPush(remote, { ref: 'refs/heads/main', oldOid: c1.oid, newOid: c2.oid, objects: [] }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(PushRejectedError);
    expect(gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim()).toBe(c2.oid);
    expect(() => gitCli(['--git-dir', remote, 'fsck', '--strict', '--no-progress'])).not.toThrow();
  });

  it('a remote that vanishes after first use is an error, never an empty repository, and is never recreated', async () => {
    const { remote, store } = await setup();
    const { LocalTransport } = await import('../../bus/transport/local.js');
    const { existsSync, renameSync } = await import('node:fs');
    const t = new LocalTransport(remote);
    expect((await t.listRefs()).size).toBeGreaterThanOrEqual(0);
    renameSync(remote, `${remote}.away`);
    await expect(t.listRefs()).rejects.toMatchObject({ code: 'REMOTE_NOT_FOUND' });
    const c = await buildCommit(store, { parent: null, changes: [{ path: 'a.md', content: 'a' }], message: 'one', author });
    await expect(directPush(remote, { ref: 'refs/heads/main', oldOid: ZERO, newOid: c.oid, objects: c.objects })).rejects.toMatchObject({ code: 'REMOTE_NOT_FOUND' });
    expect(existsSync(remote)).toBe(false);
    renameSync(`${remote}.away`, remote);
    expect(await t.listRefs()).toBeInstanceOf(Map);
    await t.close();
  });

  it('a remote that vanishes between the check and the writes is not recreated at its path: REMOTE_NOT_FOUND, nothing made', async () => {
    const { remote, store } = await setup();
    const { existsSync, renameSync } = await import('node:fs');
    const { writeLooseObject } = await import('../../bus/git/loose-object.js');
    const away = `${remote}.away`;
    const c = await buildCommit(store, { parent: null, changes: [{ path: 'a.md', content: 'a' }], message: 'one', author });
    /** The objects of a push, which move the remote away as the push starts writing them: after its check. */
    const vanishing = <T>(items: readonly T[]): T[] =>
      Object.assign([...items], {
        *[Symbol.iterator]() {
          renameSync(remote, away);
          yield* items;
        },
      });
    // New objects: writing the first one would make its fan-out folder, and objects/ and the repository above it.
    await expect(directPush(remote, { ref: 'refs/heads/main', oldOid: ZERO, newOid: c.oid, objects: vanishing(c.objects) })).rejects.toMatchObject({ code: 'REMOTE_NOT_FOUND' });
    expect(existsSync(remote)).toBe(false);
    // The write alone, into the remote's old path.
    await expect(writeLooseObject(fs, remote, 'blob', Buffer.from('x'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(existsSync(remote)).toBe(false);
    renameSync(away, remote);
    // No objects to write, a ref in folders of its own: making them would make refs/ and the repository above it.
    await expect(directPush(remote, { ref: 'refs/gitbus/heartbeats/n', oldOid: ZERO, newOid: c.oid, objects: vanishing([]) })).rejects.toMatchObject({ code: 'REMOTE_NOT_FOUND' });
    expect(existsSync(remote)).toBe(false);
    renameSync(away, remote);
    // Back, it takes the push whole, its ref's folders made one by one.
    await directPush(remote, { ref: 'refs/gitbus/heartbeats/n', oldOid: ZERO, newOid: c.oid, objects: c.objects });
    expect(gitCli(['--git-dir', remote, 'rev-parse', 'refs/gitbus/heartbeats/n']).trim()).toBe(c.oid);
    expect(() => gitCli(['--git-dir', remote, 'fsck', '--strict', '--no-progress'])).not.toThrow();
  });

  it('an ENOENT in the middle of a direct operation is REMOTE_NOT_FOUND when the remote is gone, else passes through', async () => {
    const { remote } = await setup();
    const { readFile } = await import('node:fs/promises');
    const { renameSync } = await import('node:fs');
    // The remote is there, the file is not: a plain ENOENT, not a vanished remote.
    await expect(whileRemoteExists(remote, () => readFile(join(remote, 'objects', 'no-such-file')))).rejects.toMatchObject({ code: 'ENOENT' });
    // The remote went away while the operation ran.
    await expect(
      whileRemoteExists(remote, async () => {
        renameSync(remote, `${remote}.away`);
        return readFile(join(remote, 'objects', 'info', 'packs'));
      }),
    ).rejects.toMatchObject({ code: 'REMOTE_NOT_FOUND' });
    renameSync(`${remote}.away`, remote);
    await expect(whileRemoteExists(remote, async () => 'done')).resolves.toBe('done');
  });
});
