import * as fs from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createServer } from 'node:http';
import { execFileSync, spawn } from 'node:child_process';
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchObjects } from '../../bus/git/fetch.js';
import { PushRejectedError } from '../../bus/git/push-errors.js';
import { pushRef } from '../../bus/git/push.js';
import { openTransport, normalizeRemote } from '../../bus/remote.js';
import { HttpTransport } from '../../bus/transport/https.js';
import { LocalTransport, createBareRepo } from '../../bus/transport/local.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';
import { ROOT, spawnBounded } from '../helpers/cli.js';
import { selfSignedCert } from '../helpers/tls-cert.js';
import { until } from '../helpers/wait.js';
import { TempDirs, cliClone, cliCommit, gitSync, isoCommit, isoInit } from './transport-fixtures.js';

const dirs = new TempDirs();
const servers: GitHttpServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  await dirs.cleanup();
});

const MAIN = 'refs/heads/main';
const TOKEN = 'tok-s3cret-123';

async function setup(opts: { token?: string } = {}) {
  const root = await dirs.make();
  const remote = await createBareRepo(join(root, 'bus.git'));
  const work = await cliClone(dirs, remote);
  const base = cliCommit(work, { 'README.md': 'bus\n' }, 'init');
  gitSync(work, ['push', '--quiet', 'origin', 'main']);
  const server = await startGitHttpServer({ projectRoot: dirname(remote), ...(opts.token ? { token: opts.token } : {}) });
  servers.push(server);
  return { remote, work, base, server, url: `${server.url}/bus.git`, local: new LocalTransport(remote) };
}

