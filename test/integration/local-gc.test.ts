import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BusRepo } from '../../bus/repo.js';
import { buildCommit } from '../../bus/store/objects.js';
import { LocalTransport, createBareRepo } from '../../bus/transport/local.js';
import { until } from '../helpers/wait.js';
import { TempDirs, gitSync, isoInit } from './transport-fixtures.js';

/**
 * A local remote written directly never sees receive-pack's `git gc --auto`; gitbus starts one itself every so
 * many direct pushes, so heartbeat garbage and loose objects do not pile up forever.
 */
const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

function countObjects(remote: string): { loose: number; packs: number } {
  const out = gitSync(remote, ['count-objects', '-v']);
  const get = (k: string) => Number(new RegExp(`^${k}: (\\d+)$`, 'm').exec(out)?.[1] ?? NaN);
  return { loose: get('count'), packs: get('packs') };
}

/** Blob contents whose object ids start with 17. */
function blobsInFolder17(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const content = `planted ${i}\n`;
    const oid = createHash('sha1').update(`blob ${Buffer.byteLength(content)}\0${content}`).digest('hex');
    if (oid.startsWith('17')) out.push(content);
  }
  return out;
}

async function pushMany(gcEvery: number, pushes: number) {
  const remote = await createBareRepo(join(await dirs.make('gitbus-gc-'), 'bus.git'));
  // git gc --auto estimates the loose objects from objects/17/ alone (more than gc.auto/256 there): a low
  // threshold and three planted objects in that folder make "enough to pack" certain, as thousands of
  // heartbeats would in a real bus.
  gitSync(remote, ['config', 'gc.auto', '20']);
  gitSync(remote, ['config', 'pack.writeReverseIndex', 'false']);
  for (const content of blobsInFolder17(3)) gitSync(remote, ['hash-object', '-w', '--stdin'], content);
  const repo = new BusRepo(await isoInit(dirs), new LocalTransport(remote), { gcEvery });
  expect(await repo.directRemote()).toBe(remote);
  let parent: string | null = null;
  for (let i = 0; i < pushes; i++) {
    const built = await buildCommit(repo.store, { parent, changes: [{ path: `claims/t${i}.1.md`, content: `claim ${i}\n` }], message: `claim ${i}`, author: { name: 'n', email: 'n@gitbus.invalid' } });
    await repo.push(parent, built);
    parent = built.oid;
  }
  await repo.close();
  return { remote, head: parent };
}

describe('git gc for directly written remotes', () => {
  it('packs the loose objects of a directly written remote every so many pushes', async () => {
    const { remote, head } = await pushMany(10, 10);
    // Reachable objects go into a pack; the three planted ones are unreachable and recent, so they stay loose.
    await until('git gc --auto to pack the remote', () => countObjects(remote).packs >= 1 && countObjects(remote).loose <= 3, 30_000);
    // Nothing reachable was lost.
    expect(gitSync(remote, ['rev-parse', 'refs/heads/main'])).toBe(head);
    expect(gitSync(remote, ['fsck', '--no-dangling', '--connectivity-only'])).toBe('');
    expect(gitSync(remote, ['rev-list', '--count', 'main'])).toBe('10');
    // With its reverse index, even in a remote whose config does not ask for one (made by hand, or before gitbus set it).
    expect(gitSync(remote, ['config', '--get-all', 'pack.writeReverseIndex'])).toBe('false');
    const packs = readdirSync(join(remote, 'objects', 'pack'));
    expect(packs.filter((f) => f.endsWith('.rev'))).toEqual(packs.filter((f) => f.endsWith('.pack')).map((f) => f.replace(/\.pack$/, '.rev')));
  });

  it('starts no gc when it is switched off', async () => {
    const { remote } = await pushMany(0, 12);
    // 4 objects per push (claim blob, claims/ tree, root tree, commit), plus the 3 planted.
    expect(countObjects(remote)).toEqual({ loose: 12 * 4 + 3, packs: 0 });
  });
});
