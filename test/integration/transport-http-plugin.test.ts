import * as fs from 'node:fs';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteNotFoundError } from '../../bus/transport/errors.js';
import { TRANSPORT_URL, httpPluginFor } from '../../bus/transport/http-plugin.js';
import { LocalTransport, createBareRepo } from '../../bus/transport/local.js';
import { TempDirs, cliClone, cliCommit, gitSync, isoCommit, isoInitWithRemote, lsRemote } from './transport-fixtures.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

async function remoteWithCommits(n: number): Promise<{ remote: string; work: string; heads: string[] }> {
  const remote = await createBareRepo(join(await dirs.make(), 'bus.git'));
  const work = await cliClone(dirs, remote);
  const heads: string[] = [];
  for (let i = 0; i < n; i++) heads.push(cliCommit(work, { [`dir/f${i}.md`]: `file ${i}\n` }, `commit ${i}`));
  gitSync(work, ['push', '--quiet', 'origin', 'main']);
  return { remote, work, heads };
}

describe('httpPluginFor', () => {
  it('serves a shallow (depth 1) isomorphic-git fetch', async () => {
    const { remote, heads } = await remoteWithCommits(3);
    const gitdir = await isoInitWithRemote(dirs, TRANSPORT_URL);
    const cache = {};
    const t = new LocalTransport(remote);
    const res = await git.fetch({ fs, http: httpPluginFor(t), gitdir, url: TRANSPORT_URL, ref: 'main', singleBranch: true, depth: 1, cache });
    expect(res.fetchHead).toBe(heads[2]);
    expect(res.defaultBranch).toBe('refs/heads/main');
    const commit = await git.readCommit({ fs, gitdir, oid: heads[2] ?? '', cache });
    const files = await git.listFiles({ fs, gitdir, ref: heads[2] ?? '', cache });
    expect(files.sort()).toEqual(['dir/f0.md', 'dir/f1.md', 'dir/f2.md']);
    const { blob } = await git.readBlob({ fs, gitdir, oid: commit.commit.tree, filepath: 'dir/f1.md', cache });
    expect(new TextDecoder().decode(blob)).toBe('file 1\n');
    // Shallow: the parent is not there, and the boundary is recorded.
    expect(fs.readFileSync(join(gitdir, 'shallow'), 'utf8').trim()).toBe(heads[2]);
    await expect(git.readCommit({ fs, gitdir, oid: heads[1] ?? '', cache })).rejects.toThrow();
    await t.close();
  });

  it('serves a full fetch and a clone', async () => {
    const { remote, heads } = await remoteWithCommits(4);
    const gitdir = await isoInitWithRemote(dirs, TRANSPORT_URL);
    const t = new LocalTransport(remote);
    const http = httpPluginFor(t);
    await git.fetch({ fs, http, gitdir, url: TRANSPORT_URL, ref: 'main', singleBranch: true });
    const log = await git.log({ fs, gitdir, ref: heads[3] ?? '' });
    expect(log.map((c) => c.oid)).toEqual([...heads].reverse());
    expect(fs.existsSync(join(gitdir, 'shallow'))).toBe(false);

    const cloneDir = join(await dirs.make(), 'clone');
    await git.clone({ fs, http, dir: cloneDir, url: TRANSPORT_URL, ref: 'main', singleBranch: true });
    expect(fs.readFileSync(join(cloneDir, 'dir/f3.md'), 'utf8')).toBe('file 3\n');
  });

  it('serves an empty repository (clone of nothing)', async () => {
    const remote = await createBareRepo(join(await dirs.make(), 'empty.git'));
    const gitdir = await isoInitWithRemote(dirs, TRANSPORT_URL);
    const res = await git.fetch({ fs, http: httpPluginFor(new LocalTransport(remote)), gitdir, url: TRANSPORT_URL, ref: 'main', singleBranch: true });
    expect(res.fetchHead).toBeNull();
  });

  it('carries an isomorphic-git push (receive-pack) too', async () => {
    const { remote, heads } = await remoteWithCommits(1);
    const gitdir = await isoInitWithRemote(dirs, TRANSPORT_URL);
    const http = httpPluginFor(new LocalTransport(remote));
    await git.fetch({ fs, http, gitdir, url: TRANSPORT_URL, ref: 'main', singleBranch: true });
    await git.writeRef({ fs, gitdir, ref: 'refs/heads/main', value: heads[0] ?? '' });
    const next = await isoCommit(gitdir, heads[0] ?? null, { 'new.md': 'pushed by isomorphic-git' });
    await git.writeRef({ fs, gitdir, ref: 'refs/heads/main', value: next.oid, force: true });
    const res = await git.push({ fs, http, gitdir, url: TRANSPORT_URL, ref: 'main' });
    expect(res.ok).toBe(true);
    expect(lsRemote(remote).get('refs/heads/main')).toBe(next.oid);
    gitSync(remote, ['fsck', '--no-progress']);
  });

  it('answers unknown endpoints with 404 and passes transport errors through', async () => {
    const remote = await createBareRepo(join(await dirs.make(), 'r.git'));
    const http = httpPluginFor(new LocalTransport(remote));
    const res = await http.request({ url: `${TRANSPORT_URL}/info/refs?service=git-frobnicate`, method: 'GET', headers: {} });
    expect(res.statusCode).toBe(404);
    const adv = await http.request({ url: `${TRANSPORT_URL}/info/refs?service=git-upload-pack`, method: 'GET', headers: {} });
    expect(adv.statusCode).toBe(200);
    expect(adv.headers?.['content-type']).toBe('application/x-git-upload-pack-advertisement');
    const chunks: Uint8Array[] = [];
    for await (const c of adv.body ?? []) chunks.push(c);
    expect(Buffer.concat(chunks).toString('latin1').startsWith('001e# service=git-upload-pack\n0000')).toBe(true);

    const gone = httpPluginFor(new LocalTransport(join(remote, 'missing.git')));
    const gitdir = await isoInitWithRemote(dirs, TRANSPORT_URL);
    await expect(git.fetch({ fs, http: gone, gitdir, url: TRANSPORT_URL, ref: 'main' })).rejects.toBeInstanceOf(RemoteNotFoundError);
  });
});
