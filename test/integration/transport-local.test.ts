import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FileUrlOtherHostError,
  GitCliMissingError,
  LocalRemoteInvalidError,
  RemoteNotAGitRepositoryError,
  RemoteNotBareError,
  RemoteNotFoundError,
  TransportClosedError,
} from '../../bus/transport/errors.js';
import { LocalTransport, createBareRepo, parseLocalRemote } from '../../bus/transport/local.js';
import { GIT_ENV, TempDirs, cliClone, cliCommit, gitSync, lsRemote } from './transport-fixtures.js';

const dirs = new TempDirs();

/**
 * A process that, for each line read, waits that many tenths of a millisecond (busy, so the moment varies little
 * with timers), renames argv[1] to argv[2] and prints a line.
 */
const MOVER = `
const { renameSync } = require('node:fs');
const [here, away] = process.argv.slice(1);
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const end = process.hrtime.bigint() + BigInt(Number(line) * 100_000);
  while (process.hrtime.bigint() < end);
  renameSync(here, away);
  process.stdout.write('moved\\n');
});
`;afterEach(() => dirs.cleanup());

async function remoteWithHistory(): Promise<{ remote: string; work: string }> {
  const remote = await createBareRepo(join(await dirs.make(), 'bus.git'));
  const work = await cliClone(dirs, remote);
  cliCommit(work, { 'a.md': 'one' }, 'first');
  cliCommit(work, { 'b.md': 'two' }, 'second');
  gitSync(work, ['push', '--quiet', 'origin', 'main']);
  gitSync(work, ['push', '--quiet', 'origin', 'main:refs/heads/archive']);
  gitSync(work, ['tag', 'v1', 'HEAD~1']);
  gitSync(work, ['tag', '-a', '-m', 'annotated', 'v2']);
  gitSync(work, ['push', '--quiet', '--tags', 'origin']);
  return { remote, work };
}

describe('parseLocalRemote', () => {
  it('accepts absolute paths and file:// URLs', () => {
    expect(parseLocalRemote('/srv/bus.git')).toBe('/srv/bus.git');
    expect(parseLocalRemote('/srv/bus.git/')).toBe('/srv/bus.git');
    expect(parseLocalRemote('file:///srv/bus.git')).toBe('/srv/bus.git');
    expect(parseLocalRemote('file://localhost/srv/my%20bus.git')).toBe('/srv/my bus.git');
  });
  it('rejects relative paths, other hosts and other schemes with a code', () => {
    for (const bad of ['bus.git', './bus.git', 'ssh://host/bus.git', 'https://h/x.git']) {
      expect(() => parseLocalRemote(bad), bad).toThrow(LocalRemoteInvalidError);
    }
    // git would open /srv/bus.git on this machine: refused with its own code and the fix (test/e2e/file-url-hosts.test.ts).
    expect(() => parseLocalRemote('file://server/srv/bus.git')).toThrow(FileUrlOtherHostError);
    try {
      parseLocalRemote('bus.git');
    } catch (err) {
      expect((err as LocalRemoteInvalidError).code).toBe('LOCAL_REMOTE_INVALID');
      expect((err as LocalRemoteInvalidError).fix).toMatch(/absolute path/);
    }
  });
});

describe('LocalTransport.listRefs', () => {
  it('matches git ls-remote for an empty repository', async () => {
    const remote = await createBareRepo(join(await dirs.make(), 'empty.git'));
    const t = await LocalTransport.open(remote);
    expect(await t.listRefs()).toEqual(lsRemote(remote));
    expect((await t.listRefs()).size).toBe(0);
    await t.close();
  });

  it('matches git ls-remote for loose refs, then for packed refs, then for a mix', async () => {
    const { remote, work } = await remoteWithHistory();
    const t = new LocalTransport(`file://${remote}`);
    const loose = await t.listRefs();
    expect(loose).toEqual(lsRemote(remote));
    expect([...loose.keys()]).toEqual(['HEAD', 'refs/heads/archive', 'refs/heads/main', 'refs/tags/v1', 'refs/tags/v2']);

    gitSync(remote, ['pack-refs', '--all']);
    expect(await t.listRefs()).toEqual(lsRemote(remote));
    expect(await t.listRefs()).toEqual(loose);

    // A loose ref overrides its stale packed entry.
    cliCommit(work, { 'c.md': 'three' }, 'third');
    gitSync(work, ['push', '--quiet', 'origin', 'main']);
    const mixed = await t.listRefs();
    expect(mixed).toEqual(lsRemote(remote));
    expect(mixed.get('refs/heads/main')).toBe(gitSync(work, ['rev-parse', 'HEAD']));
    expect(mixed.get('HEAD')).toBe(mixed.get('refs/heads/main'));
    await t.close();
  });

  it('follows HEAD to another branch and leaves it out while that branch is unborn', async () => {
    const { remote } = await remoteWithHistory();
    const t = new LocalTransport(remote);
    gitSync(remote, ['symbolic-ref', 'HEAD', 'refs/heads/archive']);
    expect(await t.listRefs()).toEqual(lsRemote(remote));
    gitSync(remote, ['symbolic-ref', 'HEAD', 'refs/heads/nothing-yet']);
    const refs = await t.listRefs();
    expect(refs.has('HEAD')).toBe(false);
    expect(refs).toEqual(lsRemote(remote));
  });

  it('ignores ref lock files (an update in progress)', async () => {
    const { remote } = await remoteWithHistory();
    const before = lsRemote(remote);
    writeFileSync(join(remote, 'refs/heads/main.lock'), '1111111111111111111111111111111111111111\n');
    expect(await new LocalTransport(remote).listRefs()).toEqual(before);
  });
});

