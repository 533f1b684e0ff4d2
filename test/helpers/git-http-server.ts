import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface GitHttpServer {
  /** http://127.0.0.1:<port> (https:// with `tls`) */
  url: string;
  port: number;
  /** Connections accepted (TCP, or TLS handshakes completed with `tls`): a client that keeps connections alive opens few. */
  connections: () => number;
  /** Authorization headers seen, for tests that check where a token went; `at` is Date.now() on arrival. */
  requests: { method: string; path: string; authorized: boolean; authorization: string | undefined; at: number }[];
  close(): Promise<void>;
}

export interface GitHttpServerOptions {
  /** Directory whose bare repositories are served: `<url>/<name>.git` is `<projectRoot>/<name>.git`. */
  projectRoot: string;
  /** When set, every request needs HTTP Basic auth with this password (any user); otherwise 401. */
  token?: string;
  /** Extra routes answered before git (e.g. redirects, a non-git page); return true when handled. */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Shifts the server's clock as its `Date` header shows it (for clock checks). */
  dateOffsetMs?: number;
  /** Upper bound for one http-backend process. Default 60 s. */
  cgiTimeoutMs?: number;
  /** Serve https with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
  /** Answer every request this late, once its body has arrived: a slow host, with the connection long made. */
  answerDelayMs?: number;
  /**
   * Serve the request, then cut the connection instead of answering when this says so: a push that lands on the
   * server while its client sees only a dropped connection (the answer lost on the way back).
   */
  dropAnswer?: (path: string) => boolean;
}

function checkAuth(header: string | undefined, token: string): string | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return decoded.slice(colon + 1) === token ? decoded.slice(0, colon) || 'user' : undefined;
}

/** `git http-backend` run as a CGI program per request behind a Node HTTP server on 127.0.0.1. */
export async function startGitHttpServer(opts: GitHttpServerOptions): Promise<GitHttpServer> {
  const requests: GitHttpServer['requests'] = [];
  const children = new Set<ReturnType<typeof spawn>>();
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (opts.answerDelayMs === undefined) handle(req, res, Buffer.concat(chunks));
      else setTimeout(() => handle(req, res, Buffer.concat(chunks)), opts.answerDelayMs);
    });
  };
  const server: Server = opts.tls ? createTlsServer({ key: opts.tls.key, cert: opts.tls.cert }, onRequest) : createServer(onRequest);
  let connections = 0;
  server.on(opts.tls ? 'secureConnection' : 'connection', () => connections++);

  function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let user: string | undefined;
    if (opts.token !== undefined) user = checkAuth(req.headers.authorization, opts.token);
    requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, authorized: user !== undefined, authorization: req.headers.authorization, at: Date.now() });
    if (opts.intercept?.(req, res)) return;
    if (opts.token !== undefined && user === undefined) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"', 'content-type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      GIT_PROJECT_ROOT: opts.projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      REQUEST_METHOD: req.method ?? 'GET',
      QUERY_STRING: url.search.replace(/^\?/, ''),
      PATH_INFO: decodeURIComponent(url.pathname),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      CONTENT_LENGTH: String(body.length),
      REMOTE_ADDR: '127.0.0.1',
      // Without REMOTE_USER http-backend refuses receive-pack unless http.receivepack is set in the repo.
      REMOTE_USER: user ?? 'anonymous',
    };
    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.cgiTimeoutMs ?? 60_000);
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdin.on('error', () => undefined);
    child.stdin.end(body);
    child.on('close', () => {
      clearTimeout(timer);
      children.delete(child);
      if (opts.dropAnswer?.(url.pathname)) {
        res.socket?.destroy();
        return;
      }
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
      if (opts.dateOffsetMs) headers['date'] = new Date(Date.now() + opts.dateOffsetMs).toUTCString();
      res.writeHead(status, headers);
      res.end(all.subarray(sep + sepLen));
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    connections: () => connections,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of children) c.kill('SIGKILL');
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
