import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { gitbus, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { alive, until } from '../helpers/wait.js';

type Shown = { state: string; files: { path: string; text: string }[] };
type Ran = { ran: { id: string; status: string; exitCode: number | null }[] };

/** The icecream daemons are in sbin, which a user's PATH may lack. */
function which(name: string): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const d of dirs) if (d && existsSync(join(d, name))) return join(d, name);
  return null;
}
const BIN = { icecc: which('icecc'), iceccd: which('iceccd'), scheduler: which('icecc-scheduler'), make: which('make'), gcc: which('gcc') };
const missing = Object.entries(BIN).filter(([, path]) => !path).map(([name]) => name);
// iceccd started as root drops to the `icecc` user but keeps CAP_SYS_CHROOT, which it needs to run other nodes'
// compiles in their environment; started as anyone else it refuses remote jobs, and nothing could be distributed.
const isRoot = process.getuid?.() === 0;
const CI = process.env['CI'] === 'true';
if (CI && missing.length > 0) throw new Error(`the icecc runner tests need ${missing.join(', ')}, and CI must run them: "bash scripts/check.sh" installs them`);
if (CI && !isRoot) throw new Error('the icecc runner tests must run as root in CI: iceccd takes remote jobs only as root (it chroots into compile environments)');
const canRun = missing.length === 0 && isRoot;
if (!canRun) console.warn(`icecc-runner cluster tests skipped: ${missing.length ? `missing ${missing.join(', ')} (apt-get install icecc make gcc)` : 'not root (iceccd takes remote jobs only as root)'}`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '0.0.0.0', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '0.0.0.0', () => srv.close(() => resolve(true)));
  });
}

/** The scheduler listens on `port` and answers text commands on `port + 1`: both must be free. */
async function schedulerPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const p = await freePort();
    if (p < 65535 && (await portIsFree(p + 1))) return p;
  }
  throw new Error('no two free consecutive ports for the icecc scheduler');
}

/** The hosts the scheduler knows, from its text interface (`listcs` on port + 1). Bounded. */
function listcs(port: number): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const s = connect({ host: '127.0.0.1', port: port + 1 });
    const finish = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(out);
    };
    const timer = setTimeout(finish, 2_000);
    s.on('connect', () => s.write('listcs\r\n'));
    s.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('200 done')) finish();
    });
    s.on('error', finish);
  });
}

interface Daemon {
  name: string;
  child: ChildProcess;
  log: string;
  exited: boolean;
}

/** A daemon in its own process group, so that stopping it stops the compile jobs it forked. */
function startDaemon(name: string, cmd: string, args: string[], log: string, env: NodeJS.ProcessEnv = {}): Daemon {
  const child = spawn(cmd, args, { detached: true, stdio: 'ignore', env: { ...process.env, ...env } });
  const d: Daemon = { name, child, log, exited: false };
  child.once('exit', () => (d.exited = true));
  return d;
}

/** SIGTERM to the group, SIGKILL after 5 s; resolves once the process is gone (bounded). */
async function stopDaemon(d: Daemon): Promise<void> {
  const pid = d.child.pid;
  if (pid === undefined || d.exited) return;
  const gone = new Promise<void>((r) => d.child.once('exit', () => r()));
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // Already gone.
    }
  };
  kill('SIGTERM');
  const timer = setTimeout(() => kill('SIGKILL'), 5_000);
  await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
  clearTimeout(timer);
}

const readLog = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').slice(-30).join('\n') : '(no log)');

/** Adds `icecc:` settings to a node's node.yaml. */
function setIcecc(home: string, icecc: Record<string, unknown>): void {
  const path = join(home, 'node.yaml');
  const config = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  writeFileSync(path, stringify({ ...config, icecc }));
}

