import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { writeHeartbeat } from '../helpers/refs.js';
import { bounded, until } from '../helpers/wait.js';
import { eventStream, makeUiBus, rawRequest, spawnUi, type UiBus, type UiProcess } from '../helpers/web-ui.js';

/**
 * The web view's server over plain HTTP, no browser: `gitbus ui` as a process over a bus of three nodes (no
 * watcher, nor the pages' fixtures: test/helpers/web-ui.ts) answers only GET and HEAD, with strict headers, only
 * to its own Host, bad names and targets as errors with the fix, files over the limits unread, and streams what
 * changes. The pages in a real browser are in web-ui-browser.test.ts.
 */

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const children: ChildProcess[] = [];
let bus: UiBus;
let ui: UiProcess;
let beta: string;
let xssId: string;

const startUi = (home: string) => spawnUi(home, children);
const raw = (method: string, path: string, host?: string) => rawRequest(ui.url, method, path, host);
const events = (path: string) => eventStream(ui.url, path);

function remoteMain(): string {
  return gitCli(['--git-dir', bus.remote, 'rev-parse', 'refs/heads/main']).trim();
}

beforeAll(async () => {
  ({ bus, beta, xssId } = await makeUiBus({ pages: false }));
  ui = await startUi(bus.home('alpha'));
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

describe('gitbus ui over plain HTTP', () => {
  it('is read-only: every method but GET and HEAD is refused, and the bus does not move', async () => {
    const before = remoteMain();
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      for (const path of ['/', '/api/fleet', `/api/task/${xssId}`, '/api/nothing']) {
        const r = await raw(method, path);
        expect(r.status, `${method} ${path}`).toBe(405);
        expect(r.headers['allow']).toBe('GET, HEAD');
        // The API's refusal is JSON, as its other errors are; a page's is text.
        if (path === '/') {
          expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
          continue;
        }
        expect(r.headers['content-type'], `${method} ${path}`).toBe('application/json; charset=utf-8');
        const { error } = JSON.parse(r.body) as { error: { code: string; message: string; fix: string } };
        expect(error).toEqual({ code: 'UI_METHOD_NOT_ALLOWED', message: `${method} ${path}: the web view is read-only and answers GET and HEAD only`, fix: expect.stringContaining('GET') as string });
      }
    }
    expect((await raw('HEAD', '/api/fleet')).status).toBe(200);
    expect(remoteMain()).toBe(before);
  });

  it('sends a strict Content-Security-Policy, nosniff and no-referrer on pages, assets and the API', async () => {
    for (const path of ['/', '/tasks', '/assets/app.js', '/assets/app.css', '/api/fleet', '/api/nothing']) {
      const r = await raw('GET', path);
      expect(r.headers['content-security-policy'], path).toBe(CSP);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
    }
    const shell = await raw('GET', '/');
    expect(shell.body).not.toMatch(/<script>|<style|\sstyle=|\son[a-z]+=/i);
    expect(shell.body).not.toMatch(/https?:\/\//);
  });

  it('refuses a Host header it was not bound to (DNS rebinding)', async () => {
    const port = new URL(ui.url).port;
    const api = await raw('GET', '/api/fleet', `evil.example:${port}`);
    expect(api.status).toBe(421);
    // The API answers it as JSON, as its other errors, naming the host and the names it answers to.
    expect(api.headers['content-type']).toBe('application/json; charset=utf-8');
    const { error } = JSON.parse(api.body) as { error: { code: string; message: string; fix: string } };
    expect(error).toMatchObject({ code: 'UI_HOST_NOT_ALLOWED', message: `this server does not answer to the host "evil.example:${port}"` });
    expect(error.fix).toContain(`127.0.0.1:${port}`);
    const page = await raw('GET', '/', `evil.example`);
    expect(page.status).toBe(421);
    expect(page.headers['content-type']).toMatch(/^text\/plain/);
    expect((await raw('GET', '/api/fleet', `localhost:${port}`)).status).toBe(200);
  });

  it('answers bad and unknown names with 400 and 404, as JSON with the fix', async () => {
    const bad = await raw('GET', '/api/task/..%2Fsecret');
    expect(bad.status).toBe(400);
    const unknown = await raw('GET', '/api/task/nosuchtask');
    expect(unknown.status).toBe(404);
    expect((JSON.parse(unknown.body) as { error: { code: string } }).error.code).toBe('UNKNOWN_TASK');
    expect((await raw('GET', '/api/group/nosuchgroup')).status).toBe(404);
  });

  it('answers a path under /api that is no endpoint with 404 as JSON naming the path, as its endpoints answer errors; any other path with a text 404', async () => {
    for (const path of ['/api/nothing', '/api', '/api/', `/api/task/${xssId}/claim`, '/api/fleet/more']) {
      const r = await raw('GET', path);
      expect(r.status, path).toBe(404);
      expect(r.headers['content-type'], path).toBe('application/json; charset=utf-8');
      const { error } = JSON.parse(r.body) as { error: { code: string; message: string; fix: string } };
      expect(error.code, path).toBe('UI_UNKNOWN_ENDPOINT');
      expect(error.message).toBe(`no endpoint of the web view's API at ${path}`);
      expect(error.fix).toContain('/api/task/ID/output');
      const head = await raw('HEAD', path);
      expect([head.status, head.headers['content-type'], head.body]).toEqual([404, 'application/json; charset=utf-8', '']);
    }
    const page = await raw('GET', '/nothing');
    expect([page.status, page.headers['content-type']]).toEqual([404, 'text/plain; charset=utf-8']);
  });

  it('does not read a task file above 256 KiB nor a heartbeat log above 64 KiB: the page and show say they are there', async () => {
    const work = join(bus.dir, 'work');
    gitCli(['pull', '-q', '--rebase', 'origin', 'main'], work);
    writeFileSync(join(work, 'handoffs', 'huge1.md'), `---\ntitle: huge\nfrom: alpha\n---\n${'x'.repeat(300 * 1024)}\n`);
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'a handoff above the limit'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const note = /^\(not shown: the file is 30\d{4} bytes, more than the limit of 256 KiB\)\n$/;
    const r = await raw('GET', '/api/task/huge1');
    expect(r.status).toBe(200);
    expect(r.body.length).toBeLessThan(20_000);
    expect((JSON.parse(r.body) as { files: { path: string; text: string }[] }).files[0]?.text).toMatch(note);
    const shown = await gitbus(['show', 'huge1'], { home: bus.home('alpha') });
    expect(shown.stdout).toMatch(/==> handoffs\/huge1\.md <==\n\(not shown: the file is 30\d{4} bytes, more than the limit of 256 KiB\)/);
    // beta holds a task and its heartbeat carries a log of 100 KiB where 4 KiB belong.
    const id = await bus.dispatch('alpha', ['a big beat', '--to', 'beta']);
    expect((await gitbus(['claim', id, '--json'], { home: beta })).code).toBe(0);
    writeHeartbeat(bus.remote, 'beta', 0, { [`${id}.1.log`]: 'y'.repeat(100 * 1024) });
    const s = events(`/api/task/${id}/output`);
    try {
      await until('the output', () => s.list.some((e) => e.event === 'output'), 15_000, () => JSON.stringify(s.list));
      expect(s.list[0]?.data['text']).toBe("(not shown: beta's heartbeat log is 102400 bytes; a heartbeat carries the last 4 KiB of output, and one above 64 KiB is not read)\n");
    } finally {
      s.close();
    }
    expect((await gitbus(['logs', id], { home: bus.home('alpha') })).stdout).toContain("beta's heartbeat log is 102400 bytes");
    // One over 4 KiB and under 64 KiB is read, and its last 4 KiB shown (from a line start), as a heartbeat carries.
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n');
    writeHeartbeat(bus.remote, 'beta', 1, { [`${id}.1.log`]: `${lines}\n` });
    const tail = json<{ text: string; source: string }>(await gitbus(['logs', id, '--json'], { home: bus.home('alpha') }));
    expect(tail.source).toBe('heartbeat');
    expect(Buffer.byteLength(tail.text)).toBeLessThanOrEqual(4096);
    expect(Buffer.byteLength(tail.text)).toBeGreaterThan(4000);
    expect(tail.text).toMatch(/^line \d+\n[\s\S]*\nline 1999\n$/);
  });

  it('names a heartbeat log that is no file (a submodule, a folder, a link) and reads nothing of it: the page and logs say what it is', async () => {
    const id = await bus.dispatch('alpha', ['a hostile beat', '--to', 'beta']);
    expect((await gitbus(['claim', id, '--json'], { home: beta })).code).toBe(0);
    const hash = (text: string) => gitCli(['--git-dir', bus.remote, 'hash-object', '-w', '--stdin'], undefined, text).trim();
    const folder = gitCli(['--git-dir', bus.remote, 'mktree'], undefined, `100644 blob ${hash('inside the folder\n')}\tx\n`).trim();
    const kinds: [string, string][] = [
      // A commit the remote does not have: reading it was a damaged clone, for every node that asked.
      [`160000 commit ${'1'.repeat(40)}`, 'it is a submodule; gitbus never follows submodules'],
      // Read as a blob, the tree's own bytes were shown as the output.
      [`040000 tree ${folder}`, 'it is a folder; logs/ holds only files'],
      [`120000 blob ${hash('/etc/passwd')}`, 'it is a symbolic link; gitbus never follows links'],
    ];
    for (const [entry, what] of kinds) {
      writeHeartbeat(bus.remote, 'beta', 0, {}, [`${entry}\t${id}.1.log`]);
      const said = `(not shown: beta's heartbeat log logs/${id}.1.log is not a file: ${what})\n`;
      const s = events(`/api/task/${id}/output`);
      try {
        // The page of the kind before may still be followed: the server then sends what it showed first.
        await until(`the output naming ${what}`, () => s.list.some((e) => e.event === 'output' && e.data['text'] === said && e.data['source'] === 'heartbeat'), 15_000, () => JSON.stringify(s.list));
        expect(s.list.filter((e) => e.event === 'error')).toEqual([]);
      } finally {
        s.close();
      }
      const logs = await gitbus(['logs', id, '--json'], { home: bus.home('alpha') });
      expect(logs.code, logs.stderr).toBe(0);
      expect(json<{ text: string }>(logs).text).toBe(said);
    }
    expect(ui.stderr()).not.toContain('internal error');
  });

  it('answers a request target that is not a URL path with 400 BAD_INPUT, not an internal error', async () => {
    const { hostname, port } = new URL(ui.url);
    const send = (target: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.end(`GET ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`));
        let got = '';
        socket.on('data', (d: Buffer) => (got += d.toString()));
        socket.on('end', () => resolve(got));
        socket.on('error', reject);
      });
    for (const target of ['http://[::1', 'http://a:b', 'http://%zz/']) {
      const answer = await send(target);
      expect(answer, target).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toContain('"code":"BAD_INPUT"');
    }
    for (const target of ['//[', '//a:99999/']) expect(await send(target), target).toMatch(/^HTTP\/1\.1 404 /);
    expect(ui.stderr()).not.toContain('internal error');
  });

  it('lists as cardless only heartbeat refs named as nodes and holding a heartbeat commit (status too)', async () => {
    const blob = gitCli(['--git-dir', bus.remote, 'hash-object', '-w', '--stdin'], undefined, 'not a heartbeat\n').trim();
    const odd = ['deep/er/name', '\u202Eevil', 'blobnode'];
    for (const name of odd.slice(0, 2)) writeHeartbeat(bus.remote, name, 0);
    gitCli(['--git-dir', bus.remote, 'update-ref', 'refs/gitbus/heartbeats/blobnode', blob]);
    writeHeartbeat(bus.remote, 'ghost2', 0);
    try {
      let cardless: string[] = [];
      await until(
        'the fleet lists ghost2',
        async () => {
          cardless = (JSON.parse((await raw('GET', '/api/fleet')).body) as { cardless: { node: string }[] }).cardless.map((c) => c.node);
          return cardless.includes('ghost2');
        },
        15_000,
        () => JSON.stringify(cardless),
      );
      expect(cardless).toEqual(['ghost', 'ghost2']);
      const status = await gitbus(['status', '--json'], { home: bus.home('alpha') });
      expect((JSON.parse(status.stdout) as { cardless: { node: string }[] }).cardless.map((c) => c.node)).toEqual(['ghost', 'ghost2']);
    } finally {
      for (const name of [...odd, 'ghost2']) gitCli(['--git-dir', bus.remote, 'update-ref', '-d', `refs/gitbus/heartbeats/${name}`]);
    }
  });

  it("streams a task's output as it is written, then its end (what logs --follow shows)", async () => {
    const id = await bus.dispatch('alpha', ['stream me']);
    expect((await gitbus(['claim', id, '--json'], { home: bus.home('alpha') })).code).toBe(0);
    const log = join(bus.home('alpha'), 'logs', `${id}.1.log`);
    mkdirSync(join(bus.home('alpha'), 'logs'), { recursive: true });
    writeFileSync(log, 'one\n');
    const s = events(`/api/task/${id}/output`);
    try {
      await until('the first output', () => s.list.some((e) => e.event === 'output' && e.data['reset'] === true && e.data['text'] === 'one\n'), 15_000, () => JSON.stringify(s.list));
      appendFileSync(log, 'two\n');
      await until('the appended output', () => s.list.some((e) => e.event === 'output' && e.data['reset'] === false && e.data['text'] === 'two\n'), 15_000, () => JSON.stringify(s.list));
      const r = await gitbus(['respond', id, '--status', 'succeeded', '--summary', 'streamed'], { home: bus.home('alpha') });
      expect(r.code, r.stderr).toBe(0);
      await until('the end', () => s.list.some((e) => e.event === 'end' && e.data['state'] === 'succeeded'), 15_000, () => JSON.stringify(s.list));
    } finally {
      s.close();
    }
  });

  it('serves at most 16 output streams at once: the next is 503 with Retry-After and the fix, until one closes', async () => {
    const id = await bus.dispatch('alpha', ['followed by many']);
    const open = Array.from({ length: 16 }, () => events(`/api/task/${id}/output`));
    try {
      await until('16 streams answered', () => open.every((s) => s.list.length > 0), 15_000);
      const refused = await raw('GET', `/api/task/${id}/output`);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
      expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'UI_TOO_MANY_STREAMS', fix: expect.stringContaining('close pages') } });
      open.pop()?.close();
      // Served again once the server has seen that one close (a request before that is still refused).
      await until('a stream once one closed', async () => {
        const again = events(`/api/task/${id}/output`);
        const served = await until('its first event', () => again.list.length > 0, 2_000).then(() => true, () => false);
        if (served) open.push(again);
        else again.close();
        return served;
      }, 15_000);
    } finally {
      for (const s of open) s.close();
    }
  });

  it('answers a request that comes with a body and closes the connection, not reading on (100 GB declared)', async () => {
    const u = new URL(ui.url);
    const socket = connect(Number(u.port), u.hostname);
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('error', () => undefined);
    // A kilobyte of the 100 GB, and no more: before, the server answered and then waited to read the rest (6 GB in
    // 15 s). Not more than it reads with the headers: a server that closes with bytes unread resets the connection,
    // and the reset may take its answer with it before this socket reads it.
    socket.write(`POST /api/fleet HTTP/1.1\r\nHost: ${u.host}\r\nContent-Length: 100000000000\r\n\r\n${'x'.repeat(1024)}`);
    try {
      await bounded(closed, 15_000, 'the server to close the connection');
      expect(answer).toMatch(/^HTTP\/1\.1 405 /);
      expect(answer.toLowerCase()).toContain('connection: close');
    } finally {
      socket.destroy();
    }
  });

  it('answers 502 and tells open pages the bus is offline when main is deleted from the remote, and online once it is back', async () => {
    const s = events('/api/events');
    const head = remoteMain();
    try {
      await until('the hello', () => s.list.some((e) => e.event === 'hello'), 10_000);
      gitCli(['--git-dir', bus.remote, 'update-ref', '-d', 'refs/heads/main']);
      await until('offline', () => s.list.some((e) => e.event === 'offline' && e.data['code'] === 'REMOTE_MAIN_GONE'), 20_000, () => JSON.stringify(s.list));
      const fleet = await raw('GET', '/api/fleet');
      expect(fleet.status).toBe(502);
      expect(JSON.parse(fleet.body)).toMatchObject({ error: { code: 'REMOTE_MAIN_GONE' } });
    } finally {
      gitCli(['--git-dir', bus.remote, 'update-ref', 'refs/heads/main', head]);
    }
    try {
      await until('online', () => s.list.some((e) => e.event === 'online'), 20_000, () => JSON.stringify(s.list));
      expect((await raw('GET', '/api/fleet')).status).toBe(200);
    } finally {
      s.close();
    }
  });

  it('tells open pages when the bus changes', async () => {
    const s = events('/api/events');
    try {
      await until('the hello', () => s.list.some((e) => e.event === 'hello'), 10_000);
      await bus.dispatch('beta', ['wake the pages']);
      await until('a change of main', () => s.list.some((e) => e.event === 'change' && e.data['main'] === true), 15_000, () => JSON.stringify(s.list));
      const tasks = await raw('GET', '/api/tasks');
      expect((JSON.parse(tasks.body) as { tasks: { title: string }[] }).tasks.map((t) => t.title)).toContain('wake the pages');
    } finally {
      s.close();
    }
  });

  it('prints its URL with --json and stops on SIGTERM', async () => {
    const second = await startUi(bus.home('beta'));
    expect(second.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const fleet = (await (await fetch(new URL('/api/fleet', second.url))).json()) as { node: string; nodes: unknown[] };
    expect(fleet.node).toBe('beta');
    expect(fleet.nodes).toHaveLength(3);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('stops by itself, saying why, when its home is removed, and makes nothing there again', async () => {
    const home = await bus.addNode('viewer');
    const viewer = await startUi(home);
    expect((await raw('GET', '/api/fleet')).status).toBe(200);
    // Gone at once: an rm -rf walking the folder races the server's own writes in it (liveness.json at each look).
    renameSync(home, `${home}.removed`);
    rmSync(`${home}.removed`, { recursive: true, force: true, maxRetries: 5 });
    // A request meanwhile is refused (the bus it had open would clone into the removed folder again).
    const u = new URL('/api/fleet', viewer.url);
    const answer = await fetch(u).then((r) => r.status, () => 0);
    expect([0, 503]).toContain(answer);
    expect(await bounded(viewer.exited, 20_000, 'the server to stop')).toBe(0);
    expect(viewer.stderr()).toContain(`gitbus ui: stopped: the home ${home} was removed (its node.yaml is gone)`);
    expect(existsSync(home)).toBe(false);
  });
});
