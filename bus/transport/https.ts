import { PktLineReader, pktText } from '../git/pkt-line.js';
import { parseAdvertisedRefs } from './advertised-refs.js';
import { resolveCredential, credentialsFilePath, type Credential } from './credentials.js';
import {
  RemoteAuthError,
  RemoteHttpError,
  RemoteInsecureRedirectError,
  RemoteNotFoundError,
  RemoteNotSmartHttpError,
  RemoteUnreachableError,
  RemoteUrlInvalidError,
  TransportClosedError,
  TransportTimeoutError,
  readingFrom,
  readingFromAsync,
} from './errors.js';
import type { GitService, Transport } from './transport.js';
import { HttpBadRedirect, HttpClient, HttpClosed, HttpDeadline, HttpRefusedRedirect, HttpSilent, type HttpAnswer } from './http-request.js';
import { GitbusError } from '../../schemas/errors.js';
import { isHttpUrl } from '../../schemas/text-scan.js';
import { formatDuration, tryParseDuration } from '../../schemas/duration.js';
import { InputError } from '../errors.js';

export interface HttpTransportOptions {
  /** The bus home, for `<home>/credentials.yaml`. Without it only GITBUS_TOKEN is used. */
  home?: string;
  /** Where GITBUS_TOKEN is read; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Upper bound for one request including its body. Default 120 s. */
  timeoutMs?: number;
  /** Upper bound for making one connection. Default 10 s. */
  connectTimeoutMs?: number;
  /** How long the server may send nothing before a request fails. Default GITBUS_HTTP_TIMEOUT, else 20 s. */
  silenceMs?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;
/**
 * How long a server may send nothing: a remote that takes the connection and never answers (a proxy or firewall
 * dropping what comes back) held a command for the whole exchange's 120 s, while a hook gives a listing 3 s. As
 * SSH's ConnectTimeout default; an answer that keeps coming is not cut by it.
 */
const DEFAULT_SILENCE_MS = 20_000;
const SILENCE_ENV = 'GITBUS_HTTP_TIMEOUT';
const SILENCE_FIX = `set it to how long an http(s) remote may send nothing before a command gives up, as a duration such as 60s (default ${formatDuration(DEFAULT_SILENCE_MS)}), or unset it`;

/** GITBUS_HTTP_TIMEOUT as milliseconds: the silence bound (default DEFAULT_SILENCE_MS); a value that is no positive duration is refused. */
export function silenceBound(env: NodeJS.ProcessEnv): number {
  const text = env[SILENCE_ENV];
  if (text === undefined || text === '') return DEFAULT_SILENCE_MS;
  const ms = tryParseDuration(text);
  if (ms === undefined) throw new InputError(`${SILENCE_ENV} is ${JSON.stringify(text)}, which is not a duration`, SILENCE_FIX, { env: SILENCE_ENV, value: text });
  if (ms === 0) throw new InputError(`${SILENCE_ENV} is ${JSON.stringify(text)}: a remote that may send nothing for no time at all can never answer`, SILENCE_FIX, { env: SILENCE_ENV, value: text });
  return ms;
}
const USER_AGENT = 'git/2.0 (gitbus)';

/** True for remotes this transport serves. */
export function isHttpRemote(remote: string): boolean {
  return isHttpUrl(remote);
}

/**
 * An http(s) remote URL -> the URL without user name, query, fragment or trailing slash. A password in the URL
 * is refused: it would end up in node.yaml and in messages.
 */
export function parseHttpRemote(remote: string): URL {
  let url: URL;
  try {
    url = new URL(remote);
  } catch {
    throw new RemoteUrlInvalidError(JSON.stringify(remote.replace(/\/\/[^/@]*@/, '//***@')), 'not a valid URL', 'give the remote as https://host/path/repo.git');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RemoteUrlInvalidError(redact(url), `unsupported scheme ${url.protocol}`, 'use an https:// or http:// URL');
  if (url.password !== '') {
    throw new RemoteUrlInvalidError(
      redact(url),
      'it contains a password or token',
      'remove it from the URL and give the token with the GITBUS_TOKEN environment variable or in credentials.yaml in the bus home ({host, username?, token}, mode 0600)',
    );
  }
  if (url.search !== '') throw new RemoteUrlInvalidError(redact(url), 'it has a query string', 'give the repository URL without ?…');
  url.username = '';
  url.hash = '';
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/** The remote as stored in node.yaml and shown in messages: no user info, no trailing slash. */
export function normalizeHttpRemote(remote: string): string {
  return displayOf(parseHttpRemote(remote));
}

function displayOf(url: URL): string {
  return url.href.replace(/\/+$/, '');
}

function redact(url: URL): string {
  const u = new URL(url.href);
  u.username = '';
  u.password = '';
  return displayOf(u);
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function errorMessage(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const m = (e as { message?: unknown }).message;
    if (typeof m === 'string' && m) parts.push(m);
  }
  return parts.join(': ') || String(err);
}

/**
 * A repository behind git's smart HTTP protocol (v0/v1, as `git http-backend`, GitHub, GitLab and Gitea
 * serve it), reached over node:http(s) with keep-alive connections (http-request.ts).
 *
 * - `advertise(s)`: GET `<url>/info/refs?service=s`; redirects are followed and, like git, the final URL
 *   becomes the base for later requests;
 * - `rpc(s, body)`: POST `<url>/s`, not following redirects (a POST body cannot be replayed safely); a
 *   redirect before the base is known triggers one advertisement to learn it, then one retry;
 * - a token (GITBUS_TOKEN or `<home>/credentials.yaml`) is sent as HTTP Basic to the remote's host only.
 */
export class HttpTransport implements Transport {
  readonly display: string;
  private readonly origin: URL;
  private base: URL;
  private baseKnown = false;
  private readonly home: string | undefined;
  private readonly env: NodeJS.ProcessEnv;
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number | undefined;
  private readonly silenceMs: number;
  private readonly credentials = new Map<string, Promise<Credential | undefined>>();
  private readonly client = new HttpClient();
  private closed = false;
  private lastDate: { serverMs: number; sentMs: number; receivedMs: number } | undefined;

  constructor(remote: string, options: HttpTransportOptions = {}) {
    this.origin = parseHttpRemote(remote);
    this.base = this.origin;
    this.display = displayOf(this.origin);
    this.home = options.home;
    this.env = options.env ?? process.env;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.silenceMs = options.silenceMs ?? silenceBound(this.env);
  }

  async listRefs(): Promise<Map<string, string>> {
    const adv = await this.advertise('git-upload-pack');
    return readingFrom(this.display, 'the ref listing', () => parseAdvertisedRefs(adv));
  }

  advertise(service: GitService): Promise<Uint8Array> {
    return readingFromAsync(this.display, `the ref advertisement of ${service}`, () => this.advertiseUnchecked(service));
  }

  private async advertiseUnchecked(service: GitService): Promise<Uint8Array> {
    const url = this.urlFor(`info/refs?service=${service}`);
    const res = await this.request('GET', url, service, undefined);
    if (res.redirected && res.url.href !== url.href) {
      const suffix = `/info/refs?service=${service}`;
      if (!res.url.href.endsWith(suffix)) {
        throw new RemoteHttpError(this.display, 'the ref advertisement', res.status, `redirected to ${safeUrl(res.url.href)}, which does not end in ${suffix}`);
      }
      this.base = new URL(res.url.href.slice(0, -suffix.length));
    }
    this.baseKnown = true;
    const contentType = header(res, 'content-type');
    if (mediaType(contentType) !== `application/x-${service}-advertisement`) throw new RemoteNotSmartHttpError(this.display, contentType);
    // Smart HTTP prefixes the advertisement with `# service=<service>` and a flush; git itself does not.
    const reader = new PktLineReader(new Uint8Array(res.body.buffer, res.body.byteOffset, res.body.byteLength));
    const head = reader.atEnd() ? undefined : reader.next();
    if (!head || head.type !== 'data' || pktText(head.data) !== `# service=${service}`) throw new RemoteNotSmartHttpError(this.display, contentType);
    if (reader.startsWith('0000')) reader.next();
    return reader.rest();
  }

  async rpc(service: GitService, body: Uint8Array): Promise<Uint8Array> {
    let res = await this.request('POST', this.urlFor(service), service, body);
    if (res.status >= 300 && res.status < 400 && !this.baseKnown) {
      await this.advertise(service);
      res = await this.request('POST', this.urlFor(service), service, body);
    }
    if (res.status >= 300 && res.status < 400) {
      throw new RemoteHttpError(this.display, service, res.status, `unexpected redirect to ${safeUrl(header(res, 'location'))}`);
    }
    const contentType = header(res, 'content-type');
    if (mediaType(contentType) !== `application/x-${service}-result`) throw new RemoteNotSmartHttpError(this.display, contentType);
    return new Uint8Array(res.body.buffer, res.body.byteOffset, res.body.byteLength);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client.close();
  }

  /**
   * The server's clock as its last response's `Date` header gave it (1 s granularity), with this machine's
   * clock before the request and after the answer, for `gitbus doctor`; undefined before any answer with one.
   */
  serverClock(): { serverMs: number; sentMs: number; receivedMs: number } | undefined {
    return this.lastDate;
  }

  private urlFor(rel: string): URL {
    return new URL(`${this.base.href.replace(/\/+$/, '')}/${rel}`);
  }

  private credentialFor(url: URL): Promise<Credential | undefined> {
    // Only the remote's own host gets the token (a redirect to another host does not).
    if (url.host !== this.origin.host || url.protocol !== this.origin.protocol) return Promise.resolve(undefined);
    let c = this.credentials.get(url.host);
    if (!c) {
      c = resolveCredential(this.origin, this.home, this.env);
      this.credentials.set(url.host, c);
      c.catch(() => this.credentials.delete(url.host));
    }
    return c;
  }

  private async request(method: 'GET' | 'POST', url: URL, service: GitService, body: Uint8Array | undefined): Promise<HttpAnswer> {
    if (this.closed) throw new TransportClosedError(this.display);
    const what = method === 'GET' ? 'the ref advertisement' : service;
    let res: HttpAnswer;
    try {
      res = await this.client.request({
        method,
        url,
        headers: (to) => this.headersFor(to, method, service),
        follow: method === 'GET',
        refuse: (to) => this.refuseRedirect(to),
        timeoutMs: this.timeoutMs,
        silenceMs: this.silenceMs,
        ...(this.connectTimeoutMs !== undefined ? { connectTimeoutMs: this.connectTimeoutMs } : {}),
        ...(body ? { body } : {}),
      });
    } catch (err) {
      throw this.networkError(err, what);
    }
    const date = Date.parse(header(res, 'date'));
    if (Number.isFinite(date)) this.lastDate = { serverMs: date, sentMs: res.sentMs, receivedMs: res.receivedMs };
    if (res.status === 401 || res.status === 403) {
      const sent = (await this.credentialFor(res.url)) !== undefined;
      throw new RemoteAuthError(this.display, res.status, sent, this.home === undefined ? undefined : credentialsFilePath(this.home));
    }
    if (res.status === 404) throw new RemoteNotFoundError(this.display, 'http');
    if (res.status >= 400 || res.status < 200) {
      throw new RemoteHttpError(this.display, what, res.status, res.body.subarray(0, 300).toString('utf8').trim());
    }
    return res;
  }

  /** Like git, and unlike a browser, an https remote is not followed to plain http: its data would go in clear. */
  private refuseRedirect(to: URL): boolean {
    return this.origin.protocol === 'https:' && to.protocol !== 'https:';
  }

  private async headersFor(url: URL, method: 'GET' | 'POST', service: GitService): Promise<Record<string, string>> {
    const cred = await this.credentialFor(url);
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity' };
    if (cred) headers['authorization'] = `Basic ${Buffer.from(`${cred.username}:${cred.token}`).toString('base64')}`;
    if (method === 'POST') {
      headers['content-type'] = `application/x-${service}-request`;
      headers['accept'] = `application/x-${service}-result`;
    } else {
      headers['accept'] = '*/*';
    }
    return headers;
  }

  private networkError(err: unknown, what: string): Error {
    if (err instanceof GitbusError) return err;
    if (this.closed || err instanceof HttpClosed) return new TransportClosedError(this.display);
    if (err instanceof HttpDeadline) return new TransportTimeoutError(what, this.display, this.timeoutMs);
    if (err instanceof HttpSilent) return this.silentError(err, what);
    if (err instanceof HttpRefusedRedirect) return new RemoteInsecureRedirectError(this.display, err.status, safeUrl(err.location));
    if (err instanceof HttpBadRedirect) return new RemoteHttpError(this.display, what, err.status, `${err.message}${err.location ? ` (to ${safeUrl(err.location)})` : ''}`);
    const code = errorCode(err);
    return new RemoteUnreachableError(this.display, code ? `${code} (${errorMessage(err)})` : errorMessage(err), err);
  }

  /**
   * A server that went silent, as the outage it is (REMOTE_UNREACHABLE: a change is queued, a reading command shows
   * the last known state, the watcher backs off): what it did not do, for how long, and the setting that waits longer.
   */
  private silentError(err: HttpSilent, what: string): RemoteUnreachableError {
    const d = formatDuration(err.ms);
    const reason = {
      connect: `could not connect within ${d}`,
      handshake: `no answer within ${d} to the TLS handshake (the server took the connection and sent nothing)`,
      request: `the server took none of the request for ${what} for ${d}, and sent nothing`,
      answer: `no answer within ${d} to ${what} (the server took the connection and sent nothing)`,
      body: `its answer to ${what} stopped for ${d}, after ${err.received} bytes`,
    }[err.stage];
    const fix = `check the URL and that the git server behind it answers (a proxy or firewall that takes connections and drops them looks like this); for a slow server or link, give it longer with ${SILENCE_ENV}=<duration> (now ${d}, default ${formatDuration(DEFAULT_SILENCE_MS)})`;
    return new RemoteUnreachableError(this.display, reason, err, { fix, data: { silentMs: err.ms, stage: err.stage } });
  }
}

function header(res: HttpAnswer, name: string): string {
  const v = res.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/** A URL from a server (Location) without user info, for messages. */
function safeUrl(s: string): string {
  try {
    const u = new URL(s);
    u.username = '';
    u.password = '';
    return u.href;
  } catch {
    return s.slice(0, 200);
  }
}
