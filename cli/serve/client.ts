import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Socket } from 'node:net';
import { servedFor, type CommandEntry } from '../command-table.js';
import { FRAME, FrameReader, encodeFrame, jsonFrame, type ServeRequest } from './frames.js';
import { socketPath } from './socket-path.js';
import { ServedCommandLostError } from './served-errors.js';
import { firstLine } from '../../schemas/errors.js';
import { EXIT } from '../exit.js';
import { writeStd, wroteToDescriptorsOnly } from '../std-write.js';
import { ownRequire } from '../../schemas/own-require.js';
import { nodeOs, osHomedir } from '../../schemas/node-os.js';
import { isPrefixAndDigits } from '../../schemas/text-scan.js';

// node:tty (and node:net, which it loads) only once a command is served: a command that runs in its own process
// with its output in a file or a pipe needs neither (issue 14).
const isatty = (fd: number): boolean => (ownRequire('node:tty') as typeof import('node:tty')).isatty(fd);

/**
 * The client of a command served by the watcher (docs/ARCHITECTURE.md "Commands served by the watcher"), run by the
 * loader before it reads any bundle: when this home's watcher listens on `<home>/cli.sock`, the command runs in a
 * standby process the watcher started ahead (its modules loaded already), and this process only relays the
 * command line, the environment and the working folder there and its output back. Anything short of the standby
 * accepting the command runs it here, as if there were no watcher: the socket is an optimisation, never a
 * dependency.
 */

/** How long the watcher may take to hand the command to its standby before this process runs it itself. */
const ACCEPT_TIMEOUT_MS = 1000;
/** How long after forwarding a signal this process waits for the served command to end, before it ends itself. */
const SIGNAL_GRACE_MS = 5000;

export type ServeOutcome = { served: true; pid: number } | { served: false; reason: string };

/** Why the command cannot be served, before any socket is opened; null when it may be. */
export function notServable(entry: CommandEntry, args: readonly string[], env: NodeJS.ProcessEnv, execArgv: readonly string[] = process.execArgv): string | null {
  if (!servedFor(entry, args)) return 'not a served command';
  if (env['GITBUS_SERVE'] === '0') return 'GITBUS_SERVE=0';
  // The standby runs with the watcher's Node options; a process started with others (an --inspect, a --require)
  // asked for them.
  if (execArgv.length > 0 || (env['NODE_OPTIONS'] ?? '') !== '') return 'Node options are set';
  return namesOwnDescriptor(args);
}

/**
 * Why the command line needs the descriptors of the process that typed it, or null. A file read by its path
 * (`--body-file -` reads file descriptor 0): another process's is not the client's. `--from -` reads process.stdin,
 * which a standby relays. A shell's `<(...)` names another of the client's descriptors (`/dev/fd/63`), which
 * another process would open as its own.
 */
export function namesOwnDescriptor(args: readonly string[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const value = arg.startsWith('--') && arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : arg;
    const fromStdin = (arg === '-' && args[i - 1] === '--from') || arg === '--from=-';
    if (STDIN_PATHS.has(value) && !fromStdin) return 'standard input named as a file';
    if (DESCRIPTOR_FOLDERS.some((folder) => isPrefixAndDigits(value, folder))) return 'a file descriptor named as a file';
  }
  return null;
}

const STDIN_PATHS = new Set(['-', '/dev/stdin', '/dev/fd/0', '/proc/self/fd/0']);
/**
 * Paths that open one of the opening process's own descriptors (Linux, the BSDs and macOS): a number in one of these
 * folders, `/^\/(dev\/fd|proc\/self\/fd|proc\/thread-self\/fd)\/\d+$/` without compiling it (schemas/text-scan.ts).
 */
const DESCRIPTOR_FOLDERS = ['/dev/fd/', '/proc/self/fd/', '/proc/thread-self/fd/'];


/**
 * Why a command that could be served runs in its own process anyway: it starts from its code cache there, sooner than
 * a served one (issue 14, docs/PERFORMANCE.md "Served only where it is sooner"). A served command pays for node:net
 * (~1.7 ms to load, ~1 ms for its first connection), the hand-over to the standby and the go-ahead, four wake-ups of
 * three processes, and its standby's run on a bus it has not read yet; since session 56 a command's own process,
 * started from its code cache, ends 1.4-4.9 ms sooner on the development machine (`status`, `dispatch --to`, the
 * hook). Where the cache cannot be used (a sandbox that may not write the cache folder, GITBUS_CODE_CACHE=0) the own
 * process runs the ES module build (`status` ~88 ms against ~36 ms served), and serving is what makes it short.
 * GITBUS_SERVE=1 serves whenever a standby is ready.
 */
