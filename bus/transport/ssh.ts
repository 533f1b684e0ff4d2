import { GitbusError } from '../../schemas/errors.js';
import { parseAdvertisedRefs } from './advertised-refs.js';
import { GitServiceError, RemoteGarbledError, RemoteNotFoundError, TransportClosedError, TransportTimeoutError, readingFrom } from './errors.js';
import { PktLineError } from '../git/errors.js';
import { ChannelReader, type ChannelEnd } from './ssh-channel.js';
import { SshConnectionError, SshRemoteCommandError } from './ssh-connect-errors.js';
import { acquireConnection, releaseConnection, resolveTarget, type SshConnection, type SshConnectionInfo, type SshOptions, type SshTarget } from './ssh-connection.js';
import { parseSshRemote, remoteGitCommand, shellQuote } from './ssh-url.js';
import type { GitService, Transport } from './transport.js';
import { monotonicMs } from '../monotonic.js';

export interface SshTransportOptions extends SshOptions {
  /** Upper bound for one exchange. Default 120 s. */
  timeoutMs?: number;
  /** How long a channel whose advertisement was read waits for the request that follows. Default 2 s. */
  parkMs?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const FLUSH = Buffer.from('0000', 'latin1');

interface Session {
  reader: ChannelReader;
  done: () => void;
  /** The advertisement the service printed on this channel: the only tips it accepts as wants. */
  adv: Uint8Array;
}

interface Parked extends Session {
  timer: NodeJS.Timeout;
}

/**
 * A repository reached over SSH, through ssh2 inside this process (no ssh binary). Git over SSH is stateful:
 * `git-upload-pack '<path>'` prints its advertisement, then reads the request on the same channel. The
 * Transport interface is stateless (advertise, then rpc), so:
 *
 * - `listRefs`/`advertise` open a channel, read the advertisement and keep the channel "parked" for a moment;
 * - `rpc` continues a parked channel of the same service when there is one (no second round trip), else opens
 *   one and skips its advertisement;
 * - the channel may not be the one whose listing the caller read (it expired, or another operation of this
 *   process listed since), and its service accepts only the tips it advertised: `rpcAdvertised` makes the request
 *   from that channel's own advertisement, so a fetch of a ref that moved wants the tip the service will serve;
 * - a parked channel nobody continues is ended politely with a flush (the service exits 0).
 *
 * The compare-and-swap is receive-pack's own: the update names the old id, and git refuses it if the ref moved.
 */
export class SshTransport implements Transport {
  readonly display: string;
  readonly target: SshTarget;
  private readonly conn: SshConnection;
  private readonly timeoutMs: number;
  private readonly parkMs: number;
  private readonly parked = new Map<GitService, Parked>();
  private readonly live = new Set<ChannelReader>();
  private closed = false;

  constructor(remote: string, options: SshTransportOptions = {}) {
    const parsed = parseSshRemote(remote);
    this.target = resolveTarget(parsed, options);
    this.display = parsed.display;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.parkMs = options.parkMs ?? 2000;
    this.conn = acquireConnection(this.target, options);
  }

  async listRefs(): Promise<Map<string, string>> {
    const adv = await this.advertise('git-upload-pack');
    return readingFrom(this.display, 'the ref listing', () => parseAdvertisedRefs(adv));
  }

  async advertise(service: GitService): Promise<Uint8Array> {
    const session = await this.start(service);
    this.park(service, session);
    return session.adv;
  }

  rpc(service: GitService, body: Uint8Array): Promise<Uint8Array> {
    return this.exchange(service, () => body);
  }

  rpcAdvertised(service: GitService, build: (advertised: Map<string, string>) => Uint8Array): Promise<Uint8Array> {
    return this.exchange(service, (adv) => build(readingFrom(this.display, 'the ref listing', () => parseAdvertisedRefs(adv))));
  }