describe('HttpTransport against git http-backend', () => {
  it('lists refs and advertises exactly like the local transport', async () => {
    const { url, local, work } = await setup();
    gitSync(work, ['tag', 'v1']);
    gitSync(work, ['tag', '-a', '-m', 'annotated', 'v2']);
    gitSync(work, ['push', '--quiet', 'origin', '--tags']);
    const t = new HttpTransport(url);
    expect(t.display).toBe(url);
    expect(await t.listRefs()).toEqual(await local.listRefs());
    for (const service of ['git-upload-pack', 'git-receive-pack'] as const) {
      const [h, l] = [await t.advertise(service), await local.advertise(service)];
      // Capabilities differ in agent/session details only when git versions differ; here both are the same git.
      expect(new TextDecoder().decode(h)).toEqual(new TextDecoder().decode(l));
    }
    await t.close();
  });

  it('lists an empty repository as empty', async () => {
    const root = await dirs.make();
    await createBareRepo(join(root, 'empty.git'));
    const server = await startGitHttpServer({ projectRoot: root });
    servers.push(server);
    const t = new HttpTransport(`${server.url}/empty.git/`);
    expect([...(await t.listRefs())]).toEqual([]);
  });

  it('pushes with compare-and-swap and fetches through http', async () => {
    const { remote, url, base, work } = await setup();
    const t = new HttpTransport(url);
    const gitdir = await isoInit(dirs);
    const cache = {};
    await fetchObjects({ fs, gitdir, cache, transport: t, want: base, haves: [] });
    const a = await isoCommit(gitdir, base, { 'a.md': 'A\n' });
    await pushRef({ fs, gitdir, cache, transport: t, ref: MAIN, oldOid: base, newOid: a.oid, oids: a.newOids });
    expect(gitSync(remote, ['rev-parse', MAIN]).trim()).toBe(a.oid);
    // Someone else moves main; a push from the old value is rejected as stale and changes nothing.
    gitSync(work, ['pull', '--quiet', 'origin', 'main']);
    const theirs = cliCommit(work, { 'theirs.md': 'x' }, 'theirs');
    gitSync(work, ['push', '--quiet', 'origin', 'main']);
    const mine = await isoCommit(gitdir, a.oid, { 'mine.md': 'y' });
    const err = await pushRef({ fs, gitdir, cache, transport: t, ref: MAIN, oldOid: a.oid, newOid: mine.oid, oids: mine.newOids }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PushRejectedError);
    expect(err).toMatchObject({ code: 'PUSH_REJECTED', kind: 'stale' });
    expect(gitSync(remote, ['rev-parse', MAIN]).trim()).toBe(theirs);
    // The new commit comes over with haves.
    expect((await t.listRefs()).get(MAIN)).toBe(theirs);
    const res = await fetchObjects({ fs, gitdir, cache, transport: t, want: theirs, haves: [a.oid] });
    expect(res.objectCount).toBeLessThan(5);
    await t.close();
  });

  it('sends the token only when configured, and says where to put one on 401', async () => {
    const { url, server, local } = await setup({ token: TOKEN });
    const home = await dirs.make();
    const none = new HttpTransport(url, { home, env: {} });
    const err = await none.listRefs().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'REMOTE_AUTH_FAILED' });
    expect((err as Error & { fix: string }).fix).toMatch(/GITBUS_TOKEN/);
    expect((err as Error & { fix: string }).fix).toContain(join(home, 'credentials.yaml'));

    const wrong = new HttpTransport(url, { env: { GITBUS_TOKEN: 'nope' } });
    await expect(wrong.listRefs()).rejects.toMatchObject({ code: 'REMOTE_AUTH_FAILED', data: { sentToken: true } });

    const viaEnv = new HttpTransport(url, { env: { GITBUS_TOKEN: TOKEN } });
    expect(await viaEnv.listRefs()).toEqual(await local.listRefs());
    expect(server.requests.at(-1)?.authorization).toBe(`Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`);

    // credentials.yaml: only the matching host; refused while others can read it.
    const file = join(home, 'credentials.yaml');
    await writeFile(file, `- {host: other.example, token: wrong}\n- {host: "127.0.0.1:${server.port}", username: bot, token: ${TOKEN}}\n`, { mode: 0o644 });
    await chmod(file, 0o644);
    await expect(new HttpTransport(url, { home, env: {} }).listRefs()).rejects.toMatchObject({ code: 'REMOTE_CREDENTIALS_INVALID' });
    await chmod(file, 0o600);
    expect(await new HttpTransport(url, { home, env: {} }).listRefs()).toEqual(await local.listRefs());
    expect(server.requests.at(-1)?.authorization).toBe(`Basic ${Buffer.from(`bot:${TOKEN}`).toString('base64')}`);
    for (const e of [err, await wrong.listRefs().catch((e: unknown) => e)]) expect(JSON.stringify({ m: (e as Error).message, d: (e as { data: unknown }).data })).not.toContain(TOKEN);
  });

  it('maps 404, a dead port, a non-git server and a redirect', async () => {
    const { server, local } = await setup();
    await expect(new HttpTransport(`${server.url}/nope.git`).listRefs()).rejects.toMatchObject({ code: 'REMOTE_NOT_FOUND' });

    const web = await startGitHttpServer({
      projectRoot: '/nonexistent',
      intercept: (req, res) => {
        if (req.url?.startsWith('/moved/')) {
          res.writeHead(301, { location: `${server.url}/bus.git${req.url.slice('/moved'.length)}` });
          res.end();
          return true;
        }
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>hello</html>');
        return true;
      },
    });
    servers.push(web);
    await expect(new HttpTransport(`${web.url}/bus.git`).listRefs()).rejects.toMatchObject({ code: 'REMOTE_NOT_SMART_HTTP' });
    // A redirect on the advertisement moves the base: later POSTs go to the final URL.
    const moved = new HttpTransport(`${web.url}/moved`);
    expect(await moved.listRefs()).toEqual(await local.listRefs());
    const head = (await local.listRefs()).get(MAIN) ?? '';
    const gitdir = await isoInit(dirs);
    await fetchObjects({ fs, gitdir, cache: {}, transport: moved, want: head, haves: [] });
    // A redirected POST before any advertisement learns the base first.
    const movedFirst = new HttpTransport(`${web.url}/moved`);
    await fetchObjects({ fs, gitdir: await isoInit(dirs), cache: {}, transport: movedFirst, want: head, haves: [] });

    const port = web.port;
    await web.close();
    servers.splice(servers.indexOf(web), 1);
    await expect(new HttpTransport(`http://127.0.0.1:${port}/bus.git`, { timeoutMs: 10_000 }).listRefs()).rejects.toMatchObject({ code: 'REMOTE_UNREACHABLE' });
  });

  it('strips user names from URLs and refuses passwords', async () => {
    expect(normalizeRemote('https://bot@git.example.com/team/bus.git/')).toBe('https://git.example.com/team/bus.git');
    expect(() => normalizeRemote('https://bot:hunter2@git.example.com/bus.git')).toThrow(/GITBUS_TOKEN/);
    try {
      normalizeRemote('https://bot:hunter2@git.example.com/bus.git');
    } catch (e) {
      expect(JSON.stringify({ m: (e as Error).message, d: (e as { data: unknown }).data })).not.toContain('hunter2');
      expect(e).toMatchObject({ code: 'REMOTE_URL_INVALID' });
    }
    const t = await openTransport('https://bot@git.example.com/bus.git');
    expect(t).toBeInstanceOf(HttpTransport);
    expect(t.display).toBe('https://git.example.com/bus.git');
  });
});