export function ownProcessSooner(env: NodeJS.ProcessEnv, cacheUsable: boolean): string | null {
  return cacheUsable && env['GITBUS_SERVE'] !== '1' ? OWN_PROCESS_SOONER : null;
}

export const OWN_PROCESS_SOONER = 'its own process starts from its code cache, sooner than a served one (GITBUS_SERVE=1 serves it anyway)';

/** Why a command was not served when nothing listens for this home: no watcher and no `gitbus serve` runs. */
export const NOT_SERVED = 'nothing serves this home (no watcher or gitbus serve runs)';

/** Whether a reason the command was not served means nothing listens: no socket, or a dead process's (refused). */
export function nothingListens(reason: string): boolean {
  return reason === NOT_SERVED || reason === socketReason('ECONNREFUSED');
}

/** Why a command runs here when connecting failed: the socket's error code. */
function socketReason(code: string): string {
  return `the socket: ${code}`;
}

/** The bus home the command line names (`--home`, else GITBUS_HOME, else ~/.gitbus), as bus/home.ts resolves it. */
export function homeOf(args: readonly string[], env: NodeJS.ProcessEnv): string | null {
  let explicit: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') break;
    if (arg === '--home' && i + 1 < args.length) explicit = args[i + 1];
    else if (arg.startsWith('--home=')) explicit = arg.slice('--home='.length);
  }
  const chosen = explicit ?? env['GITBUS_HOME'];
  if (chosen !== undefined && chosen !== '') return resolve(chosen);
  try {
    return join(osHomedir(), '.gitbus');
  } catch {
    return null;
  }
}

/**
 * The socket, when it may be trusted with this process's environment: a socket owned by this user, in a home owned
 * by this user that nobody else may write to (who can replace the socket can read every secret sent to it).
 */
export function trustedSocket(home: string): string | { reason: string } {
  const sock = socketPath(home);
  if (sock === null) return { reason: 'the home path is too long for a socket' };
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  try {
    const st = lstatSync(sock, { throwIfNoEntry: false });
    if (st === undefined) return { reason: NOT_SERVED };
    if (!st.isSocket() || st.uid !== uid) return { reason: `${sock} is not this user's socket` };
    // The folder itself, through a link (`~/.gitbus -> /data/gitbus`): openFolder below checks every folder the path
    // and its links pass, so whoever may replace the link is looked at there.
    const dir = statSync(home, { throwIfNoEntry: false });
    if (dir === undefined || !dir.isDirectory() || dir.uid !== uid || (dir.mode & 0o022) !== 0) return { reason: `${home} may be written by others` };
    const open = openFolder(home, uid);
    if (open !== null) return { reason: `${open} may be written by others` };
    return sock;
  } catch (err) {
    // A home that is a file (ENOTDIR), or a folder this user may not read: the command says what is wrong with it.
    return { reason: socketReason((err as NodeJS.ErrnoException).code ?? String(err)) };
  }
}

/**
 * The first folder the path to the home goes through that someone other than this user or root may change: who can
 * rename entries in it can put another home, and another socket, in this one's place between the checks above and
 * the connection. The path is followed one name at a time, through every link (a link is replaced by whoever may
 * write the folder it is in), so each folder it passes is looked at, those a link leads through too. A folder
 * others may write to is safe when it is sticky (`/tmp`): they may not rename what is not theirs. A group-writable
 * folder is not trusted, even of a group of one (this would need the group's members).
 */
function openFolder(path: string, uid: number): string | null {
  const passed = new Set<string>();
  let at = '/';
  let names = path.split('/');
  for (let links = 0; names.length > 0; ) {
    const name = names.shift() as string;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      at = dirname(at);
      continue;
    }
    passed.add(at);
    const next = join(at, name);
    if (!lstatSync(next).isSymbolicLink()) {
      at = next;
      continue;
    }
    // As the kernel: a bounded number of links (ELOOP past 40).
    if (++links > 40) return next;
    const target = readlinkSync(next);
    if (target.startsWith('/')) at = '/';
    names = [...target.split('/'), ...names];
  }
  for (const dir of passed) {
    const st = statSync(dir);
    if ((st.uid !== uid && st.uid !== 0) || ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0)) return dir;
  }
  return null;
}

/**
 * Asks the watcher's standby to run the command. `runHere` is called, once, when it will not (no socket, no
 * standby ready, another build, a refused connection): nothing of the command has run then. Once the standby has
 * accepted, this process relays until it ends and exits with its code.
 */
