import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ZERO_OID } from '../../bus/git/oid.js';
import { PushFailedError, PushRejectedError } from '../../bus/git/push-errors.js';
import { classifyPushRejection, pushRef } from '../../bus/git/push.js';
import { FLUSH_PKT, concatBytes, encodePktLine } from '../../bus/git/pkt-line.js';
import { LocalTransport, createBareRepo } from '../../bus/transport/local.js';
import type { Transport } from '../../bus/transport/transport.js';
import {
  TempDirs,
  cliClone,
  cliCommit,
  gitSync,
  isoCommit,
  isoInit,
  lsRemote,
  transpileTransportForChildren,
  type BuiltCommit,
} from './transport-fixtures.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());
const MAIN = 'refs/heads/main';

/** A remote with one commit made by "someone else" (git CLI), and a node clone (git clone --bare) of it. */
async function setup(): Promise<{ remote: string; gitdir: string; base: string; work: string; t: LocalTransport }> {
  const remote = await createBareRepo(join(await dirs.make(), 'bus.git'));
  const work = await cliClone(dirs, remote);
  const base = cliCommit(work, { 'README.md': 'bus\n' }, 'init');
  gitSync(work, ['push', '--quiet', 'origin', 'main']);
  const gitdir = join(await dirs.make(), 'node.git');
  gitSync(remote, ['clone', '--quiet', '--bare', remote, gitdir]);
  return { remote, gitdir, base, work, t: new LocalTransport(remote) };
}

function push(t: Transport, gitdir: string, oldOid: string, c: BuiltCommit, cache: object = {}) {
  return pushRef({ fs, gitdir, cache, transport: t, ref: MAIN, oldOid, newOid: c.oid, oids: c.newOids });
}

function expectClean(remote: string, head: string): void {
  expect(gitSync(remote, ['rev-parse', MAIN])).toBe(head);
  gitSync(remote, ['fsck', '--strict', '--no-progress', '--no-dangling']);
  gitSync(remote, ['log', '--oneline', MAIN]);
}