  /** The request is made from the advertisement of the channel that will read it (see rpcAdvertised). */
  private async exchange(service: GitService, build: (adv: Uint8Array) => Uint8Array): Promise<Uint8Array> {
    const { reader, done, adv } = this.unpark(service) ?? (await this.start(service));
    const command = remoteGitCommand(service, this.target.remote.path);
    let body: Uint8Array;
    try {
      body = build(adv);
    } catch (err) {
      reader.channel.end(Buffer.from(FLUSH));
      this.finish(reader, done);
      throw err;
    }
    try {
      return await this.bounded(`${service} on ${this.display}`, reader, async () => {
        reader.channel.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
        const out = await reader.readToEnd();
        const end = reader.end;
        if (end.exitCode !== 0) {
          // Like the local transport: push and fetch read git's report and ERR lines from stdout.
          throw new GitServiceError({ service, remote: this.display, exitCode: end.exitCode, signal: end.signal, stderr: end.stderr, stdout: out });
        }
        return out;
      });
    } catch (err) {
      if (err instanceof GitServiceError || err instanceof TransportTimeoutError) throw err;
      throw new SshConnectionError(this.target.where, `\`${command}\` broke off: ${(err as Error).message}`, err);
    } finally {
      this.finish(reader, done);
    }
  }

  /**
   * `git-upload-archive '<path>'` on the host: the request, then everything it prints. No advertisement comes
   * first (the service reads its arguments before it says anything).
   */
  async uploadArchive(body: Uint8Array): Promise<Uint8Array> {
    if (this.closed) throw new TransportClosedError(this.display);
    const command = remoteGitCommand('git-upload-archive', this.target.remote.path);
    const { channel, reader, done } = await this.conn.exec(command);
    this.live.add(reader);
    try {
      return await this.bounded(`git-upload-archive on ${this.display}`, reader, async () => {
        channel.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
        const out = await reader.readToEnd();
        const end = reader.end;
        if (end.exitCode !== 0) throw new GitServiceError({ service: 'git-upload-archive', remote: this.display, exitCode: end.exitCode, signal: end.signal, stderr: end.stderr, stdout: out });
        return out;
      });
    } catch (err) {
      if (err instanceof GitServiceError || err instanceof TransportTimeoutError) throw err;
      throw new SshConnectionError(this.target.where, `\`${command}\` broke off: ${(err as Error).message}`, err);
    } finally {
      this.finish(reader, done);
    }
  }

  /** How the connection was made (host key, login, time to connect), once it is open. */
  connectionInfo(): SshConnectionInfo | undefined {
    return this.conn.info;
  }

  /**
   * Runs `date -u +%s` on the host, for `gitbus doctor`: the host's clock (ms since the epoch, 1 s granularity;
   * null when the account may only run git: git-shell, GitHub, a forced command), and how long the command took
   * from the exec request to its exit. Every git exchange pays that start-up (the login shell runs it, and bash
   * reads ~/.bashrc for commands run over ssh), so a slow one is worth a warning.
   */
  async probeHost(): Promise<{ clockMs: number | null; commandMs: number }> {
    const r = await this.runCommand('date -u +%s', `date on ${this.display}`);
    const out = r.out.trim();
    return { clockMs: r.end.exitCode === 0 && /^\d{9,11}$/.test(out) ? Number(out) * 1000 : null, commandMs: r.ms };
  }

  /**
   * Creates an empty bare repository at the remote's path on the host, with main as its default branch (what
   * `gitbus init` does for a local path), through `git init` over the connection. Works for any account that may
   * run git commands; a git-only account (git-shell, a git host) refuses, and the error says to create it there.
   */
  async createBareRepo(): Promise<void> {
    const path = this.target.remote.path;
    if (/^~[^/]/.test(path)) throw new SshRemoteCommandError(this.target.where, `git init --bare ${path}`, null, 'a ~user/ path cannot be created by gitbus; create the repository on the host, or give a path from /');
    // `git init` does not expand ~ (upload-pack does): the remote shell expands ~/ instead.
    const dir = path.startsWith('~/') ? `"$HOME"/${shellQuote(path.slice(2))}` : shellQuote(path);
    // Path reads of the archive (bus/archive/path-read.ts) need the first two; a host that ignores them costs a
    // shallow fetch. The third gives every pack a reverse index, as for a local path (local.ts, BUS_REMOTE_CONFIG_SECTIONS).
    const command = `git init --quiet --bare ${dir} && git --git-dir=${dir} symbolic-ref HEAD refs/heads/main && git --git-dir=${dir} config uploadpack.allowFilter true && git --git-dir=${dir} config uploadpack.allowAnySHA1InWant true && git --git-dir=${dir} config pack.writeReverseIndex true`;
    const r = await this.runCommand(command, `git init on ${this.display}`);
    if (r.end.exitCode !== 0) throw new SshRemoteCommandError(this.target.where, command, r.end.exitCode, r.end.stderr || 'create the bare repository on the host yourself: git init --bare --initial-branch=main <path>');
  }

