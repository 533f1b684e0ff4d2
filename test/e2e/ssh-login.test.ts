import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, CLI, gitbus, gitCli, json, spawnBounded, tempDir } from '../helpers/cli.js';
import { clientHome as clientHome_, knownHostsLine, sshBus as sshBus_ } from '../helpers/ssh-bus.js';
import { keygen, sshdAvailable, startSshd, type Sshd } from '../helpers/sshd.js';
import { until } from '../helpers/wait.js';
import { startEventProcess } from '../helpers/watcher-process.js';

/**
 * Reaching an SSH remote and logging in: what must fail, and how clearly (host keys, keys, users, ports,
 * paths), and what must work (ssh-agent, passphrases, ProxyJump, ProxyCommand). A real OpenSSH sshd on loopback.
 */
const available = sshdAvailable();
if (!available) console.warn('skipping the SSH login tests: /usr/sbin/sshd is not installed (apt-get install openssh-server)');

let sshd: Sshd;
const cleanups: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (available) sshd = await startSshd();
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups.reverse()) await c();
  await sshd?.cleanup();
});

const sshBus = () => sshBus_(sshd, (c) => cleanups.push(c));

describe.skipIf(!available)('SSH failures that must be clear', () => {
  async function bare() {
    const dir = await tempDir('gitbus-sshfail-');
    cleanups.push(dir.cleanup);
    const path = join(dir.path, 'bus.git');
    gitCli(['init', '-q', '--bare', '--initial-branch=main', path]);
    return { dir: dir.path, path };
  }
  const clientHome = (config: string[], knownHosts: string) => clientHome_(sshd, (c) => cleanups.push(c), config, knownHosts);
  const busboxConfig = (extra: string[] = []) => ['Host busbox', '  HostName 127.0.0.1', `  Port ${sshd.port}`, `  User ${process.env['USER'] ?? 'root'}`, `  IdentityFile ${sshd.clientKey}`, ...extra.map((l) => `  ${l}`)];

  it('refuses an unknown host key, naming its fingerprint and how to trust it', async () => {
    const b = await bare();
    const c = await clientHome(busboxConfig(), '');
    const r = await gitbus(['join', `busbox:${b.path}`, '--node', 'x'], { home: join(b.dir, 'h'), env: c.env });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/SSH_HOST_KEY_UNKNOWN|host key of .* is not known/);
    const fp = readFileSync(`${join(sshd.dir, 'host_ed25519')}.pub`, 'utf8');
    expect(fp).toMatch(/^ssh-ed25519 /);
    expect(r.stderr).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
    expect(r.stderr).toContain(`ssh-keyscan -p ${sshd.port} -t ssh-ed25519 127.0.0.1 >> ${join(c.home, '.ssh', 'known_hosts')}`);
    // The failed join leaves no half-made home behind: running it again starts clean.
    expect(existsSync(join(b.dir, 'h'))).toBe(false);
  });

  it('accepts and records a new host key with StrictHostKeyChecking accept-new', async () => {
    const b = await bare();
    const c = await clientHome(busboxConfig(['StrictHostKeyChecking accept-new']), '');
    const r = await gitbus(['join', `busbox:${b.path}`, '--node', 'x', '--json'], { home: join(b.dir, 'h'), env: c.env });
    // The bare repo is not a bus yet; getting that far means the connection was made.
    expect(r.stderr).not.toMatch(/host key/i);
    // Recorded the way this machine's ssh_config says (Debian hashes names): ssh-keygen must find it.
    const found = await spawnBounded('ssh-keygen', ['-F', `[127.0.0.1]:${sshd.port}`, '-f', join(c.home, '.ssh', 'known_hosts')], { timeoutMs: 10_000 });
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout).toContain(sshd.hostPub.split(' ')[1]);
    const again = await gitbus(['join', `busbox:${b.path}`, '--node', 'x', '--json'], { home: join(b.dir, 'h'), env: c.env });
    expect(again.stderr).not.toMatch(/host key/i);
  });

  it('refuses a changed host key, naming the known_hosts line', async () => {
    const b = await bare();
    const other = join(b.dir, 'impostor');
    const impostorPub = keygen(other);
    const c = await clientHome(busboxConfig(), `# earlier\n[127.0.0.1]:${sshd.port} ${impostorPub}\n`);
    const r = await gitbus(['join', `busbox:${b.path}`, '--node', 'x'], { home: join(b.dir, 'h'), env: c.env });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/CHANGED/);
    expect(r.stderr).toContain(`${join(c.home, '.ssh', 'known_hosts')}:2`);
    expect(r.stderr).toContain(`ssh-keygen -R '[127.0.0.1]:${sshd.port}'`);
  });

  it('says which keys were refused when the key is wrong', async () => {
    const b = await bare();
    const wrong = join(b.dir, 'wrong_key');
    keygen(wrong);
    const c = await clientHome(['Host busbox', '  HostName 127.0.0.1', `  Port ${sshd.port}`, `  IdentityFile ${wrong}`], knownHostsLine(sshd));
    const r = await gitbus(['join', `busbox:${b.path}`, '--node', 'x'], { home: join(b.dir, 'h'), env: c.env });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/SSH_AUTH_FAILED|refused the login/);
    expect(r.stderr).toContain(`${wrong} (refused)`);
    expect(r.stderr).toMatch(/authorized_keys/);
  });

  it('reports a refused login of a user the server does not allow', async () => {
    const b = await bare();
    const c = await clientHome(busboxConfig().map((l) => (l.includes('User ') ? '  User nobody' : l)), knownHostsLine(sshd));
    const r = await gitbus(['join', `busbox:${b.path}`, '--node', 'x'], { home: join(b.dir, 'h'), env: c.env });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/refused the login of nobody/);
  });

  it('reports a port where no sshd listens as unreachable', async () => {
    const b = await bare();
    const r = await gitbus(['join', `ssh://root@127.0.0.1:1/${b.path}`, '--node', 'x'], { home: join(b.dir, 'h'), env: sshd.env });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/SSH_UNREACHABLE|could not connect/);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
  });

  it('reports a missing repository on the host', async () => {
    const b = await bare();
    const remote = `busbox:${b.dir}/nope.git`;
    const r = await gitbus(['join', remote, '--node', 'x', '--json'], { home: join(b.dir, 'h'), env: sshd.env });
    expect(r.code).toBe(6);
    const err = json<{ error: { code: string; message: string; fix: string; data: { path: string; said: string } } }>(r).error;
    expect(err.code).toBe('REMOTE_NOT_FOUND');
    // The remote is named as given, what the host said apart; the fix makes the repository on the host, not here.
    expect(err.data.path).toBe(remote);
    expect(err.message).toMatch(new RegExp(`^the remote repository ${remote} does not exist \\(the host said: .+\\)$`));
    expect(err.fix).toContain(`gitbus init --remote ${remote}`);
    expect(err.fix).toContain(`ssh busbox git init --bare --initial-branch=main ${b.dir}/nope.git`);
    expect(err.fix).not.toContain('(');
  });

  it('refuses a GITBUS_SSH_CONFIG that names no file, as ssh -F does, naming it', async () => {
    const b = await bare();
    const missing = join(b.dir, 'no-such-config');
    const r = await gitbus(['join', `busbox:${b.path}`, '--node', 'x', '--json'], { home: join(b.dir, 'h'), env: { ...sshd.env, GITBUS_SSH_CONFIG: missing } });
    expect(r.code, r.stdout + r.stderr).toBe(7);
    const err = json<{ error: { code: string; message: string; fix: string; data: { file: string } } }>(r).error;
    expect(err.code).toBe('SSH_CONFIG_INVALID');
    expect(err.data.file).toBe(missing);
    expect(err.message).toContain('GITBUS_SSH_CONFIG');
    expect(err.fix).toContain('GITBUS_SSH_CONFIG');
  });

  it('uses a key from ssh-agent, and a passphrase-protected key with GITBUS_SSH_PASSPHRASE or asked on the terminal, in its own process and served', async () => {
    const bus = await sshBus();
    const locked = join(bus.dir, 'locked_key');
    const pub = keygen(locked, 'ed25519', 'correct horse');
    appendFileSync(join(sshd.dir, 'authorized_keys'), `${pub}\n`);
    const c = await clientHome(['Host busbox', '  HostName 127.0.0.1', `  Port ${sshd.port}`, `  IdentityFile ${locked}`], knownHostsLine(sshd));

    const without = await gitbus(['status', '--json'], { home: bus.home('alpha'), env: c.env });
    expect(without.code).toBe(6);
    expect(without.stderr).toMatch(/passphrase/);
    const withPass = await gitbus(['status', '--json'], { home: bus.home('alpha'), env: { ...c.env, GITBUS_SSH_PASSPHRASE: 'correct horse' } });
    expect(withPass.code, withPass.stderr).toBe(0);

    // On a terminal (a real tmux pane) it asks like ssh does, without echoing what is typed.
    if (spawnSync('tmux', ['-V']).status === 0) {
      const sock = join(bus.dir, 'tmux.sock');
      const out = join(bus.dir, 'prompted.out');
      const cmd = `HOME=${c.home} GITBUS_HOME=${bus.home('alpha')} ${process.execPath} ${CLI} status --json > ${out}; echo exit=$? >> ${out}`;
      expect(spawnSync('tmux', ['-S', sock, 'new-session', '-d', '-x', '200', '-y', '20', cmd]).status).toBe(0);
      cleanups.push(async () => void spawnSync('tmux', ['-S', sock, 'kill-server']));
      const pane = () => spawnSync('tmux', ['-S', sock, 'capture-pane', '-p'], { encoding: 'utf8' }).stdout ?? '';
      await until('the passphrase prompt', () => pane().includes(`Enter passphrase for key '${locked}':`), 20_000);
      spawnSync('tmux', ['-S', sock, 'send-keys', 'correct horse', 'Enter']);
      await until('the prompted command to finish', () => existsSync(out) && readFileSync(out, 'utf8').includes('exit='), 20_000);
      expect(readFileSync(out, 'utf8')).toContain('exit=0');
      expect(pane()).not.toContain('correct horse');

      // The same typed where a server serves the home (cli/serve/): the prompt is the standby's, asked on this
      // terminal through the client, which puts it in raw mode and back.
      const server = startEventProcess(bus.home('alpha'), ['serve', '--json'], children, { HOME: c.home });
      await until('a standby ready', () => server.events().some((e) => e.type === 'standbys' && Number(e['ready']) >= 1), 60_000, server.stderr);
      const out2 = join(bus.dir, 'prompted-served.out');
      const report = join(bus.dir, 'served.jsonl');
      const cmd2 = `HOME=${c.home} GITBUS_HOME=${bus.home('alpha')} GITBUS_SERVE_REPORT=${report} GITBUS_SERVE=1 ${process.execPath} ${BIN} status --json > ${out2}; echo exit=$? >> ${out2}; stty -a >> ${out2}; echo end >> ${out2}`;
      spawnSync('tmux', ['-S', sock, 'kill-server']);
      expect(spawnSync('tmux', ['-S', sock, 'new-session', '-d', '-x', '200', '-y', '20', cmd2]).status).toBe(0);
      await until('the passphrase prompt, served', () => pane().includes(`Enter passphrase for key '${locked}':`), 20_000, () => `${pane()}\nserver: ${server.stderr()}`);
      spawnSync('tmux', ['-S', sock, 'send-keys', 'correct horse', 'Enter']);
      await until('the served prompted command to finish', () => existsSync(out2) && /^end$/m.test(readFileSync(out2, 'utf8')), 20_000, () => `pane: ${pane()}\nout: ${existsSync(out2) ? readFileSync(out2, 'utf8') : ''}\nserver: ${server.stderr()}`);
      const served = readFileSync(out2, 'utf8');
      expect(served).toContain('exit=0');
      expect(JSON.parse(served.slice(0, served.indexOf('exit='))).nodes).toBeDefined();
      // The terminal is back as it was: echo on, not raw.
      expect(served).toMatch(/(^|\s)echo(\s|$)/m);
      expect(served).toMatch(/(^|\s)icanon(\s|$)/m);
      expect(pane()).not.toContain('correct horse');
      expect(JSON.parse(readFileSync(report, 'utf8').trim().split('\n').at(-1) ?? '{}')).toMatchObject({ command: 'status', served: true });
      server.child.kill('SIGTERM');
    } else if (process.env['CI'] === 'true') throw new Error('tmux is missing on CI');

    // ssh-agent holding the key; the config names no key file.
    const agentDir = await tempDir('gitbus-agent-');
    cleanups.push(agentDir.cleanup);
    const sock = join(agentDir.path, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    cleanups.push(async () => void agent.kill());
    await until('ssh-agent socket', async () => (await import('node:fs')).existsSync(sock), 10_000);
    const add = await spawnBounded('ssh-add', [sshd.clientKey], { env: { ...process.env, SSH_AUTH_SOCK: sock }, timeoutMs: 10_000 });
    expect(add.code, add.stderr).toBe(0);
    const a = await clientHome(['Host busbox', '  HostName 127.0.0.1', `  Port ${sshd.port}`], knownHostsLine(sshd));
    const viaAgent = await gitbus(['status', '--json'], { home: bus.home('alpha'), env: { ...a.env, SSH_AUTH_SOCK: sock } });
    expect(viaAgent.code, viaAgent.stderr).toBe(0);
  });

  it('reaches the host through ProxyJump and through a ProxyCommand', async () => {
    const bus = await sshBus();
    const jump = await clientHome([...busboxConfig(), 'Host hidden', '  HostName 127.0.0.1', `  Port ${sshd.port}`, `  IdentityFile ${sshd.clientKey}`, '  ProxyJump busbox'], knownHostsLine(sshd));
    const viaJump = await gitbus(['status', '--json'], { home: bus.home('alpha'), env: { ...jump.env } });
    expect(viaJump.code, viaJump.stderr).toBe(0);
    const j2 = await gitbus(['join', `hidden:${bus.bare}`, '--node', 'jumper', '--json'], { home: bus.home('jumper'), env: jump.env });
    expect(j2.code, j2.stderr).toBe(0);

    const proxy = `${process.execPath} -e "const s=require('net').connect(%p,'%h');process.stdin.pipe(s);s.pipe(process.stdout)"`;
    const cmd = await clientHome(['Host viaproxy', '  HostName 127.0.0.1', `  Port ${sshd.port}`, `  IdentityFile ${sshd.clientKey}`, `  ProxyCommand ${proxy}`], knownHostsLine(sshd));
    const j3 = await gitbus(['join', `viaproxy:${bus.bare}`, '--node', 'proxied', '--json'], { home: bus.home('proxied'), env: cmd.env });
    expect(j3.code, j3.stderr).toBe(0);
  });
});
