import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { watchHome } from '../bus/home-watch.js';
import { openBus, type BusContext } from '../bus/context.js';
import { NoBusError } from '../bus/errors.js';
import { GITBUS_VERSION } from '../bus/node-card.js';
import { localSnapshot } from '../bus/ops/query.js';
import { remoteFailureCode } from '../bus/remote-failure.js';
import { GitbusError, firstLine } from '../schemas/errors.js';
import { fleetView, groupPageView, problemsView, StatusReader, taskView, tasksView } from './api.js';
import { loadAssets } from './assets.js';
import { BusChanges } from './bus-changes.js';
import { UiHostNotAllowedError, UiListenError, UiMethodNotAllowedError, UiPortInUseError, UiTooManyStreamsError, UiUnknownEndpointError } from './errors.js';
import { OutputFollowers } from './output-follow.js';
import { isApiPath, requestPath, routeOf, type Route } from './routes.js';
import { ALLOWED_METHODS, allowedHosts, hostAllowed, SECURITY_HEADERS, viewUrl, visibleJson } from './security.js';
import { openEventStream, type EventStream } from './sse.js';

export interface UiOptions {
  home: string;
  host: string;
  /** 0: any free port. */
  port: number;
  /** How often the remote is listed when nothing wakes the server sooner; default the bus's `poll` (gitbus.yaml), 1 s to 1 min. */
  pollMs?: number;
  log: (line: string) => void;
}

export interface RunningUi {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
  /** Settles with why, when the server must stop by itself: its home was removed (the node left, or the folder was deleted). */
  stopped: Promise<string>;
}

/**
 * `gitbus ui`: the bus as web pages, served by node:http in this process. Read-only by construction: it answers
 * GET and HEAD only, and every answer is an operation that reads (status, show, logs, group, lint); it does not
 * even deliver this node's queue, which every CLI command does. Whatever it shows is untrusted bus content: the
 * page renders it as text only, under a Content-Security-Policy that runs no script but the page's own files.
 */
export async function startUi(opts: UiOptions): Promise<RunningUi> {
  const assets = loadAssets();
  const ctx = await openBus(opts.home);
  try {
    const pollMs = opts.pollMs ?? Math.min(60_000, Math.max(1000, (await localSnapshot(ctx)).settings.pollMs));
    const changes = new BusChanges(ctx, { pollMs, log: opts.log });
    const status = new StatusReader(ctx);
    const outputs = new OutputFollowers(ctx);
    changes.subscribe(() => status.invalidate());
    const streams = new Set<EventStream>();
    const outputStreams = new Set<EventStream>();
    let allowed = new Set<string>();
    // A home removed under the server: it would go on showing the bus as a node no home holds, and its reads would
    // clone into the removed folder again. Seen at the next request or within seconds, and the server stops.
    let homeGone: (why: string) => void = () => undefined;
    const stopped = new Promise<string>((r) => (homeGone = r));
    const home = watchHome(ctx.paths.config, () => homeGone(`the home ${opts.home} was removed (its node.yaml is gone)`));
    const homeThere = home.there;
    const server = createServer((req, res) => {
      void handle({ ctx, assets, changes, status, outputs, streams, outputStreams, allowed: () => allowed, homeThere, log: opts.log }, req, res);
    });
    await listen(server, opts.host, opts.port);
    const port = (server.address() as AddressInfo).port;
    allowed = allowedHosts(opts.host, port, machine());
    await changes.start();
    let closing: Promise<void> | null = null;
    return {
      url: viewUrl(opts.host, port),
      host: opts.host,
      port,
      stopped,
      close: () =>
        (closing ??= (async () => {
          home.close();
          outputs.stop();
          await changes.stop();
          for (const s of streams) s.close();
          await new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          });
          await ctx.repo.close();
        })()),
    };
  } catch (err) {
    await ctx.repo.close();
    throw err;
  }
}

