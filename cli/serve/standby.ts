import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { buildIdentity } from '../bundle-identity.js';
import { COMMANDS, servedFor } from '../command-table.js';
import { invokedCommand } from '../invoked-command.js';
import { STANDBY_ENV, WARMUP_ENV } from './standby-env.js';
import { FRAME, FrameReader, inputErrorOf, OUTPUT_FRAME, encodeFrame, jsonFrame, parseRequest, type ServeRequest } from './frames.js';
import { START_ENV } from './start-env.js';
import { ownRequire } from '../../schemas/own-require.js';

// Loaded by a standby only: every command a CommonJS bundle runs goes through this module's top level
// (cli/main-cjs.ts), and node:stream with node:net cost a command in its own process ~7 M instructions (issue 14).
const stream = () => ownRequire('node:stream') as typeof import('node:stream');
const net = () => ownRequire('node:net') as typeof import('node:net');

/**
 * A standby process (docs/ARCHITECTURE.md "Commands served by the watcher"): the watcher forks `bin/gitbus.js` with
 * GITBUS_STANDBY=1 and an IPC channel; it loads the served commands' modules and waits. The watcher hands it the
 * socket of a client that connected; it reads the client's request, says whether it runs it, and on the client's
 * go-ahead becomes that client's command: its arguments, environment, working folder and umask, standard output
 * and error relayed on the socket, standard input read from it when the command asks. It runs one command and
 * exits, as the client's own process would have, so nothing of one command is left for the next.
 */

export { STANDBY_ENV };


/** The warm-up bus is made anew once it holds this many tasks (one more per standby). */
const WARMUP_TASKS = 50;

/**
 * Runs status, dispatch and show on a bus of the standby's own, output discarded: a command's first run in a
 * process costs ~4x its next (V8 compiles and sizes what it runs the first time), and that first run is then this
 * one, not the client's. Nothing of the node's own bus is touched. Whatever fails here only costs the speed.
 */
async function warmUp(dir: string, start: Start): Promise<void> {
  const saved = { argv: process.argv, exitCode: process.exitCode };
  const sink = new (stream().Writable)({ write: (_c, _e, cb) => cb() });
  define('stdout', sink);
  define('stderr', sink);
  const run = async (...args: string[]) => {
    process.argv = [saved.argv[0] as string, saved.argv[1] as string, ...args, '--home', dir];
    try {
      await start();
    } catch {
      // A warm-up that fails warms less.
    }
  };
  try {
    // The home was removed (the node is gone): making the warm-up bus would bring a folder of it back.
    if (!existsSync(dirname(dir))) return;
    const made = existsSync(join(dir, 'node.yaml')) && existsSync(join(dir, 'standby-tasks'));
    const pending = made ? readdirSync(join(dir, 'standby-tasks'), { withFileTypes: false }).length : 0;
    if (!made || pending >= WARMUP_TASKS) {
      rmSync(dir, { recursive: true, force: true });
      await run('init', '--remote', join(dir, 'remote.git'), '--node', 'standby');
      mkdirSync(join(dir, 'standby-tasks'), { recursive: true });
    }
    const id = `standby-${process.pid}-${Date.now().toString(36)}`;
    await run('dispatch', 'warm-up', '--id', id, '--no-git', '--json');
    writeFileSync(join(dir, 'standby-tasks', id), '');
    await run('status', '--json');
    await run('status');
    await run('show', id);
  } catch {
    // As above.
  } finally {
    process.argv = saved.argv;
    process.exitCode = saved.exitCode;
  }
}

/** How long a client that connected may take to send its request, and its go-ahead. */
const CLIENT_TIMEOUT_MS = 5000;

type Start = () => Promise<void>;

export async function standby(start: Start): Promise<void> {
  delete process.env[STANDBY_ENV];
  const startEnv = startEnvOf(process.env);
  const here = import.meta.dirname;
  const build = `${process.version}-${process.arch}-${buildIdentity(here)}`;
  // What registerCommand imports for a served command (cli/program.ts), initialised now rather than while a client
  // waits.
  await Promise.all([...COMMANDS.filter((c) => c.served).map((c) => c.load()), import('../../bus/remote.js'), import('../passphrase-prompt.js')]);
  const scratch = process.env[WARMUP_ENV];
  delete process.env[WARMUP_ENV];
  if (scratch) await warmUp(scratch, start);
  const send = (m: unknown) => process.send?.(m);
  // The watcher went away before giving this process a command: nothing to do.
  process.on('disconnect', () => {
    if (!taken) process.exit(0);
  });
  let taken = false;
  process.on('message', (m: unknown, handle: unknown) => {
    if (taken || !(handle instanceof net().Socket) || typeof m !== 'object' || m === null || (m as { type?: unknown }).type !== 'job') {
      if (handle instanceof net().Socket) handle.destroy();
      return;
    }
    taken = true;
    void take(handle, build, startEnv, start).then((ran) => {
      if (ran === 'spent') process.exit(0);
      if (ran) return;
      // Declined before anything changed here: ready for the next client.
      taken = false;
      send({ type: 'ready' });
    });
  });
  send({ type: 'ready' });
}