  /** Runs a command that reads nothing on the host, to its end: its output, how it ended, how long it took. */
  private async runCommand(command: string, what: string): Promise<{ out: string; end: ChannelEnd; ms: number }> {
    if (this.closed) throw new TransportClosedError(this.display);
    const { channel, reader, done } = await this.conn.exec(command);
    const started = monotonicMs();
    try {
      channel.end();
      const out = new TextDecoder().decode(await this.bounded(what, reader, () => reader.readToEnd()));
      return { out, end: reader.end, ms: monotonicMs() - started };
    } finally {
      this.finish(reader, done);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const service of [...this.parked.keys()]) this.unpark(service, true);
    for (const r of this.live) r.channel.close();
    releaseConnection(this.conn);
  }

  /** Opens a channel running the service and reads its advertisement. */
  private async start(service: GitService): Promise<Session> {
    if (this.closed) throw new TransportClosedError(this.display);
    // Only one parked channel per service: a newer listing replaces the older one.
    this.unpark(service, true);
    const command = remoteGitCommand(service, this.target.remote.path);
    const { reader, done } = await this.conn.exec(command);
    this.live.add(reader);
    try {
      const adv = await this.bounded(`the ref advertisement of ${this.display}`, reader, () => reader.readAdvertisement());
      if (adv === null) throw this.startFailure(command, reader);
      return { reader, done, adv };
    } catch (err) {
      this.finish(reader, done);
      if (err instanceof PktLineError) throw new RemoteGarbledError(this.display, `the ref advertisement of ${service}`, err);
      if (err instanceof GitbusError) throw err;
      throw new SshConnectionError(this.target.where, `\`${command}\` broke off: ${(err as Error).message}`, err);
    }
  }

  /** The service exited before advertising: a missing repository, no git, or a shell that refuses commands. */
  private startFailure(command: string, reader: ChannelReader): Error {
    const end = reader.end;
    if (/does not appear to be a git repository|not a git repository|No such file or directory|repository .* not found/i.test(end.stderr)) {
      return new RemoteNotFoundError(this.display, { ssh: { host: this.target.remote.host, path: this.target.remote.path, said: end.stderr.trim().split('\n').pop() ?? '' } });
    }
    return new SshRemoteCommandError(this.target.where, command, end.exitCode, end.stderr);
  }

  private park(service: GitService, session: Session): void {
    // Several operations of one process list refs at once (nothing serialises them): a channel parked by another
    // one meanwhile is ended here, never dropped from the map with its slot still taken.
    this.unpark(service, true);
    const entry: Parked = { ...session, timer: setTimeout(() => this.parked.get(service) === entry && this.unpark(service, true), this.parkMs) };
    entry.timer.unref();
    this.parked.set(service, entry);
  }

  /** Takes the parked channel for a request, or (`end`) ends it with a flush so the service exits cleanly. */
  private unpark(service: GitService, end = false): Session | undefined {
    const p = this.parked.get(service);
    if (!p) return undefined;
    this.parked.delete(service);
    clearTimeout(p.timer);
    if (end || p.reader.isClosed) {
      if (!p.reader.isClosed) p.reader.channel.end(Buffer.from(FLUSH));
      this.finish(p.reader, p.done);
      return undefined;
    }
    return { reader: p.reader, done: p.done, adv: p.adv };
  }

  private finish(reader: ChannelReader, done: () => void): void {
    this.live.delete(reader);
    if (reader.isClosed) return done();
    // The slot is freed when the server closes the channel (after a flush it exits at once); one that does not
    // is closed from our side.
    const force = setTimeout(() => reader.channel.close(), 5000);
    force.unref();
    reader.channel.once('close', () => {
      clearTimeout(force);
      done();
    });
  }

  private async bounded<T>(what: string, reader: ChannelReader, work: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reader.channel.close();
        reject(new TransportTimeoutError(what, this.display, this.timeoutMs));
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([work(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