describe('HttpTransport connections', () => {
  it('keeps one connection alive across the requests of a fetch', async () => {
    const { url, server, local } = await setup();
    const t = new HttpTransport(url);
    const head = (await t.listRefs()).get(MAIN) ?? '';
    expect(head).toBe((await local.listRefs()).get(MAIN));
    await fetchObjects({ fs, gitdir: await isoInit(dirs), cache: {}, transport: t, want: head, haves: [] });
    expect(server.requests.map((r) => r.method)).toEqual(['GET', 'POST']);
    expect(server.connections()).toBe(1);
    await t.close();
    await expect(t.listRefs()).rejects.toMatchObject({ code: 'TRANSPORT_CLOSED' });
  });

  it('bounds an exchange that never answers, ends one closed while it runs, and reports a body cut short', async () => {
    const sockets = new Set<Socket>();
    const silent = createNetServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    const cut = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement', 'content-length': '1000' });
      res.write('001e# service=git-upload-pack\n');
      setImmediate(() => res.socket?.destroy());
    });
    const port = async (s: NetServer) => {
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
      return (s.address() as AddressInfo).port;
    };
    try {
      const quiet = `http://127.0.0.1:${await port(silent)}/bus.git`;
      const started = Date.now();
      await expect(new HttpTransport(quiet, { timeoutMs: 300 }).listRefs()).rejects.toMatchObject({ code: 'TRANSPORT_TIMEOUT', data: { timeoutMs: 300 } });
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);

      const closing = new HttpTransport(quiet);
      const pending = closing.listRefs().catch((e: unknown) => e);
      await until('the request to reach the silent listener', () => sockets.size >= 2, 10_000);
      await closing.close();
      expect(await pending).toMatchObject({ code: 'TRANSPORT_CLOSED' });

      const short = await new HttpTransport(`http://127.0.0.1:${await port(cut)}/bus.git`).listRefs().catch((e: unknown) => e);
      expect(short).toMatchObject({ code: 'REMOTE_UNREACHABLE', data: { reason: expect.stringMatching(/ECONNRESET|aborted|closed/) } });
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
      cut.closeAllConnections();
      cut.close();
    }
  });
});

describe('HttpTransport against a slow host', () => {
  // The connect bound covers making the connection only: a host that connects at once and answers later than the
  // bound (a big repository, a busy server) is waited for up to the exchange's own bound, over TLS as over TCP
  // (the TLS socket emits 'connect' when TCP connects; the handshake then runs under the exchange's bound).
  it('waits for an answer later than the connect bound, over http and over https', async () => {
    const { remote, local } = await setup();
    const head = (await local.listRefs()).get(MAIN);
    const slow = await startGitHttpServer({ projectRoot: dirname(remote), answerDelayMs: 800 });
    servers.push(slow);
    const started = Date.now();
    const refs = await new HttpTransport(`${slow.url}/bus.git`, { connectTimeoutMs: 200 }).listRefs();
    expect(refs.get(MAIN)).toBe(head);
    expect(Date.now() - started).toBeGreaterThanOrEqual(790);

    const pem = selfSignedCert(await dirs.make());
    const tls = await startGitHttpServer({ projectRoot: dirname(remote), answerDelayMs: 800, tls: { key: pem.key, cert: pem.cert } });
    servers.push(tls);
    // Node reads NODE_EXTRA_CA_CERTS only when a process starts: the https client runs in a process of its own.
    const r = await spawnBounded(process.execPath, [join(ROOT, 'test/fixtures/list-refs.mjs'), `${tls.url}/bus.git`, '200'], { env: { ...process.env, NODE_EXTRA_CA_CERTS: pem.certFile }, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { refs?: Record<string, string>; ms?: number; error?: unknown };
    expect(out.error).toBeUndefined();
    expect(out.refs?.[MAIN]).toBe(head);
    expect(out.ms).toBeGreaterThanOrEqual(790);
  });
});

describe('HttpTransport against a host that never completes a connection', () => {
  it('gives up after the connect bound, not the whole exchange\'s', async () => {
    const listener = spawn(process.execPath, [join(ROOT, 'test/fixtures/full-backlog.mjs'), '60000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const fillers: Socket[] = [];
    try {
      const port = Number(await new Promise<string>((resolve, reject) => {
        listener.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
        listener.once('exit', () => reject(new Error('the listener exited')));
      }));
      // Connections until one is not completed within 2 s: the kernel's accept queue is full and drops new SYNs.
      for (let i = 0; i < 10; i++) {
        const socket = connect(port, '127.0.0.1');
        socket.on('error', () => undefined);
        fillers.push(socket);
        const connected = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 2_000);
          socket.once('connect', () => (clearTimeout(timer), resolve(true)));
        });
        if (!connected) break;
      }
      const t = new HttpTransport(`http://127.0.0.1:${port}/bus.git`, { connectTimeoutMs: 500, timeoutMs: 60_000 });
      const err = await t.listRefs().catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'REMOTE_UNREACHABLE', data: { reason: expect.stringContaining('ETIMEDOUT (connect timed out after 500 ms)') } });
    } finally {
      for (const s of fillers) s.destroy();
      listener.kill('SIGKILL');
    }
  }, 30_000);
});