/** What the process took from the environment at its start (START_ENV), as one comparable string. */
function startEnvOf(env: NodeJS.ProcessEnv | Record<string, string>): string {
  return JSON.stringify(START_ENV.map((k) => env[k] ?? null));
}

/**
 * True once the command runs (this process is then the client's); false when it was declined and nothing changed;
 * 'spent' when it was declined and this process should give way to a new one (another build is installed).
 */
function take(socket: Socket, build: string, startEnv: string, start: Start): Promise<boolean | 'spent'> {
  return new Promise((resolve) => {
    const reader = new FrameReader();
    let req: ServeRequest | null = null;
    let phase: 'request' | 'go' | 'running' = 'request';
    const decline = (reason: string, spent = false) => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.end(jsonFrame(FRAME.declined, { reason }), () => resolve(spent ? 'spent' : false));
      if (!spent) resolve(false);
    };
    const timer = setTimeout(() => {
      if (phase === 'request') decline('no request');
      // Accepted but no go-ahead: the client gave up (and runs the command itself); this process was told nothing.
      else if (phase === 'go') process.exit(0);
    }, CLIENT_TIMEOUT_MS);
    // The command's standard input: asked of the client when the command first reads it (most never do).
    let inputAsked = false;
    // A terminal is read only while the command reads it, as a process's own stdin stops reading when paused (a
    // prompt answered): what is typed after it stays for the shell, and the standby may end. Paused, it is asked
    // again only on resume(): a stream reads ahead after a push (read(0)) even when paused.
    let inputPaused = false;
    const askInput = () => {
      if (inputAsked || inputPaused || phase !== 'running') return;
      inputAsked = true;
      // Waiting for input keeps this process alive, as a read of its own standard input would.
      socket.ref();
      socket.write(encodeFrame(FRAME.wantInput, Buffer.alloc(0)));
    };
    const input: Readable = new (stream().Readable)({ read: askInput });
    input.on('pause', () => {
      if (req?.stdin.isTTY !== true) return;
      inputPaused = true;
      if (!inputAsked || socket.destroyed) return;
      inputAsked = false;
      socket.unref();
      socket.write(encodeFrame(FRAME.pauseInput, Buffer.alloc(0)));
    });
    input.on('resume', () => {
      if (!inputPaused) return;
      inputPaused = false;
      askInput();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      // The client went away while its command runs: a hangup, as for a process whose terminal closed.
      if (phase === 'running' && !exitSent) process.kill(process.pid, 'SIGHUP');
      if (phase === 'go') process.exit(0);
      if (phase === 'request') {
        clearTimeout(timer);
        resolve(false);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = reader.push(chunk);
      } catch {
        if (phase === 'request') decline('not gitbus frames');
        return;
      }
      for (const f of frames) {
        if (phase === 'request') {
          if (f.kind !== FRAME.request) return decline('no request');
          req = parseRequest(f.data);
          if (req === null) return decline('a request this build cannot read');
          // The watcher forks bin/gitbus.js as it is on disk: after an upgrade, the next standby is the new build.
          if (req.build !== build) return decline('another build of gitbus', true);
          if (startEnvOf(req.env) !== startEnv) return decline(`the environment differs in what Node reads at start (${START_ENV.join(', ')})`);
          if (!sameFolder(req.cwd, req.cwdId)) return decline('the working folder is not the same folder here');
          // Only what a client of this build asks for: a served command (a long-lived one would hold the standby).
          const entry = invokedCommand(req.argv);
          if (entry === undefined || !servedFor(entry, req.argv)) return decline('not a served command');
          phase = 'go';
          // From here this process is spent: the watcher starts another.
          process.send?.({ type: 'taken' });
          socket.write(jsonFrame(FRAME.accepted, { pid: process.pid }));
          continue;
        }
        if (phase === 'go') {
          if (f.kind !== FRAME.go || req === null) process.exit(0);
          phase = 'running';
          clearTimeout(timer);
          resolve(true);
          // Done with its input (read to the end, or left by the command): it no longer keeps this process alive.
          input.once('close', () => socket.unref());
          input.once('end', () => socket.unref());
          run(req, socket, start, input);
          continue;
        }
        if (f.kind === FRAME.input) input.push(f.data);
        else if (f.kind === FRAME.inputEnd) input.push(null);
        else if (f.kind === FRAME.inputError) input.destroy(inputErrorOf(f.data));
        else if (f.kind === FRAME.signal) raise(f.data);
      }
    });
  });
}

