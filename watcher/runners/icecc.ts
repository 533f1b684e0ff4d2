import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type { NodeConfig } from '../../bus/home.js';
import { taskEnv, type RunOutcome, type RunRequest, type Runner } from './runner.js';
import { failedToStart } from './process-group.js';
import { runShellCommand } from './shell.js';
import { readLogLines } from './log-lines.js';

/** The icecream scheduler's port when `icecc.scheduler` names none (what iceccd and icecc-scheduler use). */
export const DEFAULT_SCHEDULER_PORT = 8765;
/** How long the checks before a build may take each: a scheduler or daemon that does not answer in this is down. */
const PROBE_MS = 3_000;

export interface IceccCounts {
  /** Compiler invocations with -c or -S that went through the icecc client (links and `icecc --version` are not). */
  compiles: number;
  /** Of those, compiled by another daemon of the cluster. */
  remote: number;
  /** Of those, compiled on this machine: the scheduler chose it, the arguments need it, or a remote attempt failed. */
  local: number;
}

/**
 * The build `command` as the shell runner runs it (`sh -c`, own process group, output to the log, timeout and
 * cancel stop the group), with the environment set for icecream: `CC`/`CXX` are `icecc <cc>`/`icecc <cxx>`,
 * `MAKEFLAGS=-j<jobs>`, and the icecc client logs each compile (`ICECC_DEBUG=debug`, `ICECC_LOGFILE` per task), so
 * the outcome can say how many compiles were distributed and how many ran here.
 *
 * The icecc client never talks to the scheduler: it hands each compile to the iceccd on this machine, which asks
 * the scheduler for a host. So before the build this checks that icecc is installed, that the configured
 * scheduler answers, and that a local iceccd answers where the client will look for it — without one the client
 * silently compiles everything locally.
 */
export const iceccRunner: Runner = {
  async run(req: RunRequest, abort: AbortSignal): Promise<RunOutcome> {
    const started = new Date();
    const command = req.handoff.command;
    if (!command) return failedToStart(started, 'the handoff has no command');
    const settings: NonNullable<NodeConfig['icecc']> = req.node?.icecc ?? {};
    const scheduler = settings.scheduler ?? null;
    const cc = settings.cc ?? 'gcc';
    const cxx = settings.cxx ?? 'g++';
    const jobs = settings.jobs ?? 2 * availableParallelism();
    const iceccLog = req.logPath.replace(/(\.log)?$/, '.icecc.log');
    const env: NodeJS.ProcessEnv = {
      ...taskEnv(req),
      CC: `icecc ${cc}`,
      CXX: `icecc ${cxx}`,
      MAKEFLAGS: `-j${jobs}`,
      CMAKE_BUILD_PARALLEL_LEVEL: String(jobs),
      // Trace level: "info" logs neither the host a compile went to nor the local runs (icecc 1.4).
      ICECC_DEBUG: 'debug',
      ICECC_LOGFILE: iceccLog,
    };
    // The variable icecream's scheduler discovery honours (ICECC_SCHEDULER_HOST is only a key of the distributions'
    // /etc/icecc/icecc.conf). It reaches an iceccd or icemon the build starts, not the client, which asks the local iceccd.
    if (scheduler) env['ICECC_SCHEDULER'] = scheduler;

    const found = await preflight(env, scheduler);
    if (typeof found === 'string') return failedToStart(started, found);
    if (abort.aborted) return { status: 'cancelled', exitCode: null, started, finished: new Date(), outputTail: '', reason: 'stopped on request' };

    mkdirSync(dirname(req.logPath), { recursive: true });
    rmSync(iceccLog, { force: true });
    appendFileSync(
      req.logPath,
      `[gitbus icecc] ${found.version}; CC="${env['CC']}" CXX="${env['CXX']}" MAKEFLAGS=${env['MAKEFLAGS']}; ` +
        `scheduler ${scheduler ?? '(found by iceccd)'}; local iceccd at ${found.daemon}; compile log ${iceccLog}\n`,
    );
    const outcome = await runShellCommand(req, command, env, abort);
    // The run's own start, not the pre-flight's: timings describe the build.
    return { ...outcome, icecc: { ...(await countIceccLogFile(iceccLog)), scheduler } };
  },
};

/**
 * What must hold before a build is worth starting: icecc installed, the configured scheduler answering, a local
 * iceccd answering. Returns the reason with its fix, or what was found.
 */
async function preflight(env: NodeJS.ProcessEnv, scheduler: string | null): Promise<string | { version: string; daemon: string }> {
  const version = await iceccVersion(env);
  if ('reason' in version) return version.reason;
  if (scheduler) {
    const addr = parseScheduler(scheduler);
    if (!addr) return `icecc.scheduler "${scheduler}" in node.yaml is not host or host:port: correct it (the icecream scheduler's port is ${DEFAULT_SCHEDULER_PORT} by default)`;
    const err = await probe({ host: addr.host, port: addr.port });
    if (err)
      return (
        `the icecc scheduler ${addr.host}:${addr.port} (icecc.scheduler in node.yaml) is not reachable: ${err}. ` +
        `Start icecc-scheduler there (e.g. "systemctl start icecc-scheduler", or "icecc-scheduler -d -p ${addr.port}"), or correct icecc.scheduler in this node's node.yaml`
      );
  }
  const daemon = await findLocalDaemon(env);
  if ('reason' in daemon) return daemon.reason;
  return { version: version.text, daemon: daemon.where };
}

