import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PktLineReader, pktText } from '../bus/git/pkt-line.js';
import { demuxSideBand } from '../bus/git/side-band.js';
import { advertisement, capabilitiesOf } from './git-host-refs.js';

/**
 * A git host as the fleet benchmark needs one: `git http-backend` behind a Node HTTP server on 127.0.0.1 (like
 * test/helpers/git-http-server.ts, without auth), which COUNTS what a host counts. Every request is logged with
 * its kind; for a push, the refs it asked to update and whether receive-pack took each (`ok`) or refused it
 * (`ng`, e.g. a compare-and-swap lost to another node).
 */

export type HostRequestKind =
  /**
   * GET info/refs?service=git-upload-pack: a ref listing (every poll and every heartbeat makes one); over protocol
   * v2 that GET is the capabilities, and the listing a POST git-upload-pack of `command=ls-refs`, also a 'list'.
   */
  | 'list'
  /** POST git-upload-pack: a fetch (over protocol v2, `command=fetch`). */
  | 'fetch'
  /** GET info/refs?service=git-receive-pack: the listing a git CLI push starts with (gitbus never makes one). */
  | 'push-list'
  /** POST git-receive-pack: a push. */
  | 'push'
  | 'other';

export interface RefUpdate {
  ref: string;
  /** receive-pack's report: true for `ok`, false for `ng`; null when no report came back. */
  ok: boolean | null;
  reason: string;
}

export interface HostRequest {
  /** Date.now() when the request arrived. */
  at: number;
  kind: HostRequestKind;
  status: number;
  /** From arrival to the last byte of the answer. */
  ms: number;
  /** For a push: the ref updates it carried. */
  refs: RefUpdate[];
}

export interface GitHost {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Every request so far, in order of completion. */
  log: HostRequest[];
  /** http-backend processes running now, and the most at once so far. */
  inFlight(): { now: number; peak: number };
  close(): Promise<void>;
}

export function kindOf(method: string, path: string, query: string, body?: Uint8Array): HostRequestKind {
  if (method === 'GET' && path.endsWith('/info/refs')) {
    if (query === 'service=git-upload-pack') return 'list';
    if (query === 'service=git-receive-pack') return 'push-list';
  }
  // A v2 request starts with its command's pkt-line: `0014command=ls-refs\n`.
  if (method === 'POST' && path.endsWith('/git-upload-pack')) return body !== undefined && Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1', 4, 19) === 'command=ls-refs' ? 'list' : 'fetch';
  if (method === 'POST' && path.endsWith('/git-receive-pack')) return 'push';
  return 'other';
}

/** The ref update commands at the start of a receive-pack request (`<old> <new> <ref>[\0caps]`, up to the flush). */
export function pushCommands(body: Uint8Array): { refs: string[]; sideBand: boolean } {
  const refs: string[] = [];
  let sideBand = false;
  try {
    const reader = new PktLineReader(body);
    while (!reader.atEnd()) {
      const pkt = reader.next();
      if (pkt.type !== 'data') break;
      const line = pktText(pkt.data);
      const nul = line.indexOf('\0');
      const command = nul < 0 ? line : line.slice(0, nul);
      if (nul >= 0 && /\bside-band(-64k)?\b/.test(line.slice(nul + 1))) sideBand = true;
      const ref = command.split(' ')[2];
      if (ref) refs.push(ref);
    }
  } catch {
    // A malformed request: counted as a push with the refs read so far; receive-pack will refuse it anyway.
  }
  return { refs, sideBand };
}

/** receive-pack's report-status lines (`ok <ref>` / `ng <ref> <reason>`), through side-band when it was asked for. */
export function pushReport(answer: Uint8Array, sideBand: boolean): Map<string, { ok: boolean; reason: string }> {
  const out = new Map<string, { ok: boolean; reason: string }>();
  try {
    const data = sideBand ? demuxSideBand(answer).data : answer;
    const reader = new PktLineReader(data);
    while (!reader.atEnd()) {
      const pkt = reader.next();
      if (pkt.type === 'flush') break;
      if (pkt.type !== 'data') continue;
      const line = pktText(pkt.data);
      if (line.startsWith('ok ')) out.set(line.slice(3), { ok: true, reason: '' });
      else if (line.startsWith('ng ')) {
        const rest = line.slice(3);
        const sp = rest.indexOf(' ');
        out.set(sp < 0 ? rest : rest.slice(0, sp), { ok: false, reason: sp < 0 ? '' : rest.slice(sp + 1) });
      }
    }
  } catch {
    // No readable report: the refs stay `ok: null`.
  }
  return out;
}

