import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';
import type { CommandEntry } from '../../cli/command-table.js';
import { START_ENV as NODE_START_ENV } from '../../cli/serve/start-env.js';
import type { RunResult } from './cli.js';

/**
 * A gitbus command run in the test's own process, from the build, as a watcher's standby runs one for a client
 * (cli/serve/standby.ts): the command line, environment, working folder and standard streams are the command's
 * while it runs, and put back after. A CLI process costs ~0.3 s of CPU in the suite, most of it Node's and the
 * bundle's start-up, and the suite started ~2,000 of them: more than the two cores' 8-minute budget had left
 * (docs/PERFORMANCE.md "The test suite").
 *
 * What a standby would run (the served commands, on a command line that reads no file descriptor of the
 * client's) and the other commands that end by themselves (SHORT). One command at a time: commands of concurrent
 * tests take turns, and one whose turn does not come soon (the other is a `run`, a `watch --once`) runs as a
 * process. GITBUS_TEST_SPAWN=1 runs every command as a process, as people run gitbus. What is about the process
 * itself (the loader, the code cache, serving, signals, exit on EPIPE) or about commands running at once is
 * tested with processes: spawnBounded, gitbus() with `process: true`, or commandsAsProcesses() for a file.
 */

interface Cli {
  runArgv: () => Promise<void>;
  namesOwnDescriptor: (args: readonly string[]) => string | null;
  invokedCommand: (args: readonly string[]) => CommandEntry | undefined;
  servedFor: (entry: CommandEntry, args: readonly string[]) => boolean;
}

let cli: Promise<Cli> | undefined;
function load(root: string): Promise<Cli> {
  const from = (path: string) => import(pathToFileURL(join(root, 'dist', path)).href) as Promise<Record<string, unknown>>;
  return (cli ??= Promise.all(['cli/start.js', 'cli/invoked-command.js', 'cli/command-table.js', 'cli/serve/client.js'].map(from)).then((m) => Object.assign({}, ...m) as Cli));
}

let busy = false;
/** Commands waiting for the one running here to end. */
const waiting: (() => void)[] = [];
/**
 * How long a command waits for the one running here before it starts a process instead. Concurrent tests'
 * commands take turns (most end within a few tens of milliseconds); a long one (a `run`, a `watch --once` running
 * tasks) does not hold the others. A test whose subject is commands running at once asks for processes.
 */
const TURN_WAIT_MS = 2000;

/**
 * True once this command holds the slot (taken at once when free, else after the running one ends, at most
 * TURN_WAIT_MS); false when it did not get it. Taken synchronously: commands started in one tick never share it.
 */
function slotFree(): Promise<boolean> {
  if (!busy) {
    busy = true;
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const take = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      waiting.splice(waiting.indexOf(take), 1);
      resolve(false);
    }, TURN_WAIT_MS);
    waiting.push(take);
  });
}

/** The slot is free: the first waiting command takes it, else it stays free. */
function release(): void {
  busy = false;
  const next = waiting.shift();
  if (next) {
    busy = true;
    next();
  }
}
/** Process events a command may listen to; what it added is taken off after it. */
const WATCHED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'beforeExit', 'exit'];


/**
 * What a process reads from its environment once, at its start (cli/serve/start-env.ts, and what the dynamic
 * loader and libfaketime read): a command given other values than this process has runs in a process of its own.
 */
const START_ENV: readonly string[] = [...NODE_START_ENV, 'NODE_OPTIONS', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'FAKETIME', 'TZ'];

let asProcesses = false;
/**
 * Every gitbus() of the calling test file runs as a process: for a file about what a process does (the loader,
 * serving, start-up) or one whose commands must not share what a process keeps in memory between them (a node's
 * key read once, the trust log, the parse memos), as two commands never do outside the suite.
 */
export function commandsAsProcesses(): void {
  // Test files share a worker and its modules (vitest.config.ts), and a worker may load several files before it
  // runs any: the flag is the running file's, set when its tests start and cleared when they end.
  beforeAll(() => {
    asProcesses = true;
  });
  afterAll(() => {
    asProcesses = false;
  });
}

/**
 * Set when a command run here did not finish in its time: it may still be running, writing to whatever streams
 * and exit code the process has and reading its environment, so no later command (of this file or of the next
 * one in this worker) runs beside it here.
 */
let abandoned: string | null = null;

