import { spawn } from 'node:child_process';
import { connect as netConnect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { ssh2 } from './ssh2-lib.js';
import type { Client, ClientChannel } from 'ssh2';
import { authAttempts, planAuth, type PassphrasePrompt } from './ssh-auth.js';
import { ChannelReader } from './ssh-channel.js';
import { resolveSshHost, type SshHostConfig } from './ssh-config.js';
import { checkExplicitConfig } from './ssh-config-files.js';
import { SshAuthError, SshConnectionError, SshUnreachableError, type SshWhere } from './ssh-connect-errors.js';
import { hostKeyCheck, type AcceptedHostKey } from './ssh-host-key.js';
import type { SshRemote } from './ssh-url.js';
import { monotonicMs } from '../monotonic.js';

export interface SshOptions {
  env?: NodeJS.ProcessEnv;
  /** ssh config files; default GITBUS_SSH_CONFIG, else ~/.ssh/config and /etc/ssh/ssh_config. */
  configFiles?: string[];
  prompt?: PassphrasePrompt;
  /** Overrides the config's ProxyJump (the remaining hops of a chain). */
  proxyJump?: string;
}

export interface SshConnectionInfo {
  hostKey: AcceptedHostKey | undefined;
  /** The credential the server accepted. */
  auth: string | undefined;
  /** TCP (or proxy) connect, key exchange and login. */
  connectMs: number;
  /** Connections opened so far by this process (1 + reconnects). */
  connections: number;
}

/** Where to connect and how, after ~/.ssh/config. */
export interface SshTarget {
  remote: SshRemote;
  config: SshHostConfig;
  user: string;
  port: number;
  where: SshWhere;
  /** One connection per key: the same user, host, port and proxy share it. */
  key: string;
}

const DEFAULT_KEEPALIVE_MS = 15_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;

export function resolveTarget(remote: SshRemote, options: SshOptions = {}): SshTarget {
  const env = options.env ?? process.env;
  const explicit = env['GITBUS_SSH_CONFIG'];
  if (options.configFiles === undefined && explicit) checkExplicitConfig(explicit);
  const files = options.configFiles ?? (explicit ? [explicit] : undefined);
  const resolved = resolveSshHost(remote.host, files ? { files } : {});
  const config = options.proxyJump === undefined ? resolved : { ...resolved, proxyJump: options.proxyJump };
  const user = remote.user ?? config.user;
  const port = remote.port ?? config.port;
  const endpoint = `${user}@${config.hostName.includes(':') ? `[${config.hostName}]` : config.hostName}:${port}`;
  const where: SshWhere = { remote: remote.display, endpoint, ...(config.hostName !== remote.host ? { alias: remote.host } : {}) };
  const key = JSON.stringify([user, config.hostName, port, config.proxyJump ?? '', config.proxyCommand ?? '']);
  return { remote, config, user, port, where, key };
}

/** The TCP socket (no Nagle: a pkt-line exchange is many small writes), or the ProxyCommand's stdio. */
function openSocket(t: SshTarget, timeoutMs: number, opening: (sock: Duplex) => void): Promise<Duplex> {
  const proxy = t.config.proxyCommand;
  if (proxy) {
    const child = spawn('/bin/sh', ['-c', proxy], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
    child.on('exit', (code) => {
      if (code !== 0) stream.destroy(new SshUnreachableError(t.where, `ProxyCommand \`${proxy}\` exited with ${code}${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
    });
    child.on('error', (err) => stream.destroy(new SshUnreachableError(t.where, `ProxyCommand \`${proxy}\` could not start: ${err.message}`, err)));
    stream.on('close', () => child.kill());
    return Promise.resolve(stream);
  }
  return new Promise((resolve, reject) => {
    const sock: Socket = netConnect({ host: t.config.hostName, port: t.port });
    opening(sock);
    // Closed before it connected (the connection was closed: SshConnection.close).
    sock.once('close', () => {
      clearTimeout(timer);
      reject(new SshUnreachableError(t.where, 'the connection was closed before it was made'));
    });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new SshUnreachableError(t.where, `no answer within ${timeoutMs / 1000}s (ConnectTimeout)`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.setNoDelay(true);
      resolve(sock);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new SshUnreachableError(t.where, err.code ? `${err.code} (${err.message})` : err.message, err));
    });
  });
}

/**
 * One authenticated SSH connection, opened on first use and again after it drops (keepalive notices a dead
 * peer). Channels are opened per exchange; OpenSSH allows 10 sessions per connection (MaxSessions), so at most
 * `maxChannels` run at once and the rest wait.
 */
export class SshConnection {
  private client: Client | null = null;
  private connecting: Promise<Client> | null = null;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;
  /** How the current connection was made, for `gitbus doctor`. */
  info: SshConnectionInfo | undefined;
  /** The jump host's connection (ProxyJump), taken from the pool once and reused by every reconnect. */
  private hop: SshConnection | undefined;
  /**
   * The stream of a connection being made, until its handshake ends: closing destroys it, so that a command whose
   * remote took the TCP connection and never answered ends when it is done with the remote (a hook gives a listing
   * a few seconds), not when the handshake times out.
   */
  private opening: Duplex | null = null;

  constructor(
    readonly target: SshTarget,
    private readonly options: SshOptions = {},
    private readonly maxChannels = 8,
  ) {}

  /**
   * Runs `command` on a new channel, read from the moment it opens. A connection that turns out dead is replaced once
   * before giving up. The reader is made in ssh2's callback: the packets that confirm the channel, carry a quick
   * command's output and its exit status can come in one read, and ssh2 emits `exit` as it parses them, before a
   * reader made after the await could listen (`date -u +%s` then read as a command that failed, in `gitbus doctor`).
   */
  async exec(command: string): Promise<{ channel: ClientChannel; reader: ChannelReader; done: () => void }> {
    await this.slot();
    let released = false;
    const done = () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiting.shift()?.();
    };
    try {
      for (let attempt = 1; ; attempt++) {
        const client = await this.connect();
        try {
          const reader = await new Promise<ChannelReader>((resolve, reject) => {
            try {
              client.exec(command, (err, ch) => (err ? reject(err) : resolve(new ChannelReader(ch))));
            } catch (err) {
              reject(err); // "Not connected": the connection closed since we looked
            }
          });
          return { channel: reader.channel, reader, done };
        } catch (err) {
          this.drop(client);
          if (attempt >= 2 || this.closed) throw new SshConnectionError(this.target.where, `could not start \`${command}\`: ${(err as Error).message}`, err);
        }
      }
    } catch (err) {
      done();
      throw err;
    }
  }

  /** A TCP stream to host:port through this connection (`direct-tcpip`), for ProxyJump. */
  async forward(host: string, port: number): Promise<ClientChannel> {
    const client = await this.connect();
    return new Promise((resolve, reject) => {
      try {
        client.forwardOut('127.0.0.1', 0, host, port, (err, ch) => (err ? reject(err) : resolve(ch)));
      } catch (err) {
        reject(err);
      }
    });
  }

  close(): void {
    this.closed = true;
    this.opening?.destroy();
    this.opening = null;
    this.client?.end();
    this.client = null;
    if (this.hop) releaseConnection(this.hop);
    this.hop = undefined;
  }

  private slot(): Promise<void> {
    if (this.active < this.maxChannels) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.active++;
        resolve();
      }),
    );
  }

  private drop(client: Client): void {
    if (this.client === client) this.client = null;
    client.end();
  }

  private connect(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => (this.connecting = null));
    return this.connecting;
  }

  /**
   * ProxyJump `a,b`: connect to b through a, then to the target through b. Each hop is a connection of its own
   * (with its own ~/.ssh/config entry, host key check and keys), shared through the pool.
   */
  private async jump(spec: string): Promise<Duplex> {
    const hops = spec.split(',').map((h) => h.trim()).filter(Boolean);
    const last = hops.pop();
    if (!last) throw new SshConnectionError(this.target.where, `ProxyJump ${JSON.stringify(spec)} names no host`);
    const m = /^(?:ssh:\/\/)?(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(last);
    if (!m?.[2]) throw new SshConnectionError(this.target.where, `ProxyJump ${JSON.stringify(last)} is not [user@]host[:port]`);
    const remote: SshRemote = { user: m[1], host: m[2].replace(/^\[|\]$/g, ''), port: m[3] ? Number(m[3]) : undefined, path: '', display: last };
    const { proxyJump: _chain, ...base } = this.options;
    const hopOptions: SshOptions = hops.length > 0 ? { ...base, proxyJump: hops.join(',') } : base;
    const hop = resolveTarget(remote, hopOptions);
    if (hop.key === this.target.key) throw new SshConnectionError(this.target.where, `ProxyJump ${JSON.stringify(spec)} points at the host itself`);
    // The jump host's own connection reconnects by itself when it drops.
    this.hop ??= acquireConnection(hop, hopOptions);
    const conn = this.hop;
    try {
      return await conn.forward(this.target.config.hostName, this.target.port);
    } catch (err) {
      if (err instanceof Error && 'code' in err) throw err;
      throw new SshUnreachableError(this.target.where, `the jump host ${hop.where.endpoint} could not open a connection to it: ${(err as Error).message}`, err);
    }
  }

  private async open(): Promise<Client> {
    const t = this.target;
    const c = t.config;
    const started = monotonicMs();
    const env = this.options.env ?? process.env;
    const timeoutMs = c.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const sock = c.proxyJump && !c.proxyCommand ? await this.jump(c.proxyJump) : await openSocket(t, timeoutMs, (s) => (this.opening = s));
    this.opening = sock;
    if (this.closed) sock.destroy();
    const hostKey = hostKeyCheck(
      {
        hostName: c.hostName,
        port: t.port,
        hostKeyAlias: c.hostKeyAlias,
        userKnownHostsFiles: c.userKnownHostsFiles,
        globalKnownHostsFiles: c.globalKnownHostsFiles,
        strict: c.strictHostKeyChecking,
        hashKnownHosts: c.hashKnownHosts,
      },
      t.where,
    );
    const auth = authAttempts(planAuth({ user: t.user, identityFiles: c.identityFiles, identitiesOnly: c.identitiesOnly, identityAgent: c.identityAgent, env, prompt: this.options.prompt }));
    const client = new (ssh2().Client)();
    return new Promise<Client>((resolve, reject) => {
      let ready = false;
      client.on('ready', () => {
        ready = true;
        this.opening = null;
        if (this.closed) {
          client.end();
          return reject(new SshConnectionError(t.where, 'the connection was closed while it was being made'));
        }
        this.client = client;
        this.info = { hostKey: hostKey.accepted(), auth: auth.lastOffered(), connectMs: monotonicMs() - started, connections: (this.info?.connections ?? 0) + 1 };
        resolve(client);
      });
      client.on('error', (err: Error & { level?: string }) => {
        if (ready) return; // a drop after ready shows up as 'close'; the next exec reconnects
        sock.destroy();
        const refused = hostKey.failure();
        if (refused) return reject(refused);
        if (err instanceof SshUnreachableError) return reject(err);
        if (err.level === 'client-authentication') return reject(new SshAuthError({ ...t.where, user: t.user, tried: auth.tried, serverAccepts: auth.serverAccepts }));
        if (err.level === 'client-socket') return reject(new SshUnreachableError(t.where, err.message, err));
        if (err.level === 'client-timeout') return reject(new SshUnreachableError(t.where, `the SSH handshake did not finish within ${timeoutMs / 1000}s`, err));
        reject(new SshConnectionError(t.where, err.message, err));
      });
      client.on('close', () => {
        if (this.opening === sock) this.opening = null;
        if (this.client === client) this.client = null;
        if (!ready) reject(hostKey.failure() ?? new SshConnectionError(t.where, 'the server closed the connection during the handshake'));
      });
      client.connect({
        sock,
        username: t.user,
        host: c.hostName,
        port: t.port,
        hostVerifier: hostKey.verify,
        algorithms: { serverHostKey: hostKey.algorithms as never },
        authHandler: auth.handler,
        keepaliveInterval: c.serverAliveIntervalMs ?? DEFAULT_KEEPALIVE_MS,
        keepaliveCountMax: c.serverAliveCountMax ?? 3,
        readyTimeout: timeoutMs,
      });
    });
  }
}

/** Connections shared by every transport of this process: one per user, host, port and proxy. */
const pool = new Map<string, { conn: SshConnection; users: number }>();

export function acquireConnection(target: SshTarget, options: SshOptions): SshConnection {
  const hit = pool.get(target.key);
  if (hit) {
    hit.users++;
    return hit.conn;
  }
  const conn = new SshConnection(target, options);
  pool.set(target.key, { conn, users: 1 });
  return conn;
}

/** The last user closes the connection, so a CLI command's process can exit. */
export function releaseConnection(conn: SshConnection): void {
  const hit = pool.get(conn.target.key);
  if (!hit || hit.conn !== conn) return conn.close();
  if (--hit.users > 0) return;
  pool.delete(conn.target.key);
  conn.close();
}
