import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { existsSync, linkSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { directAccessBlocker, directPush, sweepRefLockMarks, whileRemoteExists } from '../../bus/transport/local-direct.js';
import { PushRejectedError } from '../../bus/git/push-errors.js';
import { buildCommit } from '../../bus/store/objects.js';
import { gitCli } from '../helpers/cli.js';
import { barePairPerTest } from '../helpers/bare-pair.js';
import { until } from '../helpers/wait.js';
import { StaleLockJudge } from '../../bus/stale-lock.js';
import { objectFile } from '../../bus/git/object-path.js';

const ZERO = '0'.repeat(40);
const author = { name: 't', email: 't@x.invalid' };

describe('direct access to a local bare remote (no git process)', () => {
  const setup = barePairPerTest();

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
    // Refused before anything was written: a lost race leaves no objects in the remote that nothing names.
    for (const o of late.objects) if (o.loose) expect(existsSync(objectFile(remote, o.loose.oid)), `${o.type} ${o.loose.oid}`).toBe(false);
    expect(existsSync(objectFile(remote, late.oid))).toBe(false);
    expect(gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim()).toBe(c2.oid);
    expect(() => gitCli(['--git-dir', remote, 'fsck', '--strict', '--no-progress'])).not.toThrow();
    expect(gitCli(['--git-dir', remote, 'log', '--format=%s', 'main'])).toBe('two\none\n');
  });

  it('a remote renamed away just before the push reads its ref is gone (REMOTE_NOT_FOUND), not a lost race', async () => {
    const { remote, store } = await setup();
    const c1 = await buildCommit(store, { parent: null, changes: [{ path: 'a.md', content: 'a' }], message: 'one', author });
    await directPush(remote, { ref: 'refs/heads/main', oldOid: ZERO, newOid: c1.oid, objects: c1.objects });
    const c2 = await buildCommit(store, { parent: c1.oid, changes: [{ path: 'b.md', content: 'b' }], message: 'two', author });
    // node:fs as gitbus holds it (bus/node-fs.ts): its existsSync renames the remote away once directPush has seen
    // the remote's HEAD there, as another process (a rename, an unmount) could just then.
    const nodeFs = createRequire(import.meta.url)('node:fs') as typeof fs;
    const real = nodeFs.existsSync;
    let moved = false;
    nodeFs.existsSync = (p: fs.PathLike) => {
      const there = real(p);
      if (!moved && there && resolve(String(p)) === resolve(remote, 'HEAD')) {
        moved = true;
        fs.renameSync(remote, `${remote}-away`);
      }
      return there;
    };
    let err: unknown;
    try {
      err = await directPush(remote, { ref: 'refs/heads/main', oldOid: c1.oid, newOid: c2.oid, objects: c2.objects }).catch((e: unknown) => e);
    } finally {
      nodeFs.existsSync = real;
    }
    expect(moved).toBe(true);
    expect((err as { code?: string }).code).toBe('REMOTE_NOT_FOUND');
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