/** Why this command line may not run here, or null when it may (what cli/serve/client.ts lets a standby run). */
async function whyNotHere(root: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<string | null> {
  const differs = START_ENV.find((k) => (env[k] ?? '') !== (process.env[k] ?? '')) ?? Object.keys(env).find((k) => k.startsWith('FAKETIME'));
  if (differs !== undefined) return `${differs} is read at a process's start`;
  const { invokedCommand, servedFor, namesOwnDescriptor } = await load(root);
  const descriptor = namesOwnDescriptor(args);
  if (descriptor !== null) return descriptor;
  const entry = invokedCommand(args);
  if (entry === undefined) return 'no command';
  if (servedFor(entry, args) || SHORT.has(entry.name) || (entry.name === 'watch' && args.includes('--once'))) return null;
  // Help prints and ends, whatever the command does otherwise.
  if (args.includes('--help') || args.includes('-h')) return null;
  return `${entry.name} runs long or owns its terminal`;
}

/**
 * Commands a standby does not run but which end by themselves and touch no descriptor of their own process: run
 * here too, and `watch --once`. Not here: `watch` without --once (a daemon), `mcp` and `ui` (servers), `attach`
 * (hands its terminal to ssh or tmux).
 */
const SHORT = new Set(['init', 'join', 'leave', 'lint', 'archive', 'logs', 'run', 'resume', 'worktrees', 'service', 'hooks', 'doctor', 'fanout', 'group', 'resolve', 'prime', 'setup', 'task', 'sign', 'verify', 'trust', 'env']);

/**
 * The caller starts a process. With GITBUS_TEST_SPAWN_LOG=FILE each such command is a line there, with why: what
 * is left to move into the test's process.
 */
function spawned(args: readonly string[], why: string): null {
  const log = process.env['GITBUS_TEST_SPAWN_LOG'];
  if (log) appendFileSync(log, `${JSON.stringify({ file: expect.getState().testPath ?? '?', args: args.slice(0, 3), why })}\n`);
  return null;
}

function define(name: 'stdout' | 'stderr' | 'stdin', stream: unknown): void {
  Object.defineProperty(process, name, { configurable: true, enumerable: true, get: () => stream });
}

function capture(into: (s: string) => void): Writable {
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      into(chunk.toString());
      cb();
    },
  });
  return Object.assign(stream, { isTTY: false });
}

/**
 * Runs `gitbus ARGS` here when it may (else returns null, and the caller starts a process). `bin` is what the
 * command sees as its own program (process.argv[1]): hooks and service files it writes name it.
 */
export async function gitbusInProcess(root: string, bin: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; input?: string | undefined; timeoutMs: number }): Promise<RunResult | null> {
  const why = process.env['GITBUS_TEST_SPAWN'] === '1' ? 'GITBUS_TEST_SPAWN=1' : asProcesses ? 'the file asks for processes' : abandoned !== null ? `${abandoned} may still run here` : null;
  if (why !== null) return spawned(args, why);
  if (!(await slotFree())) return spawned(args, 'another command ran here for longer than a moment');
  let whyNot: string | null = 'not decided';
  try {
    whyNot = await whyNotHere(root, args, opts.env);
  } finally {
    if (whyNot !== null) release();
  }
  if (whyNot !== null) return spawned(args, whyNot);
  const { runArgv } = await load(root);
  let stdout = '';
  let stderr = '';
  const saved = {
    argv: process.argv,
    env: { ...process.env },
    cwd: process.cwd(),
    exitCode: process.exitCode,
    streams: (['stdout', 'stderr', 'stdin'] as const).map((k) => [k, Object.getOwnPropertyDescriptor(process, k)] as const),
    listeners: WATCHED.map((e) => [e, process.listeners(e as 'SIGINT')] as const),
  };
  const input = Readable.from(opts.input === undefined || opts.input === '' ? [] : [Buffer.from(opts.input)]);
  Object.assign(input, { isTTY: false });
  let timer: NodeJS.Timeout | undefined;
  try {
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, opts.env);
    process.chdir(opts.cwd);
    process.argv = [process.execPath, bin, ...args];
    process.exitCode = undefined;
    define('stdout', capture((s) => (stdout += s)));
    define('stderr', capture((s) => (stderr += s)));
    define('stdin', input);
    const ran = runArgv().then(
      () => undefined,
      (err: unknown) => {
        // What Node prints for an error nothing caught, and its exit code.
        stderr += `${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`;
        process.exitCode = 1;
      },
    );
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), opts.timeoutMs)));
    if ((await Promise.race([ran, timedOut])) === 'timeout') {
      abandoned = `gitbus ${args.join(' ')}, which did not finish in its time,`;
      throw new Error(`gitbus ${args.join(' ')} (in the test's process) did not finish within ${opts.timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`);
    }
    const code = process.exitCode;
    return { code: typeof code === 'number' ? code : Number(code ?? 0) || 0, stdout, stderr };
  } finally {
    clearTimeout(timer);
    for (const [k, d] of saved.streams) if (d) Object.defineProperty(process, k, d);
    for (const [e, before] of saved.listeners) for (const l of process.listeners(e as 'SIGINT')) if (!before.includes(l)) process.removeListener(e, l);
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, saved.env);
    process.chdir(saved.cwd);
    process.argv = saved.argv;
    process.exitCode = saved.exitCode;
    release();
  }
}
