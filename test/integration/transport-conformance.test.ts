import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import git from 'isomorphic-git';
import { ZERO_OID } from '../../bus/git/oid.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fetchObjects } from '../../bus/git/fetch.js';
import { PushRejectedError } from '../../bus/git/push-errors.js';
import { BusRepo, MAIN } from '../../bus/repo.js';
import { buildCommit } from '../../bus/store/objects.js';
import { HttpTransport } from '../../bus/transport/https.js';
import { LocalTransport, createBareRepo } from '../../bus/transport/local.js';
import { SshTransport } from '../../bus/transport/ssh.js';
import type { Transport } from '../../bus/transport/transport.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';
import { sshdAvailable, startSshd, type Sshd } from '../helpers/sshd.js';
import { TempDirs, cliClone, cliCommit, gitAsync, gitSync, isoInit } from './transport-fixtures.js';

/**
 * One compare-and-swap guarantee on every transport (issue #4): the same behaviours, run against a local bare
 * repository through git's services, through the direct path, over HTTP (git http-backend) and over SSH (a real
 * sshd on loopback). A transport that passes this suite can carry a bus.
 */
const dirs = new TempDirs();
const servers: GitHttpServer[] = [];
let sshd: Sshd | undefined;
const haveSshd = sshdAvailable();
if (!haveSshd) console.warn('transport conformance: SSH variant skipped, /usr/sbin/sshd is not installed (apt-get install openssh-server)');

beforeAll(async () => {
  if (haveSshd) sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.cleanup();
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  await dirs.cleanup();
});

interface Kind {
  name: string;
  skip: boolean;
  /** A transport to the bare repository at `path`. */
  open(path: string): Promise<Transport>;
  /** Whether BusRepo may write the repository directly (the local fast path). */
  direct: boolean;
}

const KINDS: Kind[] = [
  { name: 'local (git services)', skip: false, direct: false, open: async (p) => new LocalTransport(p) },
  { name: 'local (direct)', skip: false, direct: true, open: async (p) => new LocalTransport(p) },
  {
    name: 'http (git http-backend)',
    skip: false,
    direct: false,
    open: async (p) => {
      const server = await startGitHttpServer({ projectRoot: dirname(p) });
      servers.push(server);
      return new HttpTransport(`${server.url}/${p.split('/').pop()}`);
    },
  },
  {
    name: 'ssh (OpenSSH sshd)',
    skip: !haveSshd,
    direct: false,
    open: async (p) => new SshTransport(`busbox:${p}`, { configFiles: [sshd!.configFile], env: sshd!.env }),
  },
];

const who = { name: 'conformance', email: 'c@gitbus.invalid' };

/** `t`, with `after` run after each listing (before the listing is returned). */
function movingAfterListing(t: Transport, after: (t: Transport) => Promise<void>): Transport {
  const moving: Transport = {
    display: t.display,
    listRefs: async () => {
      const refs = await t.listRefs();
      await after(t);
      return refs;
    },
    advertise: (service) => t.advertise(service),
    rpc: (service, body) => t.rpc(service, body),
    close: () => t.close(),
  };
  if (t.rpcAdvertised) moving.rpcAdvertised = t.rpcAdvertised.bind(t);
  return moving;
}

async function setup(kind: Kind) {
  const root = await dirs.make('gitbus-conf-');
  const remote = await createBareRepo(join(root, 'bus.git'));
  const open = async () => {
    const gitdir = await isoInit(dirs);
    const repo = new BusRepo(gitdir, await kind.open(remote));
    return repo;
  };
  return { root, remote, open };
}

/** A commit with one more file on top of `parent`, built the way every gitbus write is. */
async function commit(repo: BusRepo, parent: string | null, file: string, content = `${file}\n`) {
  return buildCommit(repo.store, { parent, changes: [{ path: file, content }], message: `add ${file}`, author: who });
}