const C_PROJECT: Record<string, string> = {
  'main.c': '#include <stdio.h>\nint add(int, int);\nint mul(int, int);\nint main(void) { printf("gitbus-icecc %d\\n", add(2, mul(3, 4))); return 0; }\n',
  'add.c': 'int add(int a, int b) { return a + b; }\n',
  'mul.c': 'int mul(int a, int b) { return a * b; }\n',
  Makefile: 'OBJS = main.o add.o mul.o\nhello: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n%.o: %.c\n\t$(CC) -O2 -c $< -o $@\n',
};

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
}, 60_000);

async function iceccBus() {
  const bus = await makeBus({ node: 'boss' });
  cleanups.push(bus.cleanup);
  const show = async (id: string) => json<Shown>(await gitbus(['show', id, '--json'], { home: bus.home('boss') }));
  const response = (s: Shown) => s.files.find((f) => f.path.startsWith('responses/'))?.text ?? '';
  const once = async (home: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000) => {
    const r = await gitbus(['watch', '--once', '--json'], { home, env, timeoutMs });
    expect(r.code, r.stderr).toBe(0);
    return json<Ran>(r).ran;
  };
  return { bus, show, response, once };
}

describe('the icecc runner without icecc', () => {
  it('a watcher without icecc on PATH takes no icecc task and says how to install it; the task waits for a node that has it', async () => {
    const { bus, show } = await iceccBus();
    const home = await bus.addNode('bare', [], ['--runner', 'icecc']);
    // A PATH with git (the watcher may use it) and nothing else: no icecc, whatever this machine has.
    const bin = join(bus.dir, 'bin-without-icecc');
    mkdirSync(bin);
    const git = which('git');
    if (git) symlinkSync(git, join(bin, 'git'));
    const id = await bus.dispatch('boss', ['build', '--runner', 'icecc', '--command', 'make', '--to', 'bare']);
    const r = await gitbus(['watch', '--once', '--json'], { home, env: { PATH: bin }, timeoutMs: 60_000 });
    expect(r.code).toBe(7);
    expect(json<{ error: { code: string; message: string; fix: string } }>(r).error).toMatchObject({ code: 'RUNNERS_MISSING', message: expect.stringContaining('icecc needs "icecc", which is not on PATH'), fix: expect.stringContaining('apt-get install icecc') });
    expect((await show(id)).state).toBe('pending');
  });
});