/** `icecc --version`, bounded: tells an install that is missing or broken from one that works. */
export function iceccVersion(env: NodeJS.ProcessEnv): Promise<{ text: string } | { reason: string }> {
  const fix = 'install icecream on this node (Debian/Ubuntu: "apt-get install icecc"; Fedora/Arch/openSUSE: the "icecream" package; macOS: "brew install icecream") or remove icecc from its runners in node.yaml';
  return new Promise((resolve) => {
    let out = '';
    let child;
    try {
      child = spawn('icecc', ['--version'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ reason: `icecc could not be run (${(err as Error).message}): ${fix}` });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_MS);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ reason: err.code === 'ENOENT' ? `icecc is not installed on this node (no "icecc" on PATH): ${fix}` : `icecc could not be run (${err.message}): ${fix}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const text = out.trim().split('\n')[0] ?? '';
      resolve(code === 0 && /^ICECC /.test(text) ? { text } : { reason: `"icecc --version" did not work (exit ${code ?? 'by a signal'}: ${text || 'no output'}): ${fix}` });
    });
  });
}

/** `host`, `host:port` or `[v6]:port`. */
export function parseScheduler(value: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+))(?::(\d{1,5}))?$/.exec(value.trim());
  if (!m) return null;
  const host = m[1] ?? m[2];
  const port = m[3] ? Number(m[3]) : DEFAULT_SCHEDULER_PORT;
  if (!host || port < 1 || port > 65535) return null;
  return { host, port };
}

/**
 * The iceccd the icecc client will use, looked for exactly as the client does (icecc 1.4 client/main.cpp):
 * `$ICECC_TEST_SOCKET` alone when set, else three Unix sockets, then TCP 127.0.0.1:10245.
 */
export async function findLocalDaemon(env: NodeJS.ProcessEnv): Promise<{ where: string } | { reason: string }> {
  const testSocket = env['ICECC_TEST_SOCKET'];
  const places: ({ path: string } | { host: string; port: number })[] = testSocket
    ? [{ path: testSocket }]
    : [{ path: '/var/run/icecc/iceccd.socket' }, { path: '/var/run/iceccd.socket' }, ...(env['HOME'] ? [{ path: join(env['HOME'], '.iceccd.socket') }] : []), { host: '127.0.0.1', port: 10245 }];
  const name = (p: (typeof places)[number]) => ('path' in p ? p.path : `${p.host}:${p.port}`);
  for (const p of places) if ((await probe(p)) === null) return { where: name(p) };
  return {
    reason:
      `no icecream daemon (iceccd) answers on this node (tried ${places.map(name).join(', ')}), so every compile would silently run here: ` +
      `start it ("systemctl start iceccd", or "iceccd -d -s <scheduler>" — as root, so that it can also take jobs from other nodes)`,
  };
}

/** Connects and hangs up; null when something answered, else why not. */
export function probe(to: { path: string } | { host: string; port: number }): Promise<string | null> {
  return new Promise((resolve) => {
    let socket: Socket;
    const done = (why: string | null) => {
      socket.destroy();
      resolve(why);
    };
    socket = 'path' in to ? connect({ path: to.path, timeout: PROBE_MS }) : connect({ host: to.host, port: to.port, timeout: PROBE_MS });
    socket.once('connect', () => done(null));
    socket.once('timeout', () => done(`no answer within ${PROBE_MS / 1000} s`));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'connection refused' : err.code === 'ENOENT' ? 'no such socket' : err.message));
  });
}

/**
 * Counts the compiles in an icecc client log (`ICECC_DEBUG=debug`). Each client process starts with "invoked as:";
 * "Have to use host H:P" means a daemon elsewhere got the job, "invoking:" that the compiler ran here — the last one
 * decides, because a failed remote attempt is retried locally. Pure.
 */
export function countIceccLog(lines: Iterable<string>): IceccCounts {
  const runs = new Map<string, { compile: boolean; where: 'remote' | 'local' | null }>();
  const done: { compile: boolean; where: 'remote' | 'local' | null }[] = [];
  for (const line of lines) {
    const m = /^ICECC\[(\d+)\] [^:]*:\d\d:\d\d: (.*)$/.exec(line);
    if (!m) continue;
    const pid = m[1] ?? '';
    const text = m[2] ?? '';
    if (text.startsWith('invoked as: ') || text.startsWith('expanded as: ')) {
      const isCompile = /(^|\s)-[cS](\s|$)/.test(text);
      const run = runs.get(pid);
      if (text.startsWith('invoked as: ') || !run) {
        if (run) done.push(run);
        runs.set(pid, { compile: isCompile, where: null });
      } else run.compile ||= isCompile;
      continue;
    }
    const run = runs.get(pid);
    if (!run) continue; // a helper child (the preprocessor) or a line from before this log
    if (text.startsWith('Have to use host ')) run.where = 'remote';
    else if (text.startsWith('invoking:')) run.where = 'local';
  }
  done.push(...runs.values());
  const compiles = done.filter((r) => r.compile);
  return { compiles: compiles.length, remote: compiles.filter((r) => r.where === 'remote').length, local: compiles.filter((r) => r.where === 'local').length };
}

/** The counts from the compile log the task's icecc clients wrote; the task can write or replace it, so it is read bounded. */
async function countIceccLogFile(path: string): Promise<IceccCounts> {
  return countIceccLog(await readLogLines(path, (line) => line.startsWith('ICECC[')));
}