describe('pushRef', () => {
  it('creates the ref in an empty bare repository', async () => {
    const remote = await createBareRepo(join(await dirs.make(), 'empty.git'));
    const gitdir = await isoInit(dirs);
    const first = await isoCommit(gitdir, null, { 'README.md': 'hello\n' });
    const res = await push(new LocalTransport(remote), gitdir, ZERO_OID, first);
    expect(res).toMatchObject({ ref: MAIN, oldOid: ZERO_OID, newOid: first.oid });
    expect(lsRemote(remote).get(MAIN)).toBe(first.oid);
    expectClean(remote, first.oid);
    expect(gitSync(remote, ['show', `${MAIN}:README.md`])).toBe('hello');
  });

  it('fast-forwards, twice in a row, sending only the new objects', async () => {
    const { remote, gitdir, base, t } = await setup();
    const cache = {};
    const a = await isoCommit(gitdir, base, { 'a.md': 'A\n' });
    await push(t, gitdir, base, a, cache);
    const b = await isoCommit(gitdir, a.oid, { 'b.md': 'B\n' });
    const res = await push(t, gitdir, a.oid, b, cache);
    expect(res.packBytes).toBeLessThan(1000);
    expectClean(remote, b.oid);
    expect(gitSync(remote, ['log', '--format=%H', MAIN]).split('\n')).toEqual([b.oid, a.oid, base]);
  });

  it('rejects a stale old oid as "stale" and leaves the remote alone', async () => {
    const { remote, gitdir, base, work, t } = await setup();
    const theirs = cliCommit(work, { 'theirs.md': 'x' }, 'theirs');
    gitSync(work, ['push', '--quiet', 'origin', 'main']);
    const mine = await isoCommit(gitdir, base, { 'mine.md': 'y' });
    const err = await push(t, gitdir, base, mine).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PushRejectedError);
    const rejected = err as PushRejectedError;
    expect(rejected.code).toBe('PUSH_REJECTED');
    expect(rejected.kind).toBe('stale');
    expect(rejected.data['kind']).toBe('stale');
    expect(rejected.reason).toMatch(/failed to update ref/);
    expect(rejected.message).toMatch(/but expected|cannot lock ref/);
    expectClean(remote, theirs);
  });

  it('treats creating a ref that already exists as stale', async () => {
    const { remote, gitdir, base, t } = await setup();
    const c = await isoCommit(gitdir, null, { 'other-root.md': 'z' });
    const err = await push(t, gitdir, ZERO_OID, c).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PUSH_REJECTED', kind: 'stale' });
    expectClean(remote, base);
  });

  it('lets exactly one of many concurrent pushes from the same parent win', async () => {
    const { remote, gitdir, base, t } = await setup();
    const cache = {};
    const n = 8;
    const commits = await Promise.all(Array.from({ length: n }, (_, i) => isoCommit(gitdir, base, { [`claim-${i}.md`]: `node ${i}\n` })));
    const results = await Promise.allSettled(commits.map((c) => push(t, gitdir, base, c, cache)));
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'PUSH_REJECTED', kind: 'stale' });
    }
    expectClean(remote, commits[won[0] ?? -1]?.oid ?? '');
  });

  it('lets exactly one of several pushing processes win', async () => {
    const { remote, gitdir, base } = await setup();
    const js = await transpileTransportForChildren(dirs);
    const worker = join(js, 'push-worker.mjs');
    fs.writeFileSync(
      worker,
      `import * as fs from 'node:fs';
import { pushRef } from './bus/git/push.js';
import { LocalTransport } from './bus/transport/local.js';
const [remote, gitdir, oldOid, newOid, oids] = process.argv.slice(2);
const transport = new LocalTransport(remote);
try {
  await pushRef({ fs, gitdir, cache: {}, transport, ref: 'refs/heads/main', oldOid, newOid, oids: oids.split(',') });
  console.log(JSON.stringify({ ok: true }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, code: err.code, kind: err.kind, message: err.message }));
}
`,
    );
    const n = 4;
    const commits = await Promise.all(Array.from({ length: n }, (_, i) => isoCommit(gitdir, base, { [`proc-${i}.md`]: `process ${i}\n` })));
    const outcomes = await Promise.all(
      commits.map(
        (c) =>
          new Promise<{ ok: boolean; code?: string; kind?: string }>((resolve, reject) => {
            execFile(process.execPath, [worker, remote, gitdir, base, c.oid, c.newOids.join(',')], { timeout: 30_000 }, (err, stdout) => {
              if (err) reject(err);
              else resolve(JSON.parse(stdout) as { ok: boolean; code?: string; kind?: string });
            });
          }),
      ),
    );
    expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
    expect(outcomes.filter((o) => !o.ok)).toEqual(Array.from({ length: n - 1 }, () => expect.objectContaining({ code: 'PUSH_REJECTED', kind: 'stale' })));
    const winner = commits[outcomes.findIndex((o) => o.ok)];
    expectClean(remote, winner?.oid ?? '');
  });

  it('moves several refs in one atomic push, or none: a stale one is "stale" and leaves the others where they were', async () => {
    const { remote, gitdir, base, work, t } = await setup();
    const BEAT = 'refs/gitbus/heartbeats/n1';
    gitSync(work, ['push', '--quiet', 'origin', `main:${BEAT}`]);
    const c = await isoCommit(gitdir, base, { 'card-gone.md': 'x' });
    const both = (oldBeat: string, oldMain = base, commit = c) =>
      pushRef({ fs, gitdir, cache: {}, transport: t, ref: MAIN, oldOid: oldMain, newOid: commit.oid, oids: commit.newOids, also: [{ ref: BEAT, oldOid: oldBeat, newOid: ZERO_OID }] });

    // The second ref is stale (the node beat again): neither moves.
    const staleBeat = await both(c.oid).catch((e: unknown) => e);
    expect(staleBeat).toMatchObject({ code: 'PUSH_REJECTED', kind: 'stale' });
    expect(Object.fromEntries(lsRemote(remote))).toMatchObject({ [MAIN]: base, [BEAT]: base });
    // The first is stale (main moved): neither moves either.
    const theirs = cliCommit(work, { 'theirs.md': 'y' }, 'theirs');
    gitSync(work, ['push', '--quiet', 'origin', 'main']);
    const staleMain = await both(base).catch((e: unknown) => e);
    expect(staleMain).toMatchObject({ code: 'PUSH_REJECTED', kind: 'stale' });
    expect(Object.fromEntries(lsRemote(remote))).toMatchObject({ [MAIN]: theirs, [BEAT]: base });

    gitSync(gitdir, ['fetch', '--quiet', remote, 'main']);
    const d = await isoCommit(gitdir, theirs, { 'card-gone.md': 'x' });
    await both(base, theirs, d);
    const after = lsRemote(remote);
    expect(after.get(MAIN)).toBe(d.oid);
    expect(after.has(BEAT)).toBe(false);
    expectClean(remote, d.oid);
  });

  it('does not send several refs to a host that would apply them one by one (no "atomic" advertised)', async () => {
    const { remote, gitdir, base, work, t } = await setup();
    const BEAT = 'refs/gitbus/heartbeats/n1';
    gitSync(work, ['push', '--quiet', 'origin', `main:${BEAT}`]);
    gitSync(remote, ['config', 'receive.advertiseAtomic', 'false']);
    const c = await isoCommit(gitdir, base, { 'card-gone.md': 'x' });
    const err = await pushRef({ fs, gitdir, cache: {}, transport: t, ref: MAIN, oldOid: base, newOid: c.oid, oids: c.newOids, also: [{ ref: BEAT, oldOid: base, newOid: ZERO_OID }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ATOMIC_PUSH_UNSUPPORTED', fix: expect.stringContaining('receive.advertiseAtomic true') });
    expect(Object.fromEntries(lsRemote(remote))).toMatchObject({ [MAIN]: base, [BEAT]: base });
  });

  it('deletes a ref while checking that another is still where it was read (old = new), with no pack for a deletion alone', async () => {
    const { remote, gitdir, base, work, t } = await setup();
    const BEAT = 'refs/gitbus/heartbeats/n1';
    gitSync(work, ['push', '--quiet', 'origin', `main:${BEAT}`]);
    const check = (at: string) => pushRef({ fs, gitdir, cache: {}, transport: t, ref: MAIN, oldOid: at, newOid: at, oids: [], objects: [], also: [{ ref: BEAT, oldOid: base, newOid: ZERO_OID }] });
    const theirs = cliCommit(work, { 'claim.md': 'a claim landed' }, 'theirs');
    gitSync(work, ['push', '--quiet', 'origin', 'main']);
    // main moved past what the decision read: the heartbeat stays.
    await expect(check(base)).rejects.toMatchObject({ code: 'PUSH_REJECTED', kind: 'stale' });
    expect(lsRemote(remote).get(BEAT)).toBe(base);
    await check(theirs);
    expect(lsRemote(remote).has(BEAT)).toBe(false);
    expectClean(remote, theirs);

    // A deletion alone, as receive-pack wants it: the commands and no pack.
    gitSync(work, ['push', '--quiet', 'origin', `main:${BEAT}`]);
    await pushRef({ fs, gitdir, cache: {}, transport: t, ref: BEAT, oldOid: theirs, newOid: ZERO_OID, oids: [] });
    expect(lsRemote(remote).has(BEAT)).toBe(false);
  });

  it('reports a pre-receive hook refusal as "hook" with the hook\'s message', async () => {
    const { remote, gitdir, base, t } = await setup();
    const hook = join(remote, 'hooks', 'pre-receive');
    fs.writeFileSync(hook, '#!/bin/sh\necho "bus files must have frontmatter" >&2\nexit 1\n', { mode: 0o755 });
    const c = await isoCommit(gitdir, base, { 'bad.md': 'no frontmatter' });
    const err = await push(t, gitdir, base, c).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PUSH_REJECTED', kind: 'hook' });
    expect((err as PushRejectedError).reason).toMatch(/pre-receive hook declined/);
    expect((err as PushRejectedError).message).toMatch(/bus files must have frontmatter/);
    expectClean(remote, base);
  });

  it('reports a refused hidden ref as "denied" and missing objects as "other"', async () => {
    const { remote, gitdir, base, t } = await setup();
    gitSync(remote, ['config', 'receive.hideRefs', MAIN]);
    const c = await isoCommit(gitdir, base, { 'x.md': 'x' });
    await expect(push(t, gitdir, base, c)).rejects.toMatchObject({ code: 'PUSH_REJECTED', kind: 'denied' });
    gitSync(remote, ['config', '--unset', 'receive.hideRefs']);

    // A caller that forgets a new blob: receive-pack's connectivity check refuses the ref.
    const d = await isoCommit(gitdir, base, { 'y.md': 'forgotten blob' });
    const incomplete = { oid: d.oid, newOids: d.newOids.slice(1) };
    await expect(push(t, gitdir, base, incomplete)).rejects.toMatchObject({ code: 'PUSH_REJECTED', kind: 'other' });
    expectClean(remote, base);
  });

  it('turns unpack errors and garbled or missing reports into PushFailedError', async () => {
    const { gitdir, base } = await setup();
    const c = await isoCommit(gitdir, base, { 'x.md': 'x' });
    const fake = (reply: Uint8Array): Transport => ({
      display: 'fake',
      listRefs: async () => new Map(),
      advertise: async () => new Uint8Array(0),
      rpc: async () => reply,
      close: async () => undefined,
    });
    const band1 = (...lines: string[]) =>
      concatBytes([encodePktLine(concatBytes([Uint8Array.of(1), concatBytes([...lines.map((l) => encodePktLine(l)), FLUSH_PKT])])), FLUSH_PKT]);
    const unpackErr = await push(fake(band1('unpack index-pack abnormal exit\n', `ng ${MAIN} unpacker error\n`)), gitdir, base, c).catch((e: unknown) => e);
    expect(unpackErr).toBeInstanceOf(PushFailedError);
    expect((unpackErr as PushFailedError).code).toBe('PUSH_FAILED');
    expect((unpackErr as PushFailedError).message).toMatch(/index-pack abnormal exit/);
    await expect(push(fake(new TextEncoder().encode('zzzz')), gitdir, base, c)).rejects.toBeInstanceOf(PushFailedError);
    await expect(push(fake(new Uint8Array(0)), gitdir, base, c)).rejects.toBeInstanceOf(PushFailedError);
    await expect(push(fake(band1('unpack ok\n')), gitdir, base, c)).rejects.toBeInstanceOf(PushFailedError);
  });

  it('refuses malformed arguments before talking to the remote', async () => {
    const { gitdir, base, t } = await setup();
    const c = await isoCommit(gitdir, base, { 'x.md': 'x' });
    await expect(pushRef({ fs, gitdir, cache: {}, transport: t, ref: 'main', oldOid: base, newOid: c.oid, oids: c.newOids })).rejects.toMatchObject({
      code: 'GIT_INVALID_ARGUMENT',
    });
    await expect(push(t, gitdir, base.toUpperCase(), c)).rejects.toMatchObject({ code: 'GIT_INVALID_ARGUMENT' });
  });
});

describe('classifyPushRejection', () => {
  it.each([
    ['fetch first', 'stale'],
    ['non-fast-forward', 'stale'],
    ['failed to update ref', 'stale'],
    ['failed to lock', 'stale'],
    ["cannot lock ref 'refs/heads/main': is at 1 but expected 2", 'stale'],
    ['reference already exists', 'stale'],
    ['stale info', 'stale'],
    // git 2.50 and later, a ref that vanished meanwhile; and a lost race inside an atomic transaction.
    ["cannot lock ref 'refs/gitbus/heartbeats/n1': reference does not exist", 'stale'],
    ["cannot lock ref 'refs/gitbus/heartbeats/n1': reference is missing but expected 1", 'stale'],
    ["cannot lock ref 'refs/gitbus/heartbeats/n1': unable to resolve reference 'refs/gitbus/heartbeats/n1'", 'stale'],
    ['pre-receive hook declined', 'hook'],
    ['hook declined', 'hook'],
    ['deny updating a hidden ref', 'denied'],
    ['permission denied', 'denied'],
    ['missing necessary objects', 'other'],
    ['funny refname', 'other'],
  ])('%s -> %s', (reason, kind) => {
    expect(classifyPushRejection(reason)).toBe(kind);
  });
});
