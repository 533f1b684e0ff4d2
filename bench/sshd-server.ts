import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';

/** Whether sshd and ssh-keygen are installed (Debian: openssh-server). */
export function sshdInstalled(): boolean {
  return existsSync(SSHD) && existsSync('/usr/bin/ssh-keygen');
}

/** Polls `check` every 100 ms until it holds; throws after `deadlineMs`. */
async function until(what: () => string, check: () => Promise<boolean>, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Sshd {
  port: number;
  dir: string;
  /** The host's public key line (`ssh-ed25519 AAAA… comment`). */
  hostPub: string;
  /** A client key authorized for root. */
  clientKey: string;
  /** A HOME for client processes: .ssh/config has Host `busbox` -> this sshd with clientKey, known_hosts trusts it. */
  home: string;
  /** `<home>/.ssh/config`: in-process clients pass it as their config file (their HOME is the test runner's). */
  configFile: string;
  /** Environment for client processes: that HOME, no ssh-agent. */
  env: NodeJS.ProcessEnv;
  /** `ssh://root@127.0.0.1:<port><path>` */
  url(path: string): string;
  /** Appends lines to sshd_config and makes sshd re-read it (SIGHUP restarts the listener in place). */
  reconfigure(extra: string[]): Promise<void>;
  /** The per-connection sshd processes (one per open SSH connection), to stall or kill a connection. */
  sessions(): number[];
  /** Stops the server (connections drop). */
  stop(): Promise<void>;
  /** Starts it again on the same port after stop(). */
  start(): Promise<void>;
  cleanup(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('data', () => {
      sock.destroy();
      resolve(true); // the SSH banner: sshd is up, not just the port bound
    });
    sock.once('error', () => resolve(false));
    setTimeout(() => {
      sock.destroy();
      resolve(false);
    }, 1000).unref();
  });
}

export function keygen(path: string, type = 'ed25519', passphrase = ''): string {
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', passphrase, '-C', `gitbus-test-${type}`, '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

/**
 * A real OpenSSH sshd on a loopback port, for the tests and the SSH benchmark, run as the current user (root here and on CI), with a temp host key,
 * its own authorized_keys and no password logins; and a client HOME that knows it as `busbox`.
 */
export async function startSshd(opts: { extraConfig?: string[] } = {}): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), 'gitbus-sshd-'));
  // sshd refuses to start without its privilege separation directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostPub = keygen(join(dir, 'host_ed25519'));
  const clientKey = join(dir, 'client_ed25519');
  const clientPub = keygen(clientKey);
  writeFileSync(join(dir, 'authorized_keys'), `${clientPub}\n`, { mode: 0o600 });
  const port = await freePort();
  const user = process.env['USER'] ?? 'root';
  const base = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_ed25519')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'MaxStartups 100:30:200',
    'LogLevel VERBOSE',
  ];
  const configPath = join(dir, 'sshd_config');
  let extra = opts.extraConfig ?? [];
  const writeConfig = () => writeFileSync(configPath, [...base, ...extra, ''].join('\n'));
  writeConfig();

  const home = join(dir, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  writeFileSync(
    join(home, '.ssh', 'config'),
    [`Host busbox`, `  HostName 127.0.0.1`, `  Port ${port}`, `  User ${user}`, `  IdentityFile ${clientKey}`, `  UserKnownHostsFile ${join(home, '.ssh', 'known_hosts')}`, ''].join('\n'),
  );
  writeFileSync(join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${port} ${hostPub}\n`);
  // Also the default identity, for ssh:// URLs that no Host block names.
  copyFileSync(clientKey, join(home, '.ssh', 'id_ed25519'));
  chmodSync(join(home, '.ssh', 'id_ed25519'), 0o600);
  chmodSync(join(home, '.ssh', 'config'), 0o600);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  delete env['SSH_AUTH_SOCK'];
  delete env['GITBUS_SSH_PASSPHRASE'];

  let child: ChildProcess | null = null;
  let log = '';
  const start = async () => {
    log = '';
    const c = spawn(SSHD, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
    await until(() => `sshd on port ${port} (log: ${log})`, async () => {
      if (c.exitCode !== null) throw new Error(`sshd exited with ${c.exitCode}: ${log}`);
      return accepts(port);
    }, 20_000);
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    // Per-connection sshd processes are the listener's children and outlive it: a stopped server drops them too.
    let sessions: string[] = [];
    try {
      sessions = execFileSync('pgrep', ['-P', String(c.pid)], { encoding: 'utf8' }).split('\n').filter(Boolean);
    } catch {
      // no open connections
    }
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
    for (const pid of sessions) {
      try {
        process.kill(Number(pid), 'SIGTERM');
      } catch {
        // already gone
      }
    }
  };
  await start();
  return {
    port,
    dir,
    hostPub,
    clientKey,
    home,
    configFile: join(home, '.ssh', 'config'),
    env,
    url: (path: string) => `ssh://${user}@127.0.0.1:${port}${path}`,
    reconfigure: async (lines: string[]) => {
      extra = [...extra, ...lines];
      writeConfig();
      await stop();
      await start();
    },
    stop,
    start,
    sessions: () => {
      const c = child;
      if (!c?.pid) return [];
      try {
        return execFileSync('pgrep', ['-P', String(c.pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
      } catch {
        return [];
      }
    },
    cleanup: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
