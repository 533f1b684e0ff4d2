import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { CLI, gitCli, neutralCwd } from './cli.js';
import { makeBus } from './bus.js';
import { writeHeartbeat } from './refs.js';
import { until } from './wait.js';

/**
 * The fixture of the web view's tests (test/e2e/web-ui-*.test.ts): `gitbus ui` as a process over a bus of three
 * nodes, and plain HTTP requests and event streams to it. Each file builds only what its tests look at (the suite
 * is CPU-bound): the pages' fixtures (a fan-out, an invalid handoff, an environment drift) only where pages show them.
 */

export const PAYLOAD = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2;alert(2)</script>';

export type UiBus = Awaited<ReturnType<typeof makeBus>>;
export interface UiProcess {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

/**
 * alpha (labelled gpu, heartbeat 1 s, fleet "test fleet"), beta and gamma (a shell runner); a task to beta whose
 * title is a script payload; "ghost", a node taken off the bus while its watcher ran (it beats with no card); and
 * a clone of the remote at bus.dir/work for the tests to push with plain git. With `pages`, that clone also pushes
 * a fan-out's tasks (two workstreams, an integration that met a conflict, a resolve that merged nothing), an invalid
 * handoff and beta's card with an environment profile drifting.
 */
export async function makeUiBus(opts: { pages: boolean }): Promise<{ bus: UiBus; beta: string; gamma: string; xssId: string }> {
  const bus = await makeBus({ node: 'alpha', labels: ['gpu'], initArgs: ['--heartbeat', '1s', '--name', 'test fleet'] });
  const beta = await bus.addNode('beta', ['linux']);
  const gamma = await bus.addNode('gamma', ['mac'], ['--runner', 'shell']);
  const work = join(bus.dir, 'work');
  gitCli(['clone', '-q', bus.remote, work]);
  if (opts.pages) {
    // A fan-out's tasks and an invalid handoff, written with plain git as a person would.
    mkdirSync(join(work, 'handoffs'), { recursive: true });
    mkdirSync(join(work, 'responses'), { recursive: true });
    for (const ws of ['api', 'ui']) writeFileSync(join(work, 'handoffs', `rel-${ws}.md`), `---\ntitle: release 1, ${ws}\nfrom: alpha\nto: beta\nrepo: ${REL_REPO}\nbranch: release-1/${ws}\ngroup: release-1\nworkstream: ${ws}\n---\n## Task\n\nship the ${ws}\n`);
    // Its integration, which met a conflict, and a resolve follow-up that pushed the branch without the workstreams.
    writeFileSync(join(work, 'handoffs', 'rel-int.md'), `---\ntitle: "release 1: integration"\nfrom: alpha\nto: beta\nrunner: merge\nrepo: ${REL_REPO}\nbranch: release-1/integration\nmerge: [release-1/api, release-1/ui]\ngroup: release-1\n---\n`);
    writeFileSync(join(work, 'responses', 'rel-int.md'), `---\nid: rel-int\nstatus: failed\nnode: beta\nfinished: ${new Date().toISOString()}\nreason: release-1/ui conflicts\nproject:\n  repo: ${REL_REPO}\n  branch: release-1/integration\n  baseCommit: ${'a'.repeat(40)}\n  headCommit: ${'a'.repeat(40)}\n  pushed: false\n  merged: [release-1/api]\n  conflicts: [{ branch: release-1/ui, files: [README.md] }]\n---\n`);
    for (const [path, text] of Object.entries(resolveFiles('rel-fix1', 'failed', []))) writeFileSync(join(work, path), text);
    writeFileSync(join(work, 'handoffs', 'broken.md'), '---\ntitle: [never closed\n---\nbody\n');
    // beta's card as its watcher would publish it with one environment profile drifting (gitbus env, issue 12).
    const card = readFileSync(join(work, 'nodes', 'beta.md'), 'utf8');
    const drift = 'env:\n  - profile: claude\n    apply: auto\n    counts: { in-sync: 6, conflict: 1 }\n    drift:\n      - { target: "~/.zshrc", state: conflict }\n';
    writeFileSync(join(work, 'nodes', 'beta.md'), card.replace(/\n---\n/, `\n${drift}---\n`));
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'a fan-out and a broken handoff'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
  }
  const xssId = await bus.dispatch('alpha', [PAYLOAD, '--to', 'beta']);
  // A node taken off the bus while its watcher ran: it beats with no card.
  writeHeartbeat(bus.remote, 'ghost', 0);
  return { bus, beta, gamma, xssId };
}

const REL_REPO = '/srv/release.git';

/**
 * A `gitbus resolve` follow-up of the pages' fan-out (release-1) that ended with the integration's branch pushed,
 * holding the workstreams in `merged`: its handoff and response, by path, as plain git would write them.
 */
export function resolveFiles(id: string, status: 'succeeded' | 'failed', merged: string[]): Record<string, string> {
  return {
    [`handoffs/${id}.md`]: `---\ntitle: resolve release 1\nfrom: alpha\nto: beta\nrunner: claude\nrepo: ${REL_REPO}\nbranch: release-1/integration\ngroup: release-1\n---\n`,
    [`responses/${id}.md`]: `---\nid: ${id}\nstatus: ${status}\nnode: beta\nfinished: ${new Date().toISOString()}\nproject:\n  repo: ${REL_REPO}\n  branch: release-1/integration\n  baseCommit: ${'a'.repeat(40)}\n  headCommit: ${'b'.repeat(40)}\n  pushed: true\n  merged: [${merged.join(', ')}]\n---\n`,
  };
}

/** `gitbus ui --json` as its own process: resolves once it printed its URL. */
export async function spawnUi(home: string, children: ChildProcess[]): Promise<UiProcess> {
  const child = spawn(process.execPath, [CLI, 'ui', '--port', '0', '--poll', '1s', '--json'], { cwd: neutralCwd(), env: { ...process.env, GITBUS_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let url = '';
  await until(
    'gitbus ui to print its URL',
    () => {
      try {
        url = (JSON.parse(out) as { url: string }).url;
        return true;
      } catch {
        return false;
      }
    },
    20_000,
    () => `stdout: ${out}\nstderr: ${err}`,
  );
  return { url, child, stderr: () => err, exited };
}

/** A request to the UI at `base` with any method and Host header (fetch may not set Host). */
export function rawRequest(base: string, method: string, path: string, host?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method, headers: host ? { Host: host } : {}, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    // A body only where the method frames one (Node sends DELETE and OPTIONS without a length).
    req.end(['POST', 'PUT', 'PATCH'].includes(method) ? '{"status":"succeeded"}' : undefined);
  });
}

/** The server-sent events of one stream of the UI at `base`, as they arrive. */
export function eventStream(base: string, path: string): { list: { event: string; data: Record<string, unknown> }[]; close: () => void } {
  const list: { event: string; data: Record<string, unknown> }[] = [];
  const u = new URL(path, base);
  let buf = '';
  const req = request({ host: u.hostname, port: u.port, path: u.pathname, headers: { Accept: 'text/event-stream' } }, (res) => {
    res.on('data', (d: Buffer) => {
      buf += d.toString();
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) list.push({ event, data: JSON.parse(data) as Record<string, unknown> });
      }
    });
  });
  req.on('error', () => undefined);
  req.end();
  return { list, close: () => req.destroy() };
}