/** Whether `cwd` here is the folder the client is in (`dev:ino` from its stat). */
function sameFolder(cwd: string, id: string): boolean {
  try {
    const st = statSync(cwd, { bigint: true });
    return st.isDirectory() && `${st.dev}:${st.ino}` === id;
  } catch {
    return false;
  }
}

/** The exit code went to the client: the socket closing after it is this process's own end, not a hangup. */
let exitSent = false;

function raise(data: Buffer): void {
  let sig: unknown;
  try {
    sig = (JSON.parse(data.toString('utf8')) as { signal?: unknown }).signal;
  } catch {
    return;
  }
  if (sig !== 'SIGINT' && sig !== 'SIGTERM' && sig !== 'SIGHUP') return;
  // To the standby's process group (it leads one: forked detached), as a terminal signals its foreground group: the
  // git and ssh processes the command started end with it, as they would in the client's own process.
  try {
    process.kill(-process.pid, sig);
  } catch {
    process.kill(process.pid, sig);
  }
}

/** Becomes the client's process and runs its command. */
function run(req: ServeRequest, socket: Socket, start: Start, input: Readable): void {
  if (process.connected) process.disconnect?.();
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, req.env);
  process.umask(req.umask);
  try {
    process.chdir(req.cwd);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    socket.write(encodeFrame(FRAME.stderr, `gitbus: cannot run in ${req.cwd}: ${e.code ?? e.message}\n`));
    socket.end(jsonFrame(FRAME.exit, { code: 1 }));
    return;
  }
  process.argv = [process.argv[0] as string, process.argv[1] as string, ...req.argv];
  const out = relayStream(socket, FRAME.stdout, req.stdout);
  const err = relayStream(socket, FRAME.stderr, req.stderr);
  Object.defineProperty(input, 'isTTY', { value: req.stdin.isTTY });
  if (req.stdin.isTTY) terminalModes(input, socket);
  define('stdout', out);
  define('stderr', err);
  define('stdin', input);
  const end = (code: number) => {
    if (exitSent) return;
    exitSent = true;
    socket.end(jsonFrame(FRAME.exit, { code }));
  };
  process.on('uncaughtException', (e: unknown) => {
    const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
    const last = Buffer.concat([encodeFrame(FRAME.stderr, `${text}\n`), jsonFrame(FRAME.exit, { code: 1 })]);
    exitSent = true;
    // A process whose state an uncaught error left unknown stops at once, as a process of its own would: nothing
    // pending (a ref update, a push) may run after the client was told it failed. Written synchronously when
    // nothing is queued before it on the socket, else within a second.
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (socket.writableLength === 0 && typeof fd === 'number' && fd >= 0) {
      try {
        writeSync(fd, last);
      } catch {
        // The client is gone: nothing to tell.
      }
      process.exit(1);
    }
    socket.end(last, () => process.exit(1));
    setTimeout(() => process.exit(1), 1000);
  });
  // The socket does not keep this process alive: like the client's own process, it ends when the command has
  // nothing left to do; 'beforeExit' then sends the exit code, and the write keeps it alive until sent.
  socket.unref();
  void start();
  process.on('beforeExit', () => {
    const code = process.exitCode;
    end(typeof code === 'number' ? code : Number(code ?? 0) || 0);
  });
}

/**
 * What a prompt does to a terminal (`setRawMode`: keys one by one, no echo, for a passphrase), done to the client's:
 * the client sets its terminal as asked, and back when the command ends.
 */
function terminalModes(input: Readable, socket: Socket): void {
  const tty = Object.assign(input, {
    isRaw: false,
    setRawMode(raw: boolean) {
      tty.isRaw = raw;
      if (!socket.destroyed) socket.write(jsonFrame(FRAME.rawMode, { raw }));
      return tty;
    },
  });
}

function define(name: 'stdout' | 'stderr' | 'stdin', stream: unknown): void {
  Object.defineProperty(process, name, { configurable: true, enumerable: true, get: () => stream });
}

/** Standard output or error as the client has it: frames on the socket, written in the order the command writes. */
export function relayStream(socket: Socket, kind: number, tty: { isTTY: boolean; columns?: number }): Writable {
  const out = new (stream().Writable)({
    write(chunk: Buffer, _enc, cb) {
      if (socket.destroyed || socket.writableEnded) {
        const e: NodeJS.ErrnoException = new Error('write EPIPE');
        e.code = 'EPIPE';
        cb(e);
        return;
      }
      for (let at = 0; at < chunk.length || at === 0; at += OUTPUT_FRAME) socket.write(encodeFrame(kind, chunk.subarray(at, at + OUTPUT_FRAME)));
      cb();
    },
  });
  Object.assign(out, { isTTY: tty.isTTY, ...(tty.columns !== undefined ? { columns: tty.columns } : {}) });
  return out;
}
