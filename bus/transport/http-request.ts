import type { Agent as HttpAgent, ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** One answer, its body read whole (git's smart HTTP bodies are read whole by every caller). */
export interface HttpAnswer {
  status: number;
  /** The URL that answered: the last of the redirects followed. */
  url: URL;
  redirected: boolean;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** This machine's clock when the request was sent and when its answer's head arrived. */
  sentMs: number;
  receivedMs: number;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: URL;
  /** The headers for each URL asked (a redirect's target may not get the first URL's authorization). */
  headers: (url: URL) => Promise<Record<string, string>>;
  body?: Uint8Array;
  /** GET: follow redirects as git does (at most 20). POST: never (a body is not replayed); the 3xx is the answer. */
  follow: boolean;
  /** Bound on the whole exchange, redirects and body included. */
  timeoutMs: number;
  /** Bound on making each connection. Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * Bound on silence: how long the server may send nothing (no handshake, no answer, no more of a body begun) while
   * it has the whole request, or take no more of a request still being sent. Not a bound on the exchange: an
   * answer that keeps coming, however long, is waited for (up to timeoutMs). Default none.
   */
  silenceMs?: number;
  /** True for a redirect target not to follow: the request fails with HttpRefusedRedirect. */
  refuse?: (to: URL) => boolean;
}

/** A redirect that the request's `refuse` turned down. */
export class HttpRefusedRedirect extends Error {
  constructor(
    readonly status: number,
    readonly location: string,
  ) {
    super(`a redirect to ${location} refused`);
  }
}

/** The exchange ran past its bound. */
export class HttpDeadline extends Error {}
/**
 * The server was silent for `ms` (HttpRequest.silenceMs): not taking the connection (`connect`); at the TLS `handshake`; taking none of the `request` still
 * being sent; sending no `answer` to the whole request; or, its answer begun, none of the rest of its `body` after
 * `received` bytes.
 */
export class HttpSilent extends Error {
  constructor(
    readonly ms: number,
    readonly stage: 'connect' | 'handshake' | 'request' | 'answer' | 'body',
    readonly received: number,
  ) {
    super(`the server sent nothing for ${ms} ms (${stage})`);
  }
}
/** The client was closed while the exchange ran. */
export class HttpClosed extends Error {}
/** A redirect the client does not follow: too many, no Location, or to a scheme other than http(s). */
export class HttpBadRedirect extends Error {
  constructor(
    readonly status: number,
    readonly location: string,
    reason: string,
  ) {
    super(reason);
  }
}

const MAX_REDIRECTS = 20;
/** As undici's connect timeout was, which `fetch` used before. */
const CONNECT_TIMEOUT_MS = 10_000;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * HTTP(S) requests over node:http and node:https, with keep-alive connections per client. Not Node's `fetch`:
 * undici made a command over HTTP(S) cost about twice the CPU (docs/PERFORMANCE.md "What Node's fetch cost a
 * command over HTTP(S)"), and the modules here are loaded only when a request is made (a local remote never pays
 * them).
 */
export class HttpClient {
  /** Per protocol: its module (node:http or node:https) and the agent that keeps its connections. */
  private readonly agents = new Map<string, { agent: HttpAgent; request: typeof import('node:http').request }>();
  private readonly live = new Set<ClientRequest>();
  private closed = false;

  async request(r: HttpRequest): Promise<HttpAnswer> {
    const deadline = Date.now() + r.timeoutMs;
    let url = r.url;
    for (let hops = 0; ; hops++) {
      const answer = await this.once(r.method, url, await r.headers(url), r.body, { deadline, connectMs: r.connectTimeoutMs ?? CONNECT_TIMEOUT_MS, silenceMs: r.silenceMs }, hops > 0);
      if (!r.follow || !REDIRECTS.has(answer.status)) return answer;
      const location = answer.headers.location;
      if (location === undefined) throw new HttpBadRedirect(answer.status, '', 'a redirect without a Location header');
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new HttpBadRedirect(answer.status, location, 'a redirect to an invalid URL');
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new HttpBadRedirect(answer.status, location, `a redirect to ${next.protocol}`);
      if (r.refuse?.(next)) throw new HttpRefusedRedirect(answer.status, next.href);
      if (hops + 1 >= MAX_REDIRECTS) throw new HttpBadRedirect(answer.status, location, `more than ${MAX_REDIRECTS} redirects`);
      url = next;
    }
  }

  /** Ends every exchange in flight (they reject with HttpClosed) and the kept connections. */
  close(): void {
    this.closed = true;
    for (const req of this.live) req.destroy(new HttpClosed('closed'));
    for (const { agent } of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private async agentFor(protocol: string): Promise<{ agent: HttpAgent; request: typeof import('node:http').request }> {
    let entry = this.agents.get(protocol);
    if (!entry) {
      const mod = protocol === 'https:' ? await import('node:https') : await import('node:http');
      entry = { agent: new mod.Agent({ keepAlive: true }), request: mod.request };
      this.agents.set(protocol, entry);
    }
    return entry;
  }

  private async once(method: string, url: URL, headers: Record<string, string>, body: Uint8Array | undefined, bounds: { deadline: number; connectMs: number; silenceMs: number | undefined }, redirected: boolean): Promise<HttpAnswer> {
    const { deadline, connectMs, silenceMs } = bounds;
    if (this.closed) throw new HttpClosed('closed');
    const { agent, request } = await this.agentFor(url.protocol);
    return new Promise<HttpAnswer>((resolve, reject) => {
      const sentMs = Date.now();
      const all = body === undefined ? headers : { ...headers, 'content-length': String(body.byteLength) };
      const req = request(url, { method, headers: all, agent });
      this.live.add(req);
      let settled = false;
      // Destroying a request fails the request and its response with errors of their own, in an order Node does not
      // promise: the cause is kept here and wins.
      let cause: Error | undefined;
      // What the silence bound looks at: whether the connection is made and its TLS handshake done, the answer's
      // bytes (-1 before its head).
      let connected = false;
      let secured = url.protocol !== 'https:';
      let received = -1;
      let quiet: NodeJS.Timeout | undefined;
      const heard = () => quiet?.refresh();
      const finish = (err: Error | null, answer?: HttpAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(quiet);
        this.live.delete(req);
        if (err) {
          req.destroy();
          reject(this.closed ? new HttpClosed('closed') : (cause ?? err));
        } else resolve(answer as HttpAnswer);
      };
      const timer = setTimeout(() => {
        cause = new HttpDeadline('timed out');
        req.destroy(cause);
      }, Math.max(0, deadline - Date.now()));
      req.on('error', (err) => finish(err));
      // A host that drops packets would hold the connect for the OS's ~2 min of retries; a reused socket is connected.
      req.on('socket', (socket: Socket) => {
        if (!socket.connecting) {
          connected = secured = true;
          return;
        }
        socket.once('connect', () => {
          connected = true;
          heard();
        });
        socket.once('secureConnect', () => {
          secured = true;
          heard();
        });
        const connectTimer = setTimeout(() => {
          cause = Object.assign(new Error(`connect timed out after ${connectMs} ms`), { code: 'ETIMEDOUT' });
          req.destroy(cause);
        }, connectMs);
        const clear = () => clearTimeout(connectTimer);
        socket.once('connect', clear);
        socket.once('close', clear);
      });
      req.on('finish', heard);
      req.on('response', (res: IncomingMessage) => {
        const receivedMs = Date.now();
        received = 0;
        heard();
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          received += chunk.length;
          heard();
        });
        res.on('error', (err) => finish(err));
        res.on('end', () => finish(null, { status: res.statusCode ?? 0, url, redirected, headers: res.headers, body: Buffer.concat(chunks), sentMs, receivedMs }));
        // A body cut short by the peer ends in 'close' without 'end' (and, in most Node versions, an 'error').
        res.on('close', () => finish(Object.assign(new Error('the connection closed before the response ended'), { code: 'ECONNRESET' })));
      });
      req.end(body === undefined ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      if (silenceMs !== undefined) {
        // A request the server still takes more of is no silence (a big push on a slow link): the bound starts again.
        let unsent = req.writableLength;
        quiet = setTimeout(() => {
          if (!req.writableFinished && req.writableLength < unsent) {
            unsent = req.writableLength;
            heard();
            return;
          }
          const stage = !connected ? 'connect' : !secured ? 'handshake' : !req.writableFinished ? 'request' : received < 0 ? 'answer' : 'body';
          cause = new HttpSilent(silenceMs, stage, Math.max(0, received));
          req.destroy(cause);
        }, silenceMs);
      }
    });
  }
}