function listen(server: ReturnType<typeof createServer>, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new UiPortInUseError(host, port) : new UiListenError(host, port, err.code ?? err.message)));
    server.listen(port, host, () => resolve());
  });
}

/** This machine's host name and addresses: the names a page may use to reach a server listening on all of them. */
function machine(): { hostname: string; addresses: string[] } {
  const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address.replace(/%.*$/, '')));
  return { hostname: hostname(), addresses };
}

interface Served {
  ctx: BusContext;
  assets: Map<string, { type: string; body: Buffer }>;
  changes: BusChanges;
  status: StatusReader;
  outputs: OutputFollowers;
  streams: Set<EventStream>;
  /** The output streams among them (each holds up to a task's output window unsent: web/sse.ts). */
  outputStreams: Set<EventStream>;
  allowed: () => Set<string>;
  /** Whether the home is still there (false stops the server: startUi). */
  homeThere: () => boolean;
  log: (line: string) => void;
}

/**
 * Streams served at once: a person has a few pages open; the caps keep a client that opens thousands (and reads
 * none) from taking the process's memory, since each output stream may hold up to MAX_UNSENT_BYTES (web/sse.ts).
 */
const MAX_STREAMS = 256;
const MAX_OUTPUT_STREAMS = 16;

async function handle(s: Served, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // No request to the web view has a body: one that comes with one (100 GB declared, say) is not read on after the
  // answer, which closes the connection instead (Node reads the rest of a body to keep a connection alive).
  if (req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined) res.setHeader('Connection', 'close');
  try {
    const method = req.method ?? 'GET';
    const path = requestPath(req.url ?? '/');
    if (!hostAllowed(req.headers.host, s.allowed())) {
      // A script calling the API reads its errors as JSON; a person's browser gets the text.
      if (path !== null && isApiPath(path)) return error(res, 421, new UiHostNotAllowedError(req.headers.host, [...s.allowed()]), method === 'HEAD');
      plain(res, 421, `this server answers to ${[...s.allowed()].join(', ')} only\n`);
      return;
    }
    if (!s.homeThere()) {
      // Said only to a Host it answers to: the message names the home.
      if (path !== null && isApiPath(path)) return error(res, 503, new NoBusError(s.ctx.paths.home), method === 'HEAD', { Connection: 'close' });
      return plain(res, 503, `no bus at ${s.ctx.paths.home} any more: the home was removed, and this server stops\n`, { Connection: 'close' });
    }
    if (!(ALLOWED_METHODS as readonly string[]).includes(method)) {
      const allow = { Allow: ALLOWED_METHODS.join(', ') };
      // A script calling the API reads its errors as JSON, whichever path and method it got wrong.
      if (path !== null && isApiPath(path)) return error(res, 405, new UiMethodNotAllowedError(method, path), false, allow);
      plain(res, 405, 'the web view is read-only: it answers GET and HEAD only\n', allow);
      return;
    }
    const head = method === 'HEAD';
    const route: Route = path === null ? { kind: 'bad', reason: `${JSON.stringify((req.url ?? '').slice(0, 80))} is not a request target` } : routeOf(path);
    await answer(s, route, res, head);
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (!(err instanceof GitbusError)) s.log(`gitbus ui: internal error on ${req.url ?? '?'}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    error(res, statusFor(err), err, false);
  }
}

async function answer(s: Served, route: Route, res: ServerResponse, head: boolean): Promise<void> {
  switch (route.kind) {
    case 'page': {
      const shell = s.assets.get('index.html');
      if (!shell) return plain(res, 500, 'the page is missing\n');
      return send(res, route.status ?? 200, shell.type, shell.body, head);
    }
    case 'asset': {
      const a = s.assets.get(route.name);
      return a ? send(res, 200, a.type, a.body, head) : plain(res, 404, 'no such file\n');
    }
    case 'none':
      return plain(res, 404, 'nothing here\n');
    case 'no-endpoint':
      return error(res, 404, new UiUnknownEndpointError(route.path), head);
    case 'bad':
      return json(res, 400, { error: { code: 'BAD_INPUT', message: route.reason, fix: 'use a link from the pages' } }, head);
  }
  switch (route.what) {
    case 'fleet':
      return json(res, 200, fleetView(await s.status.read()), head);
    case 'tasks':
      return json(res, 200, tasksView(await s.status.read()), head);
    case 'problems':
      return json(res, 200, await problemsView(s.ctx), head);
    case 'task':
      return json(res, 200, await taskView(s.ctx, route.id), head);
    case 'group':
      return json(res, 200, await groupPageView(s.ctx, route.name), head);
    case 'events': {
      if (head) return send(res, 200, 'text/event-stream; charset=utf-8', Buffer.alloc(0), true);
      if (s.streams.size >= MAX_STREAMS) return error(res, 503, new UiTooManyStreamsError('event', MAX_STREAMS), false, { 'Retry-After': '5' });
      const stream = openEventStream(res);
      s.streams.add(stream);
      stream.send('hello', { version: GITBUS_VERSION });
      const unsubscribe = s.changes.subscribe((e) => stream.send(e.type, e));
      stream.onClose(() => {
        unsubscribe();
        s.streams.delete(stream);
      });
      return;
    }
    case 'output': {
      if (head) return send(res, 200, 'text/event-stream; charset=utf-8', Buffer.alloc(0), true);
      if (s.streams.size >= MAX_STREAMS) return error(res, 503, new UiTooManyStreamsError('event', MAX_STREAMS), false, { 'Retry-After': '5' });
      if (s.outputStreams.size >= MAX_OUTPUT_STREAMS) return error(res, 503, new UiTooManyStreamsError('output', MAX_OUTPUT_STREAMS), false, { 'Retry-After': '5' });
      const stream = openEventStream(res);
      s.streams.add(stream);
      s.outputStreams.add(stream);
      const unfollow = s.outputs.follow(route.id, (e) => {
        stream.send(e.type, e);
        // The page closes its EventSource on these; ending the answer too frees the connection.
        if (e.type === 'end' || e.type === 'error') stream.close();
      });
      stream.onClose(() => {
        unfollow();
        s.streams.delete(stream);
        s.outputStreams.delete(stream);
      });
      return;
    }
  }
}

function statusFor(err: unknown): number {
  if (!(err instanceof GitbusError)) return 500;
  if (err.code === 'UNKNOWN_TASK' || err.code === 'UNKNOWN_GROUP') return 404;
  if (err.code === 'BAD_INPUT' || err.code === 'INVALID_NAME') return 400;
  // Any failure of the remote, an outage or one a person must fix (main deleted, a login refused): the bus's, not this server's.
  if (remoteFailureCode(err) !== null) return 502;
  return 500;
}

function send(res: ServerResponse, code: number, type: string, body: Buffer, head: boolean, extra: Record<string, string> = {}): void {
  res.writeHead(code, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(body.length), 'Cache-Control': 'no-cache', ...extra });
  res.end(head ? undefined : body);
}

function plain(res: ServerResponse, code: number, text: string, extra: Record<string, string> = {}): void {
  send(res, code, 'text/plain; charset=utf-8', Buffer.from(text), false, extra);
}

function json(res: ServerResponse, code: number, value: unknown, head: boolean, extra: Record<string, string> = {}): void {
  send(res, code, 'application/json; charset=utf-8', Buffer.from(visibleJson(value)), head, { 'Cache-Control': 'no-store', ...extra });
}

/** An error as every endpoint answers one: `{ error: { code, message, fix } }`, the code stable for scripts. */
function error(res: ServerResponse, status: number, err: unknown, head: boolean, extra: Record<string, string> = {}): void {
  const known = err instanceof GitbusError;
  json(res, status, { error: { code: known ? err.code : 'INTERNAL', message: firstLine(err), fix: known ? err.fix : 'this is a bug in gitbus; please report it with what the page showed' } }, head, extra);
}
