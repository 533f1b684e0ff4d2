import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, gitbus, gitCli, json, spawnBounded, tempDir } from '../helpers/cli.js';
import { seedPool } from '../helpers/bus.js';
import { keygen, sshdAvailable, startSshd, type Sshd } from '../helpers/sshd.js';
import { until } from '../helpers/wait.js';

/**
 * Buses whose shared repository is on a real OpenSSH sshd on loopback. Every node reaches it over SSH (ssh2
 * inside the gitbus process): through the `busbox` alias of an ssh config, or an ssh:// URL.
 */
const available = sshdAvailable();
if (!available) console.warn('skipping the SSH remote tests: /usr/sbin/sshd is not installed (apt-get install openssh-server)');

let sshd: Sshd;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  if (available) sshd = await startSshd();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await sshd?.cleanup();
});

/** A bare repository the sshd's user can reach, initialised as a bus by a node that joins over SSH. */
async function sshBus(remoteOf: (path: string) => string = (p) => `busbox:${p}`) {
  const dir = await tempDir('gitbus-ssh-');
  cleanups.push(dir.cleanup);
  const bare = join(dir.path, 'srv', 'bus.git');
  gitCli(['init', '-q', '--bare', '--initial-branch=main', bare]);
  const home = (name: string) => join(dir.path, `home-${name}`);
  const init = await gitbus(['init', '--remote', remoteOf(bare), '--node', 'alpha', '--json'], { home: home('alpha'), env: sshd.env });
  expect(init.code, init.stderr).toBe(0);
  return { dir: dir.path, bare, home, remote: remoteOf(bare) };
}

function run(args: string[], home: string, env: NodeJS.ProcessEnv = sshd.env) {
  return gitbus(args, { home, env });
}

