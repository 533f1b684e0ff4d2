import * as fs from 'node:fs';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { afterEach, describe, expect, it } from 'vitest';
import { explodePack } from '../../bus/git/explode-pack.js';
import { FetchFailedError, FetchWantGoneError } from '../../bus/git/fetch-errors.js';
import { fetchObjects } from '../../bus/git/fetch.js';
import { readPackIndexOids } from '../../bus/git/pack-index.js';
import { FLUSH_PKT, concatBytes, encodePktLine } from '../../bus/git/pkt-line.js';
import { LocalTransport, createBareRepo } from '../../bus/transport/local.js';
import type { Transport } from '../../bus/transport/transport.js';
import { TempDirs, cliClone, cliCommit, gitSync, isoInit, packFiles } from './transport-fixtures.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

async function setup(commits: number): Promise<{ remote: string; work: string; heads: string[]; t: LocalTransport }> {
  const remote = await createBareRepo(join(await dirs.make(), 'bus.git'));
  const work = await cliClone(dirs, remote);
  const heads: string[] = [];
  for (let i = 0; i < commits; i++) heads.push(cliCommit(work, { [`tasks/t${i}.md`]: `task ${i}\n`.repeat(20) }, `task ${i}`));
  gitSync(work, ['push', '--quiet', 'origin', 'main']);
  return { remote, work, heads, t: new LocalTransport(remote) };
}

async function readText(gitdir: string, commit: string, path: string, cache: object): Promise<string> {
  const { blob } = await git.readBlob({ fs, gitdir, oid: commit, filepath: path, cache });
  return new TextDecoder().decode(blob);
}

/** Every object reachable from `commit` (as git sees it) is readable by isomorphic-git in `gitdir`. */
async function expectComplete(remote: string, gitdir: string, commit: string, cache: object, shallow = false): Promise<void> {
  const args = ['rev-list', '--objects', commit];
  const oids = gitSync(remote, shallow ? [...args, '-n', '1', '--no-walk'] : args)
    .split('\n')
    .map((l) => l.slice(0, 40));
  for (const oid of oids) await git.readObject({ fs, gitdir, oid, cache, format: 'deflated' });
}