describe.skipIf(!canRun)('the icecc runner on a real icecream cluster (loopback)', () => {
  let dir = '';
  let port = 0;
  const daemons: Daemon[] = [];
  // The client reaches its daemon through this socket instead of /var/run/icecc/iceccd.socket, so a system iceccd
  // on this machine is never used or disturbed. Everything here is 127.0.0.1, which the client takes for "this
  // machine": ICECC_TEST_REMOTEBUILD (icecream's own test suite does the same) sends a job the scheduler gives to
  // another daemon to that daemon even so, and ICECC_PREFERRED_HOST makes the scheduler pick the remote one.
  const clientEnv = () => ({ ICECC_TEST_SOCKET: join(dir, 'local.sock'), ICECC_TEST_REMOTEBUILD: '1', ICECC_PREFERRED_HOST: 'gbremote' });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gitbus-icecc-'));
    // The daemons drop to the `icecc` user: their logs, sockets and environment caches must be writable by it.
    chmodSync(dir, 0o777);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    cleanups.push(async () => {
      for (const d of daemons) await stopDaemon(d);
    });
    port = await schedulerPort();
    const remotePort = await freePort();
    const net = `gitbus${process.pid}`;
    const sched = join(dir, 'scheduler.log');
    daemons.push(startDaemon('icecc-scheduler', BIN.scheduler!, ['-p', String(port), '-n', net, '-i', 'lo', '-l', sched, '-vv'], sched));
    // -i is left out for the daemons: iceccd 1.4 with -i lo binds loopback twice and gives up ("Address already in use").
    const rlog = join(dir, 'remote.log');
    daemons.push(
      startDaemon('iceccd gbremote', BIN.iceccd!, ['-s', `127.0.0.1:${port}`, '-n', net, '-N', 'gbremote', '-m', '2', '-p', String(remotePort), '-b', join(dir, 'envs-remote'), '-l', rlog, '-vvv'], rlog, {
        ICECC_TEST_SOCKET: join(dir, 'remote.sock'),
      }),
    );
    const llog = join(dir, 'local.log');
    daemons.push(
      startDaemon('iceccd gblocal', BIN.iceccd!, ['--no-remote', '-s', `127.0.0.1:${port}`, '-n', net, '-N', 'gblocal', '-m', '2', '-b', join(dir, 'envs-local'), '-l', llog, '-vv'], llog, {
        ICECC_TEST_SOCKET: join(dir, 'local.sock'),
      }),
    );
    const state = () => daemons.map((d) => `--- ${d.name}${d.exited ? ' (exited)' : ''}: ${d.log}\n${readLog(d.log)}`).join('\n');
    // Both daemons connect to the scheduler within a few seconds (they retry every 3 s).
    await until(
      'both iceccd to register with the icecc scheduler',
      async () => {
        const dead = daemons.find((d) => d.exited);
        if (dead) throw new Error(`${dead.name} exited\n${state()}`);
        const hosts = await listcs(port);
        return hosts.includes('gbremote (') && hosts.includes('gblocal (');
      },
      45_000,
      state,
    );
  }, 60_000);

  it('builds a C project through icecc; the response says how many compiles were distributed', async () => {
    const { bus, show, response, once } = await iceccBus();
    const home = await bus.addNode('builder', [], ['--runner', 'icecc']);
    setIcecc(home, { scheduler: `127.0.0.1:${port}`, jobs: 4 });
    const work = join(home, 'work');
    mkdirSync(work, { recursive: true });
    for (const [name, text] of Object.entries(C_PROJECT)) writeFileSync(join(work, name), text);

    const id = await bus.dispatch('boss', ['build hello', '--runner', 'icecc', '--to', 'builder', '--command', 'echo "CC=$CC MAKEFLAGS=$MAKEFLAGS" && make && ./hello']);
    // The first compile makes the compiler environment (~15 s) and the remote daemon installs it.
    const ran = await once(home, clientEnv(), 180_000);
    expect(ran).toEqual([expect.objectContaining({ id, status: 'succeeded', exitCode: 0 })]);

    const built = spawnSync(join(work, 'hello'), { encoding: 'utf8', timeout: 10_000 });
    expect(built.stdout).toBe('gitbus-icecc 14\n');

    const text = response(await show(id));
    expect(text).toContain('runner: icecc');
    expect(text).toContain('CC=icecc gcc MAKEFLAGS=-j4');
    expect(text).toContain('gitbus-icecc 14');
    const line = /^icecc: (\d+) compiles?, (\d+) remote, (\d+) local via scheduler (\S+)/m.exec(text);
    expect(line, text).not.toBeNull();
    const [compiles, remote, local] = [Number(line![1]), Number(line![2]), Number(line![3])];
    expect(line![4]).toBe(`127.0.0.1:${port}`);
    // Three objects compiled; the link is not a compile.
    expect(compiles).toBe(3);
    expect(remote + local).toBe(3);
    expect(remote).toBeGreaterThan(0);
    // The remote daemon really compiled them.
    const remoteLog = readFileSync(join(dir, 'remote.log'), 'utf8');
    expect(remoteLog.match(/remote compile for file /g)?.length ?? 0).toBe(remote);
    expect(existsSync(join(home, 'logs', `${id}.1.icecc.log`))).toBe(true);
  }, 240_000);

  it('fails with a clear reason when the scheduler is not running, or no local iceccd answers', async () => {
    const { bus, show, response, once } = await iceccBus();
    const lost = await bus.addNode('lost', [], ['--runner', 'icecc']);
    const deadPort = await freePort();
    setIcecc(lost, { scheduler: `127.0.0.1:${deadPort}` });
    const alone = await bus.addNode('alone', [], ['--runner', 'icecc']);
    setIcecc(alone, { scheduler: `127.0.0.1:${port}` });

    const noScheduler = await bus.dispatch('boss', ['build', '--runner', 'icecc', '--to', 'lost', '--command', 'make']);
    const noDaemon = await bus.dispatch('boss', ['build', '--runner', 'icecc', '--to', 'alone', '--command', 'make']);
    expect(await once(lost, clientEnv())).toEqual([expect.objectContaining({ id: noScheduler, status: 'failed', exitCode: null })]);
    expect(await once(alone, { ...clientEnv(), ICECC_TEST_SOCKET: join(dir, 'no-such.sock') })).toEqual([expect.objectContaining({ id: noDaemon, status: 'failed' })]);

    const a = response(await show(noScheduler));
    expect(a).toContain(`the icecc scheduler 127.0.0.1:${deadPort} (icecc.scheduler in node.yaml) is not reachable: connection refused`);
    expect(a).toContain('Start icecc-scheduler there');
    expect(a).not.toMatch(/^icecc: /m);
    const b = response(await show(noDaemon));
    expect(b).toContain('no icecream daemon (iceccd) answers on this node');
    expect(b).toContain('no-such.sock');
  }, 120_000);

  it('a compile log the task replaced or filled with junk neither hangs nor crashes the watcher', async () => {
    const { bus, show, response, once } = await iceccBus();
    const home = await bus.addNode('hostile', [], ['--runner', 'icecc']);
    setIcecc(home, { scheduler: `127.0.0.1:${port}` });
    const line = (text: string) => `ICECC[4242] 2026-11-21 05:54:03: ${text}`;
    const ids = [
      // Read to its end, this never ends (the watcher would ignore SIGTERM meanwhile).
      await bus.dispatch('boss', ['urandom', '--runner', 'icecc', '--to', 'hostile', '--command', 'ln -sf /dev/urandom "$ICECC_LOGFILE"']),
      // Opened for reading, this waits for a writer that never comes.
      await bus.dispatch('boss', ['fifo', '--runner', 'icecc', '--to', 'hostile', '--command', 'rm -f "$ICECC_LOGFILE"; mkfifo "$ICECC_LOGFILE"']),
      // A few MB without a newline, then one real compile: the long line is skipped, the compile counted.
      await bus.dispatch('boss', ['long line', '--runner', 'icecc', '--to', 'hostile', '--command', `head -c 3000000 /dev/zero | tr '\\000' x > "$ICECC_LOGFILE"; printf '\\n%s\\n%s\\n' '${line('invoked as: icecc gcc -c a.c -o a.o')}' '${line('invoking: /usr/bin/gcc -c a.c -o a.o')}' >> "$ICECC_LOGFILE"`]),
    ];
    const ran = await once(home, clientEnv());
    expect(ran.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const [urandom, fifo, long] = await Promise.all(ids.map(async (id) => response(await show(id))));
    expect(urandom).toMatch(/^icecc: no compiles went through icecc/m);
    expect(fifo).toMatch(/^icecc: no compiles went through icecc/m);
    expect(long).toMatch(/^icecc: 1 compile, 0 remote, 1 local/m);
  }, 120_000);

  it('a timeout stops the whole build; the response says nothing went through icecc', async () => {
    const { bus, show, response, once } = await iceccBus();
    const home = await bus.addNode('slow', [], ['--runner', 'icecc']);
    setIcecc(home, { scheduler: `127.0.0.1:${port}` });
    const pidFile = join(home, 'sleeper.pid');
    const id = await bus.dispatch('boss', ['hang', '--runner', 'icecc', '--to', 'slow', '--timeout', '1s', '--command', `sleep 60 & echo $! > ${pidFile}; wait`]);
    expect(await once(home, clientEnv())).toEqual([expect.objectContaining({ id, status: 'timed-out' })]);
    const text = response(await show(id));
    expect(text).toMatch(/^icecc: no compiles went through icecc via scheduler 127\.0\.0\.1:\d+/m);
    // The background sleep was in the run's process group: gone with it.
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    await until('the build\'s background process to be stopped', () => !alive(sleeper), 10_000);
  }, 60_000);
});