describe('LocalTransport services', () => {
  it('advertise() prints exactly what git prints', async () => {
    const { remote } = await remoteWithHistory();
    const t = new LocalTransport(remote);
    for (const service of ['git-upload-pack', 'git-receive-pack'] as const) {
      const expected = execFileSync('git', [service.slice(4), '--stateless-rpc', '--advertise-refs', remote], { env: GIT_ENV });
      expect(Buffer.from(await t.advertise(service)).toString('latin1')).toBe(expected.toString('latin1'));
    }
  });

  it('ignores GIT_DIR and GIT_PROTOCOL from the environment (gitbus runs inside git hooks)', async () => {
    const { remote } = await remoteWithHistory();
    const other = await createBareRepo(join(await dirs.make(), 'other.git'));
    const saved = { dir: process.env['GIT_DIR'], proto: process.env['GIT_PROTOCOL'] };
    process.env['GIT_DIR'] = other;
    process.env['GIT_PROTOCOL'] = 'version=2';
    try {
      const adv = Buffer.from(await new LocalTransport(remote).advertise('git-upload-pack')).toString('latin1');
      expect(adv).not.toContain('version 2');
      expect(adv).toContain('refs/heads/main');
    } finally {
      if (saved.dir === undefined) delete process.env['GIT_DIR'];
      else process.env['GIT_DIR'] = saved.dir;
      if (saved.proto === undefined) delete process.env['GIT_PROTOCOL'];
      else process.env['GIT_PROTOCOL'] = saved.proto;
    }
  });

  it('createBareRepo makes a bare repo on main, with its 256 fan-out folders, that receive-pack accepts pushes into', async () => {
    const remote = await createBareRepo(join(await dirs.make(), 'new.git'));
    expect(gitSync(remote, ['rev-parse', '--is-bare-repository'])).toBe('true');
    expect(gitSync(remote, ['symbolic-ref', 'HEAD'])).toBe('refs/heads/main');
    // Made once here, not by the first command that writes an object into each (bus/store/init-clone.ts).
    expect(readdirSync(join(remote, 'objects')).filter((f) => /^[0-9a-f]{2}$/.test(f))).toHaveLength(256);
    expect(gitSync(remote, ['fsck', '--no-progress'])).toBe('');
    const work = await cliClone(dirs, remote);
    const head = cliCommit(work, { 'x.md': 'x' });
    gitSync(work, ['push', '--quiet', 'origin', 'main']);
    expect(lsRemote(remote).get('refs/heads/main')).toBe(head);
  });

  it('createBareRepo makes a repo whose packs carry a reverse index, so no upload-pack builds one for them', async () => {
    const remote = await createBareRepo(join(await dirs.make(), 'rev.git'));
    expect(gitSync(remote, ['config', 'pack.writeReverseIndex'])).toBe('true');
    const work = await cliClone(dirs, remote);
    // More objects than receive-pack's transfer.unpackLimit (100): it keeps them as the pack it received.
    cliCommit(work, Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`f${i}.md`, `file ${i}\n`])));
    gitSync(work, ['push', '--quiet', 'origin', 'main']);
    const packs = readdirSync(join(remote, 'objects', 'pack'));
    expect(packs.filter((f) => f.endsWith('.pack'))).toHaveLength(1);
    expect(packs.filter((f) => f.endsWith('.rev'))).toEqual(packs.filter((f) => f.endsWith('.pack')).map((f) => f.replace(/\.pack$/, '.rev')));
  });
});