describe('HttpTransport against a host that goes silent', () => {
  /** What http-backend sends for the upload-pack advertisement of `remote`: its service line, a flush, the refs. */
  const advertisement = (remote: string): Buffer =>
    Buffer.concat([Buffer.from('001e# service=git-upload-pack\n0000'), execFileSync('git', ['upload-pack', '--stateless-rpc', '--advertise-refs', remote], { timeout: 30_000 })]);
  /** A server answering the advertisement in `pieces` chunks, `everyMs` apart, and sending nothing after `stopAfter` of them. */
  const trickling = async (body: Buffer, pieces: number, everyMs: number, stopAfter = pieces) => {
    const timers = new Set<NodeJS.Timeout>();
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement', 'content-length': String(body.length) });
      const size = Math.ceil(body.length / pieces);
      const send = (i: number) => {
        res.write(body.subarray(i * size, (i + 1) * size));
        if (i + 1 >= pieces) res.end();
        else if (i + 1 < stopAfter) timers.add(setTimeout(() => send(i + 1), everyMs));
      };
      send(0);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/bus.git`,
      close: () => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close();
      },
    };
  };

  it('waits for an answer that keeps coming for longer than the silence bound, and stops one that stops', async () => {
    const { remote, local } = await setup();
    const body = advertisement(remote);
    const slow = await trickling(body, 8, 200);
    const stalled = await trickling(body, 8, 200, 2);
    try {
      const started = Date.now();
      expect(await new HttpTransport(slow.url, { silenceMs: 600 }).listRefs()).toEqual(await local.listRefs());
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_300);

      const t0 = Date.now();
      const err = await new HttpTransport(stalled.url, { silenceMs: 600 }).listRefs().catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'REMOTE_UNREACHABLE', data: { url: stalled.url, silentMs: 600, stage: 'body', reason: expect.stringMatching(/^its answer to the ref advertisement stopped for 600ms, after \d+ bytes$/) } });
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      slow.close();
      stalled.close();
    }
  });

  it('fails a host that takes the connection and sends nothing after the silence bound, over http and at the TLS handshake', async () => {
    const sockets = new Set<Socket>();
    const silent = createNetServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      for (const [scheme, stage] of [['http', 'answer'], ['https', 'handshake']] as const) {
        const url = `${scheme}://127.0.0.1:${port}/bus.git`;
        const started = Date.now();
        const err = await new HttpTransport(url, { silenceMs: 400 }).listRefs().catch((e: unknown) => e);
        expect(Date.now() - started).toBeGreaterThanOrEqual(390);
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(err).toMatchObject({ code: 'REMOTE_UNREACHABLE', data: { url, silentMs: 400, stage }, fix: expect.stringContaining('GITBUS_HTTP_TIMEOUT=<duration> (now 400ms, default 20s)') });
      }
      // The bound comes from GITBUS_HTTP_TIMEOUT when the caller gives none.
      const fromEnv = await new HttpTransport(`http://127.0.0.1:${port}/bus.git`, { env: { GITBUS_HTTP_TIMEOUT: '300ms' } }).listRefs().catch((e: unknown) => e);
      expect(fromEnv).toMatchObject({ code: 'REMOTE_UNREACHABLE', data: { silentMs: 300 } });
      expect(() => new HttpTransport(`http://127.0.0.1:${port}/bus.git`, { env: { GITBUS_HTTP_TIMEOUT: '0s' } })).toThrow(expect.objectContaining({ code: 'BAD_INPUT', data: { env: 'GITBUS_HTTP_TIMEOUT', value: '0s' } }));
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});