describe.skipIf(!available)('an SSH remote', () => {
  it('inits, joins, dispatches, claims and responds through an ssh config alias and an ssh:// URL', async () => {
    const bus = await sshBus();
    const beta = await run(['join', sshd.url(bus.bare), '--node', 'beta', '--json'], bus.home('beta'));
    expect(beta.code, beta.stderr).toBe(0);
    expect(readFileSync(join(bus.home('beta'), 'node.yaml'), 'utf8')).toContain(sshd.url(bus.bare));

    const d = await run(['dispatch', 'echo over ssh', '--to', 'beta', '--json', '--no-git'], bus.home('alpha'));
    expect(d.code, d.stderr).toBe(0);
    const id = json<{ id: string }>(d).id;
    const c = await run(['claim', '--next', '--json'], bus.home('beta'));
    expect(c.code, c.stderr).toBe(0);
    expect(json<{ id: string }>(c).id).toBe(id);
    const r = await run(['respond', id, '--status', 'succeeded', '--summary', 'done over ssh', '--json'], bus.home('beta'));
    expect(r.code, r.stderr).toBe(0);

    // The alias node sees the result; plain git agrees with what the bus holds.
    const s = await run(['show', id, '--json'], bus.home('alpha'));
    expect(json<{ state: string }>(s).state).toBe('succeeded');
    expect(gitCli(['--git-dir', bus.bare, 'ls-tree', '-r', '--name-only', 'main'])).toContain(`responses/${id}.md`);
  });

  it('init creates a missing repository on the host with git init, like it does for a local path', async () => {
    const dir = await tempDir('gitbus-sshinit-');
    cleanups.push(dir.cleanup);
    const path = join(dir.path, 'srv', 'fresh.git');
    const r = await gitbus(['init', '--remote', `busbox:${path}`, '--node', 'first', '--json'], { home: join(dir.path, 'home'), env: sshd.env });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ remoteCreated: boolean }>(r).remoteCreated).toBe(true);
    expect(gitCli(['--git-dir', path, 'rev-parse', '--is-bare-repository']).trim()).toBe('true');
    expect(gitCli(['--git-dir', path, 'symbolic-ref', 'HEAD']).trim()).toBe('refs/heads/main');
    expect(gitCli(['--git-dir', path, 'ls-tree', '--name-only', 'main'])).toContain('gitbus.yaml');
    // An existing bus is not made again; a second init says so.
    const again = await gitbus(['init', '--remote', `busbox:${path}`, '--node', 'second', '--json'], { home: join(dir.path, 'home2'), env: sshd.env });
    expect(again.code).toBe(5);
  });

  it('lets exactly one of three processes win each claim race over SSH', { timeout: 180_000 }, async () => {
    const bus = await sshBus();
    for (const n of ['n1', 'n2', 'n3']) {
      const j = await run(['join', `busbox:${bus.bare}`, '--node', n, '--json'], bus.home(n));
      expect(j.code, j.stderr).toBe(0);
    }
    const ids = await seedPool(bus.bare, join(bus.dir, 'seed'), 12);
    const claimer = (n: string) =>
      spawnBounded(process.execPath, ['-e', claimLoop], { env: { ...sshd.env, GITBUS_HOME: bus.home(n), CLI }, timeoutMs: 120_000 });
    const results = await Promise.all(['n1', 'n2', 'n3'].map(claimer));
    const won = results.flatMap((r) => {
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.split('\n').filter(Boolean);
    });
    expect(won.sort()).toEqual([...ids].sort());
    expect(new Set(won).size).toBe(ids.length);
  });

  it('notices a connection that went silent (keepalive), reconnects, and goes on working', { timeout: 120_000 }, async () => {
    // Its own server, so that stalling its connections touches no other test.
    const own = await startSshd();
    cleanups.push(() => own.cleanup());
    const cfg = join(own.home, '.ssh', 'config');
    writeFileSync(cfg, `${readFileSync(cfg, 'utf8')}  ServerAliveInterval 1\n  ServerAliveCountMax 2\n`);
    const dir = await tempDir('gitbus-sshalive-');
    cleanups.push(dir.cleanup);
    const bare = join(dir.path, 'bus.git');
    gitCli(['init', '-q', '--bare', '--initial-branch=main', bare]);
    const home = (n: string) => join(dir.path, n);
    expect((await gitbus(['init', '--remote', `busbox:${bare}`, '--node', 'boss', '--json'], { home: home('boss'), env: own.env })).code).toBe(0);
    expect((await gitbus(['join', `busbox:${bare}`, '--node', 'w', '--runner', 'shell', '--json'], { home: home('w'), env: own.env })).code).toBe(0);
    const child = spawn(process.execPath, [CLI, 'watch', '--json', '--poll', '1s', '--retry', '500ms', '--retry-max', '1s'], { env: { ...own.env, GITBUS_HOME: home('w') }, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(async () => void child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const events = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; id?: string });
    await until('the watcher to start', () => events().some((e) => e.type === 'started'), 30_000);
    await until('its connection', () => own.sessions().length > 0, 10_000);

    // The peer stops answering without closing anything (a sleeping laptop, a dropped NAT entry).
    const stalled = own.sessions();
    for (const pid of stalled) process.kill(pid, 'SIGSTOP');
    cleanups.push(async () => {
      for (const pid of stalled) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    });
    // Keepalive declares the connection dead within seconds and the watcher opens a new one. Depending on what was
    // in flight, that shows as a short outage (remote-down, remote-up) or not at all (a channel that could not be
    // opened is retried once on a fresh connection).
    await until('a new connection from the watcher', () => own.sessions().some((pid) => !stalled.includes(pid)), 30_000, () => out);
    const d = await gitbus(['dispatch', 'after the stall', '--command', 'echo alive', '--json', '--no-git'], { home: home('boss'), env: own.env });
    expect(d.code, d.stderr).toBe(0);
    const id = json<{ id: string }>(d).id;
    await until('the task done on the new connection', () => events().some((e) => e.type === 'finished' && e.id === id), 30_000, () => out);
    expect(events().filter((e) => e.type === 'error')).toEqual([]);
    child.kill('SIGTERM');
  });

  it('runs tasks on three watchers over SSH, and keeps going after the server restarts', { timeout: 240_000 }, async () => {
    const bus = await sshBus();
    const watchers: { child: ReturnType<typeof spawn>; out: () => string }[] = [];
    for (const n of ['w1', 'w2', 'w3']) {
      const j = await run(['join', `busbox:${bus.bare}`, '--node', n, '--runner', 'shell', '--json'], bus.home(n));
      expect(j.code, j.stderr).toBe(0);
      const child = spawn(process.execPath, [CLI, 'watch', '--poll', '300ms', '--json'], { env: { ...sshd.env, GITBUS_HOME: bus.home(n) }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      watchers.push({ child, out: () => out });
    }
    cleanups.push(async () => {
      for (const w of watchers) w.child.kill('SIGKILL');
    });
    const dispatchOne = async (i: number) => {
      const d = await run(['dispatch', `task ${i}`, '--command', `echo task-${i}`, '--json', '--no-git'], bus.home('alpha'));
      expect(d.code, d.stderr).toBe(0);
      return json<{ id: string }>(d).id;
    };
    const first = await Promise.all([0, 1, 2, 3, 4, 5].map(dispatchOne));
    const doneAll = async (ids: string[]) => {
      const st = await run(['status', '--json'], bus.home('alpha'));
      const tasks = json<{ tasks: { id: string; state: string }[] }>(st).tasks;
      return ids.every((id) => tasks.find((t) => t.id === id)?.state === 'succeeded');
    };
    await until('six tasks done by the watchers', () => doneAll(first), 90_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${watchers.map((w) => w.out()).join('\n---\n')}`);
    });

    // The server goes away and comes back: the watchers' connections drop and are opened again.
    await sshd.stop();
    await sshd.start();
    const second = await Promise.all([6, 7].map(dispatchOne));
    await until('tasks dispatched after the restart done', () => doneAll(second), 90_000);
    // Every task ran exactly once, on one of the watchers.
    const finished = watchers.flatMap((w) =>
      w
        .out()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { type: string; id?: string })
        .filter((e) => e.type === 'finished')
        .map((e) => e.id),
    );
    expect(finished.sort()).toEqual([...first, ...second].sort());
    for (const w of watchers) expect(w.out()).not.toMatch(/"type":"error".*BUG/);
  });
});

describe.skipIf(!available)('gitbus doctor over SSH', () => {
  it('says where the alias led, which host key and key were used, compares clocks and proves push access', async () => {
    const bus = await sshBus();
    const r = await run(['doctor', '--json'], bus.home('alpha'));
    const report = json<{ checks: { name: string; status: string; detail: string }[] }>(r);
    const check = (name: string) => report.checks.find((c) => c.name === name) ?? { name, status: 'missing', detail: '' };
    expect(check('remote.reachable').status).toBe('ok');
    expect(check('ssh.config').detail).toContain(`busbox -> ${process.env['USER'] ?? 'root'}@127.0.0.1:${sshd.port}`);
    expect(check('ssh.config').detail).toContain(sshd.clientKey);
    expect(check('ssh.hostkey').status).toBe('ok');
    expect(check('ssh.hostkey').detail).toMatch(/^ssh-ed25519 SHA256:\S+ \(known_hosts .*known_hosts:1\)$/);
    expect(check('ssh.auth').detail).toContain(`key ${sshd.clientKey}`);
    expect(check('clock').status).toBe('ok');
    expect(check('clock').detail).toContain('in step');
    expect(check('remote.push')).toMatchObject({ status: 'ok' });
    expect(gitCli(['--git-dir', bus.bare, 'for-each-ref', 'refs/gitbus/doctor'])).toBe('');
    expect(check('ssh.shell').detail).toMatch(/\d+ ms/);

    // A host whose shell start-up is slow (bash sources $BASH_ENV for every command): a warning with the fix.
    const slowEnv = join(bus.dir, 'slow-start.sh');
    writeFileSync(slowEnv, 'sleep 0.15\n');
    const slow = await startSshd({ extraConfig: [`SetEnv BASH_ENV=${slowEnv}`] });
    cleanups.push(() => slow.cleanup());
    const viaSlow = json<{ checks: { name: string; status: string; detail: string; fix: string | null }[] }>(await gitbus(['doctor', '--json'], { home: bus.home('alpha'), env: slow.env }));
    const shell = viaSlow.checks.find((c) => c.name === 'ssh.shell');
    expect(shell?.status, JSON.stringify(viaSlow.checks)).toBe('warn');
    expect(shell?.fix).toContain('~/.bashrc');

    // An unknown host key makes the remote check fail with the way to trust it; the rest is skipped, not hidden.
    const bad = await tempDir('gitbus-sshdoc-');
    cleanups.push(bad.cleanup);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(bad.path, '.ssh'));
    writeFileSync(join(bad.path, '.ssh', 'config'), `Host busbox\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  IdentityFile ${sshd.clientKey}\n`);
    const failing = await gitbus(['doctor', '--json'], { home: bus.home('alpha'), env: { ...sshd.env, HOME: bad.path } });
    expect(failing.code).toBe(7);
    const reach = json<{ checks: { name: string; status: string; detail: string; fix: string | null }[] }>(failing).checks.find((c) => c.name === 'remote.reachable');
    expect(reach?.status).toBe('fail');
    expect(reach?.fix).toContain('ssh-keyscan');
  });
});

/** Claims until nothing is left; prints each id won. Runs as its own process per node. */
const claimLoop = `
const { execFileSync } = require('node:child_process');
for (;;) {
  let out;
  try { out = execFileSync(process.execPath, [process.env.CLI, 'claim', '--next', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }); }
  catch (e) { if (e.status === 3) break; process.stderr.write(String(e.stderr)); process.exit(1); }
  process.stdout.write(JSON.parse(out).id + '\\n');
}
`;

describe.skipIf(!available)('SSH failures that must be clear', () => {
  async function bare() {
    const dir = await tempDir('gitbus-sshfail-');
    cleanups.push(dir.cleanup);
    const path = join(dir.path, 'bus.git');
    gitCli(['init', '-q', '--bare', '--initial-branch=main', path]);
    return { dir: dir.path, path };
  }
  /** A client HOME with its own ssh config and known_hosts. */
  async function clientHome(config: string[], knownHosts: string) {
    const dir = await tempDir('gitbus-sshhome-');
    cleanups.push(dir.cleanup);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir.path, '.ssh'), { mode: 0o700 });
    writeFileSync(join(dir.path, '.ssh', 'config'), config.join('\n') + '\n');
    writeFileSync(join(dir.path, '.ssh', 'known_hosts'), knownHosts);
    const env = { ...sshd.env, HOME: dir.path };
    return { home: dir.path, env };
  }
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
    const c = await clientHome(['Host busbox', '  HostName 127.0.0.1', `  Port ${sshd.port}`, `  IdentityFile ${wrong}`], sshKnown());
    const r = await gitbus(['join', `busbox:${b.path}`, '--node', 'x'], { home: join(b.dir, 'h'), env: c.env });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/SSH_AUTH_FAILED|refused the login/);
    expect(r.stderr).toContain(`${wrong} (refused)`);
    expect(r.stderr).toMatch(/authorized_keys/);
  });

  it('reports a refused login of a user the server does not allow', async () => {
    const b = await bare();
    const c = await clientHome(busboxConfig().map((l) => (l.includes('User ') ? '  User nobody' : l)), sshKnown());
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
    const r = await gitbus(['join', `busbox:${b.dir}/nope.git`, '--node', 'x'], { home: join(b.dir, 'h'), env: sshd.env });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/REMOTE_NOT_FOUND|no git repository|does not exist/);
  });

  it('uses a key from ssh-agent, and a passphrase-protected key with GITBUS_SSH_PASSPHRASE', async () => {
    const bus = await sshBus();
    const locked = join(bus.dir, 'locked_key');
    const pub = keygen(locked, 'ed25519', 'correct horse');
    appendFileSync(join(sshd.dir, 'authorized_keys'), `${pub}\n`);
    const c = await clientHome(['Host busbox', '  HostName 127.0.0.1', `  Port ${sshd.port}`, `  IdentityFile ${locked}`], sshKnown());

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
    const a = await clientHome(['Host busbox', '  HostName 127.0.0.1', `  Port ${sshd.port}`], sshKnown());
    const viaAgent = await gitbus(['status', '--json'], { home: bus.home('alpha'), env: { ...a.env, SSH_AUTH_SOCK: sock } });
    expect(viaAgent.code, viaAgent.stderr).toBe(0);
  });

  it('reaches the host through ProxyJump and through a ProxyCommand', async () => {
    const bus = await sshBus();
    const jump = await clientHome([...busboxConfig(), 'Host hidden', '  HostName 127.0.0.1', `  Port ${sshd.port}`, `  IdentityFile ${sshd.clientKey}`, '  ProxyJump busbox'], sshKnown());
    const viaJump = await gitbus(['status', '--json'], { home: bus.home('alpha'), env: { ...jump.env } });
    expect(viaJump.code, viaJump.stderr).toBe(0);
    const j2 = await gitbus(['join', `hidden:${bus.bare}`, '--node', 'jumper', '--json'], { home: bus.home('jumper'), env: jump.env });
    expect(j2.code, j2.stderr).toBe(0);

    const proxy = `${process.execPath} -e "const s=require('net').connect(%p,'%h');process.stdin.pipe(s);s.pipe(process.stdout)"`;
    const cmd = await clientHome(['Host viaproxy', '  HostName 127.0.0.1', `  Port ${sshd.port}`, `  IdentityFile ${sshd.clientKey}`, `  ProxyCommand ${proxy}`], sshKnown());
    const j3 = await gitbus(['join', `viaproxy:${bus.bare}`, '--node', 'proxied', '--json'], { home: bus.home('proxied'), env: cmd.env });
    expect(j3.code, j3.stderr).toBe(0);
  });
});

function sshKnown(): string {
  return `[127.0.0.1]:${sshd.port} ${sshd.hostPub}\n`;
}