describe('LocalTransport errors', () => {
  it('says when the path does not exist', async () => {
    const missing = join(await dirs.make(), 'nope.git');
    await expect(LocalTransport.open(missing)).rejects.toBeInstanceOf(RemoteNotFoundError);
    // Lazily too, on first use.
    await expect(new LocalTransport(missing).listRefs()).rejects.toMatchObject({ code: 'REMOTE_NOT_FOUND' });
  });

  it('a remote renamed away while it is read or checked is gone, never a repository without main nor a broken one', async () => {
    const { remote } = await remoteWithHistory();
    const away = `${remote}.away`;
    const main = lsRemote(remote).get('refs/heads/main');
    const kept = await LocalTransport.open(remote);
    // Another process renames the folder away at a moment of its choosing in each trial, as a person or an unmount
    // would; it stays away until the reads have seen it gone, so every read that met it away must say so.
    const mover = spawn(process.execPath, ['-e', MOVER, remote, away], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = readline.createInterface({ input: mover.stdout });
    const moved = () => new Promise((resolve) => lines.once('line', resolve));
    try {
      const bad: string[] = [];
      let reads = 0;
      for (let trial = 0; trial < 60; trial++) {
        const done = moved();
        mover.stdin.write(`${trial % 7}\n`);
        // Half the trials through a transport that checks the repository at first use (a fresh one every read).
        const fresh = trial % 2 === 1;
        for (;;) {
          const t = fresh ? new LocalTransport(remote) : kept;
          const read = reads++ % 2 === 0 ? t.readRef('refs/heads/main') : t.listRefs().then((refs) => refs.get('refs/heads/main') ?? null);
          const got = await read.catch((err: unknown) => err);
          if (got === main) continue;
          if (!(got instanceof RemoteNotFoundError)) bad.push(`trial ${trial}: ${String(got)}`);
          break;
        }
        await done;
        renameSync(away, remote);
      }
      expect(bad).toEqual([]);
    } finally {
      mover.kill();
      if (!existsSync(remote) && existsSync(away)) renameSync(away, remote);
    }
  }, 60_000);

  it('says when the path is not a git repository, and when it is an empty folder (a disk not mounted there) that it is not there', async () => {
    const dir = await dirs.make();
    // Empty: a mount point without its disk, most often; the remote is not there (an outage), not broken.
    await expect(LocalTransport.open(dir)).rejects.toMatchObject({ code: 'REMOTE_NOT_FOUND', message: expect.stringContaining('is an empty folder'), fix: expect.stringContaining('mounted') });
    writeFileSync(join(dir, 'notes.txt'), 'x');
    await expect(LocalTransport.open(dir)).rejects.toBeInstanceOf(RemoteNotAGitRepositoryError);
    const file = join(dir, 'notes.txt');
    await expect(LocalTransport.open(file)).rejects.toMatchObject({ code: 'REMOTE_NOT_A_REPOSITORY' });
  });

  it('says when the repository is not bare (work tree or its .git)', async () => {
    const dir = join(await dirs.make(), 'wt');
    mkdirSync(dir);
    gitSync(dir, ['init', '--quiet']);
    await expect(LocalTransport.open(dir)).rejects.toBeInstanceOf(RemoteNotBareError);
    await expect(LocalTransport.open(join(dir, '.git'))).rejects.toMatchObject({ code: 'REMOTE_NOT_BARE' });
  });

  it('says to install git when the git CLI is missing', async () => {
    const remote = await createBareRepo(join(await dirs.make(), 'r.git'));
    const t = new LocalTransport(remote, { gitPath: '/nonexistent/bin/git' });
    const err = await t.advertise('git-upload-pack').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitCliMissingError);
    expect((err as GitCliMissingError).code).toBe('GIT_CLI_MISSING');
    expect((err as GitCliMissingError).fix).toMatch(/install git/);
    // listRefs needs no git at all.
    expect((await t.listRefs()).size).toBe(0);
  });

  it('reports a failing service with its stderr', async () => {
    const remote = await createBareRepo(join(await dirs.make(), 'r.git'));
    const t = new LocalTransport(remote);
    const err = await t.rpc('git-upload-pack', new TextEncoder().encode('garbage')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'GIT_SERVICE_FAILED' });
    expect((err as Error).message).toMatch(/upload-pack/);
  });

  it('refuses use after close()', async () => {
    const remote = await createBareRepo(join(await dirs.make(), 'r.git'));
    const t = new LocalTransport(remote);
    await t.close();
    await expect(t.listRefs()).rejects.toBeInstanceOf(TransportClosedError);
  });
});