export function serveOrRun(sock: string, args: string[], build: string, runHere: (reason: string) => void, onServed: (pid: number) => void): void {
  const net = ownRequire('node:net') as typeof import('node:net');
  const socket: Socket = net.connect(sock);
  let state: 'asking' | 'running' | 'done' = 'asking';
  const fallBack = (reason: string) => {
    if (state !== 'asking') return;
    state = 'done';
    clearTimeout(timer);
    socket.destroy();
    runHere(reason);
  };
  const timer = setTimeout(() => fallBack('the watcher did not answer in time'), ACCEPT_TIMEOUT_MS);
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (state === 'asking') fallBack(socketReason(err.code ?? err.message));
  });
  socket.on('connect', () => {
    let req: ServeRequest;
    try {
      req = request(args, build);
    } catch (err) {
      // A working folder that was removed: the command says so in its own process.
      return fallBack(`the request: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    socket.write(jsonFrame(FRAME.request, req));
  });
  const reader = new FrameReader();
  let exitCode: number | null = null;
  let printed = false;
  let forwarded: NodeJS.Signals | null = null;
  let standby = 0;
  let giveUp: NodeJS.Timeout | undefined;
  // A standby that does not end after the signal (its event loop held, or stopped) must not hold this process: a
  // signal is a request to end, and timeout(1) or a service manager sent it to this one.
  const stopWaiting = (sig: NodeJS.Signals, why: string) => {
    state = 'done';
    for (const s of signals) process.off(s, onSignal);
    rawMode(false);
    writeErr(Buffer.from(`gitbus: the served command did not end ${why}; this process stops waiting for it (the watcher's process ${standby} may still be running it: see "gitbus status")\n`));
    socket.destroy();
    // After a hangup, by the signal: process.exit would set back a terminal that is gone (below). Else its exit code.
    if (sig === 'SIGHUP') dieBy(sig);
    else process.exit(128 + (nodeOs().constants.signals[sig] ?? 0));
  };
  const onSignal = (sig: NodeJS.Signals) => {
    // A hangup comes twice (the kernel's, and the shell's to its jobs): the second is the same request, not another.
    if (forwarded === 'SIGHUP' && sig === 'SIGHUP') return;
    if (forwarded !== null) return stopWaiting(sig, `after ${forwarded}, and ${sig} followed`);
    forwarded = sig;
    socket.write(jsonFrame(FRAME.signal, { signal: sig }));
    giveUp = setTimeout(() => stopWaiting(sig, `within ${SIGNAL_GRACE_MS / 1000} s of ${sig}`), SIGNAL_GRACE_MS);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  socket.on('data', (chunk: Buffer) => {
    let frames;
    try {
      frames = reader.push(chunk);
    } catch {
      if (state === 'asking') return fallBack('the socket spoke no gitbus frames');
      // Running: what was sent cannot be read on; the command's end is unknown, and said so.
      exitCode = null;
      forwarded = null;
      socket.destroy();
      return;
    }
    for (const f of frames) {
      if (state === 'asking') {
        if (f.kind === FRAME.declined) return fallBack(reasonOf(f.data));
        if (f.kind !== FRAME.accepted) return fallBack('the socket spoke no gitbus frames');
        state = 'running';
        clearTimeout(timer);
        for (const s of signals) process.on(s, onSignal);
        // A reader that stops early (`gitbus status | head -1`) ends this process quietly, as a command run here
        // does (cli/std-write.ts).
        // The go-ahead: the standby runs nothing until it has it, so a client that gave up waiting (and runs the
        // command itself) can never have it run twice.
        socket.write(encodeFrame(FRAME.go, Buffer.alloc(0)));
        standby = pidOf(f.data);
        onServed(standby);
        continue;
      }
      if (f.kind === FRAME.stdout) {
        printed = true;
        writeStd('stdout', f.data);
      }
      else if (f.kind === FRAME.stderr) writeErr(f.data);
      else if (f.kind === FRAME.wantInput) relayInput(socket, () => onSignal('SIGHUP'));
      else if (f.kind === FRAME.pauseInput) pauseInput();
      else if (f.kind === FRAME.rawMode) rawMode(json(f.data)['raw'] === true);
      else if (f.kind === FRAME.exit) exitCode = codeOf(f.data);
    }
  });
  socket.on('close', () => {
    if (state !== 'running') return;
    state = 'done';
    clearTimeout(giveUp);
    for (const s of signals) process.off(s, onSignal);
    // A prompt cut short (the standby killed) leaves no terminal without echo.
    rawMode(false);
    // Made only when the command read it: making process.stdin costs a process milliseconds at its end.
    if (inputRelayed) process.stdin.destroy();
    if (exitCode !== null) {
      process.exitCode = exitCode;
      // Ended now rather than when Node finds nothing left: its own end after the socket closed took ~1-1.5 ms more
      // of every served command (issue 14, docs/PERFORMANCE.md "The loader's and the bundle's own start"). Not when
      // output went through a stream, whose writes to a pipe may still be queued.
      if (wroteToDescriptorsOnly()) process.exit();
      return;
    }
    if (forwarded !== null) {
      // The standby ended without an exit code after the signal this process was sent: end the same way.
      dieBy(forwarded);
      return;
    }
    const lost = new ServedCommandLostError();
    // A script reads the outcome from standard output under --json, as from any failed command (cli/output.ts);
    // after what the command printed there, a second document would only break its reader.
    if (args.includes('--json') && !printed) writeStd('stdout', `${JSON.stringify({ error: { code: lost.code, message: firstLine(lost), fix: lost.fix, data: lost.data } }, null, 2)}\n`);
    writeErr(Buffer.from(`gitbus: ${lost.message}\n`));
    process.exitCode = EXIT.local;
  });
}

function request(args: string[], build: string): ServeRequest {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  // process.umask() reads by setting: set it back at once (a deprecated form reads without a second call).
  const umask = process.umask(0o022);
  process.umask(umask);
  // The streams are made only for a terminal (for its width): process.stderr's costs a command that prints no error.
  const tty = (fd: number, s: () => NodeJS.WriteStream) => (isatty(fd) ? { isTTY: true, ...(s().columns ? { columns: s().columns } : {}) } : { isTTY: false });
  const cwd = process.cwd();
  // The folder's identity: a standby that reaches another folder by that path (a bind mount, a sandbox) declines.
  const st = statSync(cwd, { bigint: true });
  return { v: 1, argv: args, cwd, cwdId: `${st.dev}:${st.ino}`, env, umask, build, stdout: tty(1, () => process.stdout), stderr: tty(2, () => process.stderr), stdin: { isTTY: isatty(0) } };
}

let inputRelayed = false;
/**
 * Relays standard input as the command reads it. `hungUp` is called instead of relaying its end when the input was a
 * terminal that hung up: its end is then no Ctrl-D, and the command must not go on with what was typed so far (a
 * process of its own dies of the SIGHUP that comes a moment after the end, before it can use it).
 */
function relayInput(socket: Socket, hungUp: () => void): void {
  // Asked again after a prompt was answered (a terminal is read only while the command reads it).
  if (inputRelayed) {
    process.stdin.resume();
    return;
  }
  inputRelayed = true;
  const terminal = isatty(0);
  // A hung-up terminal is no longer a terminal to isatty (its ioctls fail with EIO).
  const hungUpNow = () => terminal && !isatty(0);
  process.stdin.on('data', (d: Buffer) => socket.write(encodeFrame(FRAME.input, d)));
  process.stdin.on('end', () => (hungUpNow() ? hungUp() : socket.write(encodeFrame(FRAME.inputEnd, Buffer.alloc(0)))));
  // A failed read is not an end: the command would take what came so far for all of it (a batch cut short).
  process.stdin.on('error', (err: NodeJS.ErrnoException) => (hungUpNow() ? hungUp() : socket.write(jsonFrame(FRAME.inputError, { code: err.code ?? 'EIO', message: err.message }))));
}

/**
 * Ends this process by `sig`, as its own command would have ended (its handlers for it are off by now). Not by
 * process.exit: Node then sets a terminal back as it found it, which fails on one that hung up, and aborts the process.
 */
function dieBy(sig: NodeJS.Signals): void {
  process.kill(process.pid, sig);
  // Where the signal is ignored (started under nohup): its exit code.
  setTimeout(() => process.exit(128 + (nodeOs().constants.signals[sig] ?? 0)), 100);
}

/** The command stopped reading its terminal: so does this process, and what is typed next stays for the shell. */
function pauseInput(): void {
  if (inputRelayed) process.stdin.pause();
}

let raw = false;
/** The client's terminal in raw mode, as the command's prompt asked, or back (only ever a terminal's, and only back once). */
function rawMode(on: boolean): void {
  if (on === raw || !isatty(0)) return;
  const stdin = process.stdin as NodeJS.ReadStream;
  try {
    stdin.setRawMode(on);
    raw = on;
  } catch {
    // A terminal gone (hung up): nothing to set.
  }
}

function writeErr(data: Buffer): void {
  writeStd('stderr', data);
}

function json(data: Buffer): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(data.toString('utf8'));
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function reasonOf(data: Buffer): string {
  const r = json(data)['reason'];
  return typeof r === 'string' ? r : 'declined';
}

function pidOf(data: Buffer): number {
  const p = json(data)['pid'];
  return typeof p === 'number' ? p : 0;
}

function codeOf(data: Buffer): number {
  const c = json(data)['code'];
  return typeof c === 'number' && Number.isInteger(c) && c >= 0 && c < 256 ? c : 1;
}