describe.each(KINDS)('transport conformance: $name', (kind) => {
  const run = kind.skip ? it.skip : it;
  let restore: string | undefined;
  beforeAll(() => {
    restore = process.env['GITBUS_DIRECT'];
    if (!kind.direct) process.env['GITBUS_DIRECT'] = '0';
  });
  afterAll(() => {
    if (restore === undefined) delete process.env['GITBUS_DIRECT'];
    else process.env['GITBUS_DIRECT'] = restore;
  });

  run('lists an empty repository as empty and creates main in it', async () => {
    const s = await setup(kind);
    const repo = await s.open();
    expect([...(await repo.transport.listRefs())]).toEqual([]);
    expect(await repo.sync()).toBeNull();
    const first = await commit(repo, null, 'gitbus.yaml');
    await repo.push(null, first);
    expect(gitSync(s.remote, ['rev-parse', MAIN])).toBe(first.oid);
    expect((await repo.transport.listRefs()).get(MAIN)).toBe(first.oid);
    expect(gitSync(s.remote, ['fsck', '--no-dangling'])).toBe('');
    await repo.close();
  });

  run('advertises exactly what git itself prints', async () => {
    const s = await setup(kind);
    const work = await cliClone(dirs, s.remote);
    cliCommit(work, { 'a.md': 'a' });
    gitSync(work, ['push', '-q', 'origin', 'main']);
    const repo = await s.open();
    const local = new LocalTransport(s.remote);
    // Over SSH git speaks the stateful protocol, where upload-pack does not offer `no-done` (a stateless-only
    // capability); everything else is byte for byte what the local git prints.
    const lines = (adv: Uint8Array) => new TextDecoder().decode(adv).split(/(?=[0-9a-f]{4}[0-9a-f]{40} |0000$)/).map((l) => l.slice(4).replace(' no-done', ''));
    for (const service of ['git-upload-pack', 'git-receive-pack'] as const) {
      expect(lines(await repo.transport.advertise(service))).toEqual(lines(await local.advertise(service)));
    }
    expect(await repo.transport.listRefs()).toEqual(await local.listRefs());
    await repo.close();
  });

  run('refuses a stale compare-and-swap and leaves the remote as it was', async () => {
    const s = await setup(kind);
    const repo = await s.open();
    const base = await commit(repo, null, 'gitbus.yaml');
    await repo.push(null, base);
    const other = await s.open();
    await other.sync();
    const theirs = await commit(other, base.oid, 'claims/t.1.md');
    await other.push(base.oid, theirs);
    const mine = await commit(repo, base.oid, 'claims/t.1.md', 'mine\n');
    const err = await repo.push(base.oid, mine).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PushRejectedError);
    expect((err as PushRejectedError).data['kind']).toBe('stale');
    expect(gitSync(s.remote, ['rev-parse', MAIN])).toBe(theirs.oid);
    // Creating a ref that exists is stale too (a second `init`).
    const root2 = await commit(repo, null, 'other-root.md');
    expect(((await repo.push(null, root2).catch((e: unknown) => e)) as PushRejectedError).data['kind']).toBe('stale');
    await repo.close();
    await other.close();
  });

  run('lets exactly one of several racing writers win from the same parent', async () => {
    const s = await setup(kind);
    const first = await s.open();
    const base = await commit(first, null, 'gitbus.yaml');
    await first.push(null, base);
    const racers = await Promise.all(Array.from({ length: 5 }, () => s.open()));
    await Promise.all(racers.map((r) => r.sync()));
    const built = await Promise.all(racers.map((r, i) => commit(r, base.oid, `claims/task.${i}.md`)));
    const outcomes = await Promise.allSettled(racers.map((r, i) => r.push(base.oid, built[i]!)));
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect((o.reason as PushRejectedError).data['kind']).toBe('stale');
    const winner = built[outcomes.findIndex((o) => o.status === 'fulfilled')]!;
    expect(gitSync(s.remote, ['rev-parse', MAIN])).toBe(winner.oid);
    await Promise.all([first, ...racers].map((r) => r.close()));
  });

  run('syncs what another writer pushed, and lists only when nothing moved', async () => {
    const s = await setup(kind);
    const work = await cliClone(dirs, s.remote);
    const c1 = cliCommit(work, { 'handoffs/a.md': 'a' });
    gitSync(work, ['push', '-q', 'origin', 'main']);
    const repo = await s.open();
    expect(await repo.sync()).toBe(c1);
    const objects = () => fs.readdirSync(join(repo.gitdir, 'objects')).filter((d) => d.length === 2).length;
    const before = objects();
    expect(await repo.sync()).toBe(c1);
    expect(objects()).toBe(before);
    const c2 = cliCommit(work, { 'handoffs/b.md': 'b' });
    gitSync(work, ['push', '-q', 'origin', 'main']);
    expect(await repo.sync()).toBe(c2);
    expect(Buffer.from((await git.readBlob({ fs, gitdir: repo.gitdir, oid: c2, filepath: 'handoffs/b.md' })).blob).toString()).toBe('b');
    await repo.close();
  });

  run('replaces a parentless ref (a heartbeat) only from the value it expects', async () => {
    const s = await setup(kind);
    const repo = await s.open();
    const ref = 'refs/gitbus/heartbeats/n1';
    const b1 = await commit(repo, null, 'beat', '1\n');
    await repo.push(null, b1, ref, null);
    const b2 = await commit(repo, null, 'beat', '2\n');
    await repo.push(null, b2, ref, b1.oid);
    expect(gitSync(s.remote, ['rev-parse', ref])).toBe(b2.oid);
    const b3 = await commit(repo, null, 'beat', '3\n');
    const err = await repo.push(null, b3, ref, b1.oid).catch((e: unknown) => e);
    expect((err as PushRejectedError).data['kind']).toBe('stale');
    await repo.close();
  });

  run('moves main and deletes a heartbeat in one push, or neither; checks main where it stays', async () => {
    const s = await setup(kind);
    const repo = await s.open();
    const ref = 'refs/gitbus/heartbeats/n1';
    const base = await commit(repo, null, 'gitbus.yaml');
    await repo.push(null, base);
    const b1 = await commit(repo, null, 'beat', '1\n');
    await repo.push(null, b1, ref, null);
    const card = await commit(repo, base.oid, 'nodes/other.md');
    const gone = [{ ref, oldOid: base.oid, newOid: ZERO_OID }];
    // The heartbeat moved from what the decision read: main stays too.
    await expect(repo.push(base.oid, card, MAIN, base.oid, gone)).rejects.toMatchObject({ code: 'PUSH_REJECTED', kind: 'stale' });
    expect(gitSync(s.remote, ['rev-parse', MAIN, ref]).split('\n')).toEqual([base.oid, b1.oid]);
    await repo.push(base.oid, card, MAIN, base.oid, [{ ref, oldOid: b1.oid, newOid: ZERO_OID }]);
    expect(gitSync(s.remote, ['for-each-ref', '--format=%(refname) %(objectname)'])).toBe(`${MAIN} ${card.oid}`);
    // A ref moved while main stays where it was read (old = new), refused once main moved.
    await repo.push(null, b1, ref, null);
    await expect(repo.pushOthers(MAIN, base.oid, [{ ref, oldOid: b1.oid, newOid: ZERO_OID }])).rejects.toMatchObject({ kind: 'stale' });
    await repo.pushOthers(MAIN, card.oid, [{ ref, oldOid: b1.oid, newOid: ZERO_OID }]);
    expect(gitSync(s.remote, ['for-each-ref', '--format=%(refname) %(objectname)'])).toBe(`${MAIN} ${card.oid}`);
    expect(gitSync(s.remote, ['fsck', '--no-dangling'])).toBe('');
    await repo.close();
  });

  run('fetches the commit it listed even when the ref moves right after the listing', async () => {
    const s = await setup(kind);
    const work = await cliClone(dirs, s.remote);
    const c1 = cliCommit(work, { 'a.md': 'a' });
    gitSync(work, ['push', '-q', 'origin', 'main']);
    const repo = await s.open();
    const listed = (await repo.transport.listRefs()).get(MAIN);
    expect(listed).toBe(c1);
    cliCommit(work, { 'b.md': 'b' });
    gitSync(work, ['push', '-q', 'origin', 'main']);
    const got = await fetchObjects({ fs, gitdir: repo.gitdir, cache: {}, transport: repo.transport, want: c1, haves: [] });
    expect(got.objectCount).toBeGreaterThan(0);
    await repo.close();
  });

  run('syncs to a tip the remote serves when main moves between every listing and its fetch', async () => {
    // A repository made by `git init --bare`, as a person sets one up on a host: it accepts no wants but tips
    // (stateful SSH) or commits reachable from them (stateless services). gitbus's own init allows any.
    const root = await dirs.make('gitbus-conf-');
    const remote = join(root, 'plain.git');
    gitSync(root, ['init', '--quiet', '--bare', '--initial-branch=main', remote]);
    const work = await cliClone(dirs, remote);
    cliCommit(work, { 'a.md': 'a' });
    gitSync(work, ['push', '-q', 'origin', 'main']);
    // Another node pushes right after each listing, and this process lists once more (another of its operations):
    // over SSH the channel the fetch continues then advertises a newer tip than the listing said.
    let moves = 0;
    const moving = movingAfterListing(await kind.open(remote), async (t) => {
      cliCommit(work, { [`m${++moves}.md`]: String(moves) });
      gitSync(work, ['push', '-q', 'origin', 'main']);
      await t.listRefs();
    });
    const repo = new BusRepo(await isoInit(dirs), moving);
    const got = await repo.sync();
    expect(got).not.toBeNull();
    expect(await repo.localHead()).toBe(got);
    // Every object of what it landed on is here, and it is main on the remote or an ancestor of it.
    expect(gitSync(repo.gitdir, ['cat-file', '-p', `${got}:a.md`])).toBe('a');
    expect((await gitAsync(remote, ['merge-base', '--is-ancestor', got ?? '', 'main'])).code).toBe(0);
    // Over SSH only the advertised tip is served: the fetch took the newer one instead of failing three times.
    if (kind.name.startsWith('ssh')) expect(got).toBe(gitSync(remote, ['rev-parse', 'main']));
    expect(moves).toBe(1);
    await repo.close();
  });

  run('reports a repository that does not exist as REMOTE_NOT_FOUND', async () => {
    const root = await dirs.make('gitbus-conf-');
    const missing = join(root, 'missing.git');
    const t = await kind.open(missing);
    const err = await t.listRefs().catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('REMOTE_NOT_FOUND');
    await t.close();
  });

  run('refuses use after close', async () => {
    const s = await setup(kind);
    const t = await kind.open(s.remote);
    await t.close();
    const err = await t.listRefs().catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('TRANSPORT_CLOSED');
  });
});