export interface GitHostOptions {
  /** How long one http-backend process may take. */
  cgiTimeoutMs?: number;
  /**
   * Answer ref listings from the repository's ref files (git-host-refs.ts) after the first, which http-backend
   * answers and whose capabilities are kept: what a hosting service does, without a process start per listing.
   */
  listingsInProcess?: boolean;
}

/** Serves the bare repositories under `projectRoot` (`<url>/<name>.git`) over smart HTTP and logs every request. */
export async function startGitHost(projectRoot: string, options: GitHostOptions = {}): Promise<GitHost> {
  const cgiTimeoutMs = options.cgiTimeoutMs ?? 120_000;
  const log: HostRequest[] = [];
  const children = new Set<ChildProcess>();
  /** Per repository path: the capabilities its http-backend advertised, once a listing has been answered. */
  const caps = new Map<string, string>();
  let peak = 0;

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer, at: number): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = url.search.replace(/^\?/, '');
    const kind = kindOf(req.method ?? 'GET', url.pathname, query, body);
    const push = kind === 'push' ? pushCommands(body) : { refs: [], sideBand: false };
    const done = (status: number, answer: Uint8Array) => {
      const report = kind === 'push' && status === 200 ? pushReport(answer, push.sideBand) : new Map<string, { ok: boolean; reason: string }>();
      const refs = push.refs.map((ref) => ({ ref, ok: report.get(ref)?.ok ?? null, reason: report.get(ref)?.reason ?? '' }));
      log.push({ at, kind, status, ms: Date.now() - at, refs });
    };
    const repo = decodeURIComponent(url.pathname).replace(/\/info\/refs$/, '');
    // A client that asks for protocol v2 (git does; isomorphic-git asks for none) gets it, as from a hosting service:
    // the header goes to http-backend as GIT_PROTOCOL, as a web server's configuration for it passes it.
    const protocol = req.headers['git-protocol'];
    const known = kind === 'list' && options.listingsInProcess && protocol === undefined ? caps.get(repo) : undefined;
    let own: Buffer | undefined;
    try {
      if (known !== undefined && !repo.split('/').includes('..')) own = advertisement(join(projectRoot, repo), known);
    } catch {
      own = undefined; // http-backend answers, and says what is wrong
    }
    if (own !== undefined) {
      res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement', 'cache-control': 'no-cache, max-age=0, must-revalidate' });
      res.end(own);
      done(200, own);
      return;
    }
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      REQUEST_METHOD: req.method ?? 'GET',
      QUERY_STRING: query,
      PATH_INFO: decodeURIComponent(url.pathname),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      CONTENT_LENGTH: String(body.length),
      REMOTE_ADDR: '127.0.0.1',
      // Without REMOTE_USER http-backend refuses receive-pack unless http.receivepack is set in the repository.
      REMOTE_USER: 'fleet',
      ...(typeof protocol === 'string' ? { GIT_PROTOCOL: protocol } : {}),
    };
    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    peak = Math.max(peak, children.size);
    const timer = setTimeout(() => child.kill('SIGKILL'), cgiTimeoutMs);
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => (err += String(e)));
    child.stdin.end(body);
    child.on('close', () => {
      clearTimeout(timer);
      children.delete(child);
      const all = Buffer.concat(out);
      let sep = all.indexOf('\r\n\r\n');
      let sepLen = 4;
      if (sep < 0) {
        sep = all.indexOf('\n\n');
        sepLen = 2;
      }
      if (sep < 0) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`http-backend failed: ${err}`);
        done(500, new Uint8Array());
        return;
      }
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of all.subarray(0, sep).toString('latin1').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (name === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      const answer = all.subarray(sep + sepLen);
      if (kind === 'list' && status === 200 && options.listingsInProcess) {
        // The smart HTTP framing (`# service=...` and a flush) comes first; the capabilities are on the next line.
        const c = capabilitiesOf(answer);
        if (c !== undefined) caps.set(repo, c);
      }
      res.writeHead(status, headers);
      res.end(answer);
      done(status, answer);
    });
  };

  const server = createServer((req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks), at));
  });
  // 100 nodes keep their connections open (undici pools them); the default keep-alive timeout is 5 s.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    inFlight: () => ({ now: children.size, peak }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of children) c.kill('SIGKILL');
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