describe('fetchObjects', () => {
  it('fetches a whole history into an empty gitdir and explodes the small pack', async () => {
    const { remote, heads, t } = await setup(3);
    const gitdir = await isoInit(dirs);
    const cache = {};
    const head = heads[2] ?? '';
    const res = await fetchObjects({ fs, gitdir, cache, transport: t, want: head, haves: [] });
    // 3 commits, 3 root trees, 3 `tasks` trees, 3 blobs
    expect(res).toMatchObject({ objectCount: 12, exploded: true, packfile: undefined, shallow: [] });
    expect(packFiles(gitdir)).toEqual([]);
    await expectComplete(remote, gitdir, head, cache);
    expect(await readText(gitdir, head, 'tasks/t1.md', cache)).toBe('task 1\n'.repeat(20));
    const log = await git.log({ fs, gitdir, ref: head, cache });
    expect(log.map((c) => c.oid)).toEqual([...heads].reverse());
  });

  it('sends haves so that only the new commits come over', async () => {
    const { remote, work, heads, t } = await setup(2);
    const gitdir = await isoInit(dirs);
    const cache = {};
    await fetchObjects({ fs, gitdir, cache, transport: t, want: heads[1] ?? '', haves: [] });

    // Another machine pushes two commits with the git CLI.
    const c3 = cliCommit(work, { 'tasks/new.md': 'new' }, 'c3');
    const c4 = cliCommit(work, { 'responses/r.md': 'done' }, 'c4');
    gitSync(work, ['push', '--quiet', 'origin', 'main']);
    expect((await t.listRefs()).get('refs/heads/main')).toBe(c4);

    const res = await fetchObjects({ fs, gitdir, cache, transport: t, want: c4, haves: [heads[1] ?? ''] });
    // c3: commit, root, tasks tree, blob; c4: commit, root, responses tree, blob
    expect(res.objectCount).toBe(8);
    expect(res.exploded).toBe(true);
    expect(packFiles(gitdir)).toEqual([]);
    await expectComplete(remote, gitdir, c4, cache);
    expect(await readText(gitdir, c3, 'tasks/new.md', cache)).toBe('new');

    // Nothing new: an empty pack, nothing written.
    const again = await fetchObjects({ fs, gitdir, cache, transport: t, want: c4, haves: [c4] });
    expect(again).toMatchObject({ objectCount: 0, exploded: false });
  });

  it('keeps a big pack (at or above the explode threshold) as a pack with a valid index', async () => {
    const { remote, heads, t } = await setup(3);
    const gitdir = await isoInit(dirs);
    const cache = {};
    const res = await fetchObjects({ fs, gitdir, cache, transport: t, want: heads[2] ?? '', haves: [], explodeBelow: 5 });
    expect(res.exploded).toBe(false);
    expect(res.packfile).toMatch(/^objects\/pack\/pack-[0-9a-f]{40}\.pack$/);
    const files = packFiles(gitdir);
    expect(files).toHaveLength(2);
    // Our idx parser agrees with git's own reading of the index isomorphic-git wrote.
    const idx = join(gitdir, res.packfile?.replace(/\.pack$/, '.idx') ?? '');
    const ours = readPackIndexOids(new Uint8Array(fs.readFileSync(idx)));
    const showIndex = gitSync(gitdir, ['verify-pack', '-v', idx]).split('\n').filter((l) => /^[0-9a-f]{40} /.test(l)).map((l) => l.slice(0, 40));
    expect(ours).toEqual([...showIndex].sort());

    // Malformed indexes are refused with a code, not misread.
    const bytes = new Uint8Array(fs.readFileSync(idx));
    const broken = (edit: (b: Uint8Array) => Uint8Array): unknown => {
      try {
        return readPackIndexOids(edit(new Uint8Array(bytes)), 'test.idx');
      } catch (err) {
        return err;
      }
    };
    expect(broken((b) => b.subarray(0, 100))).toMatchObject({ code: 'PACK_INDEX_INVALID' });
    expect(broken((b) => b.subarray(0, b.length - 50))).toMatchObject({ code: 'PACK_INDEX_INVALID' });
    expect(broken((b) => ((b[0] = 0), b))).toMatchObject({ code: 'PACK_INDEX_INVALID' });
    expect(broken((b) => ((b[7] = 3), b))).toMatchObject({ code: 'PACK_INDEX_INVALID' });
    expect(broken((b) => ((b[8 + 4 * 10 + 3] = 0xff), b))).toMatchObject({ code: 'PACK_INDEX_INVALID' });
    await expectComplete(remote, gitdir, heads[2] ?? '', cache);

    // The recovery path: exploding it later gives the same objects, loose.
    const packName = files[0]?.replace(/\.(idx|pack)$/, '') ?? '';
    const exploded = await explodePack({ fs, gitdir, packName });
    expect(exploded.sort()).toEqual([...showIndex].sort());
    expect(packFiles(gitdir)).toEqual([]);
    await expectComplete(remote, gitdir, heads[2] ?? '', {});
  });

  it('fetches shallow (depth 1) and then incrementally on top of the shallow gitdir', async () => {
    const { remote, work, heads, t } = await setup(4);
    const gitdir = await isoInit(dirs);
    const cache = {};
    const head = heads[3] ?? '';
    const res = await fetchObjects({ fs, gitdir, cache, transport: t, want: head, haves: [], depth: 1 });
    expect(res.shallow).toEqual([head]);
    expect(fs.readFileSync(join(gitdir, 'shallow'), 'utf8')).toBe(`${head}\n`);
    // commit + root tree + tasks tree + 4 blobs
    expect(res.objectCount).toBe(7);
    expect(await readText(gitdir, head, 'tasks/t0.md', cache)).toBe('task 0\n'.repeat(20));
    await expect(git.readObject({ fs, gitdir, oid: heads[2] ?? '', cache })).rejects.toThrow();
    // git itself accepts the shallow gitdir (it reads the same shallow file).
    expect(gitSync(gitdir, ['log', '--format=%H', head])).toBe(head);
    gitSync(gitdir, ['fsck', '--no-progress', '--no-dangling', head]);

    const c5 = cliCommit(work, { 'tasks/t5.md': 'five' }, 'c5');
    gitSync(work, ['push', '--quiet', 'origin', 'main']);
    const inc = await fetchObjects({ fs, gitdir, cache, transport: t, want: c5, haves: [head] });
    expect(inc.objectCount).toBe(4); // commit, root, tasks tree, blob
    expect(inc.shallow).toEqual([head]);
    expect(gitSync(gitdir, ['log', '--format=%H', c5]).split('\n')).toEqual([c5, head]);
    gitSync(gitdir, ['fsck', '--no-progress', '--no-dangling', c5]);

    // With `depth` on an incremental fetch, upload-pack makes c6 a shallow boundary and sends its whole tree,
    // haves notwithstanding (1 commit + 2 trees + 6 blobs): callers should pass depth only for a first fetch.
    // We keep the old boundary and do not mark c6 shallow, since we have its parent.
    const c6 = cliCommit(work, { 'tasks/t6.md': 'six' }, 'c6');
    gitSync(work, ['push', '--quiet', 'origin', 'main']);
    const inc2 = await fetchObjects({ fs, gitdir, cache, transport: t, want: c6, haves: [c5], depth: 1 });
    expect(inc2.objectCount).toBe(9);
    expect(inc2.shallow).toEqual([head]);
    expect(await readText(gitdir, c6, 'tasks/t6.md', cache)).toBe('six');

    // Deepening: the boundary moves back and the old one is "unshallowed".
    const deeper = await fetchObjects({ fs, gitdir, cache, transport: t, want: c6, haves: [c6], depth: 4 });
    expect(deeper.shallow).toEqual([heads[2]]);
    expect(gitSync(gitdir, ['log', '--format=%H', c6]).split('\n')).toHaveLength(4);
    await expectComplete(remote, gitdir, c6, cache, true);
  });

  it('throws FetchWantGoneError when the remote no longer has the wanted commit', async () => {
    const { heads, t } = await setup(1);
    const gitdir = await isoInit(dirs);
    const err = await fetchObjects({ fs, gitdir, cache: {}, transport: t, want: '1'.repeat(40), haves: [heads[0] ?? ''] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FetchWantGoneError);
    expect((err as FetchWantGoneError).code).toBe('FETCH_WANT_GONE');
  });

  it('rejects malformed responses and corrupt packs without writing anything', async () => {
    const { heads, t } = await setup(1);
    const gitdir = await isoInit(dirs);
    const good = await t.rpc(
      'git-upload-pack',
      concatBytes([encodePktLine(`want ${heads[0]} ofs-delta no-progress\n`), FLUSH_PKT, encodePktLine('done\n')]),
    );
    const fake = (reply: Uint8Array): Transport => ({
      display: 'fake',
      listRefs: async () => new Map(),
      advertise: async () => new Uint8Array(0),
      rpc: async () => reply,
      close: async () => undefined,
    });
    const want = heads[0] ?? '';
    const corrupt = new Uint8Array(good);
    corrupt[corrupt.length - 30] = (corrupt[corrupt.length - 30] ?? 0) ^ 0xff;
    for (const reply of [good.subarray(0, good.length - 5), corrupt, new TextEncoder().encode('0008NAK\nJUNK'), new TextEncoder().encode('00')]) {
      await expect(fetchObjects({ fs, gitdir, cache: {}, transport: fake(reply), want, haves: [] })).rejects.toBeInstanceOf(FetchFailedError);
    }
    const errPkt = encodePktLine('ERR upload-pack: not our ref ' + want);
    await expect(fetchObjects({ fs, gitdir, cache: {}, transport: fake(errPkt), want, haves: [] })).rejects.toBeInstanceOf(FetchWantGoneError);
    expect(packFiles(gitdir)).toEqual([]);
    // And the good reply works through the same path.
    const ok = await fetchObjects({ fs, gitdir, cache: {}, transport: fake(good), want, haves: [] });
    expect(ok.objectCount).toBe(4);
  });
});
