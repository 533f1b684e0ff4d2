import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';

/**
 * Writes to standard output or error with a write to the file descriptor, not through process.stdout's or stderr's
 * stream, while they are Node's own (issue 14, session 42). Making the stream is most of what printing costs a
 * short command: for a pipe (an agent, Claude Code or `$(...)` reading the output) it is a net.Socket, which loads
 * node:net and its modules (~6 ms of CPU in a script that loads nothing else, ~3 ms in a `dispatch`, which has
 * loaded the stream modules for node:zlib); for a file or /dev/null a SyncWriteStream (~1.5 ms); for a terminal a
 * tty.WriteStream, node:net and node:tty (docs/PERFORMANCE.md "Fewer scavenges and page faults").
 *
 * It writes what the stream would, in the same order and as synchronously: Node's streams for files, pipes and
 * terminals write synchronously on Linux (and for files everywhere); on Windows the stream is kept (its console
 * writes are the stream's own). A descriptor that cannot take the bytes now (EAGAIN: a pipe a parent process made
 * non-blocking) or refuses them for another reason hands the rest, and all later output, to the stream, which
 * waits or fails as it always did. A reader that went away (EPIPE) ends the command quietly for standard output
 * (as a command killed by SIGPIPE would: Node ignores the signal) and drops what is left for standard error.
 *
 * A process.stdout someone defined (a watcher's standby relays a served command's output over its socket,
 * cli/serve/standby.ts; the tests capture it) is written through as before: Node defines its own as a getter named
 * getStdout (getStderr), and any other is someone else's.
 */
export function writeStd(name: StdName, data: string | Uint8Array): void {
  if (gone[name]) return;
  if (streamed[name] || process.platform === 'win32' || !nodesOwn(name)) return viaStream(name, data);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const r = writeAll(FD[name], bytes);
  if (r.error === undefined) return;
  if (r.error === 'EPIPE') {
    gone[name] = true;
    return readerGone(name);
  }
  if (r.error !== undefined && TERMINAL_GONE.has(r.error)) {
    gone[name] = true;
    return;
  }
  streamed[name] = true;
  viaStream(name, bytes.subarray(r.written));
}

/**
 * process.stdout or stderr for code that writes through the stream itself (the MCP SDK's transport, `gitbus mcp`):
 * a reader that went away ends the command as it does for writeStd's own writes, not with an unhandled 'error'
 * event. writeStd writes through the stream from then on, so that it never overtakes what the stream has queued.
 */
export function stdStream(name: StdName): NodeJS.WriteStream {
  streamed[name] = true;
  return guardedStream(name);
}

/** Writes `bytes` to `fd` whole, or up to the error that stopped it (its code, and how much went before it). */
export function writeAll(fd: number, bytes: Uint8Array): { written: number; error?: string } {
  let at = 0;
  try {
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    return { written: at };
  } catch (err) {
    return { written: at, error: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
}

export type StdName = 'stdout' | 'stderr';

const FD: Record<StdName, number> = { stdout: 1, stderr: 2 };
const NODE_GETTER: Record<StdName, string> = { stdout: 'getStdout', stderr: 'getStderr' };

/** Output went to the stream once: the rest follows it there, so that nothing overtakes what it has not written. */
const streamed: Record<StdName, boolean> = { stdout: false, stderr: false };

function nodesOwn(name: StdName): boolean {
  return Object.getOwnPropertyDescriptor(process, name)?.get?.name === NODE_GETTER[name];
}

/**
 * A terminal that hung up (the window or SSH session closed): writes to it fail with EIO (ENXIO once it is gone).
 * What is left for it is dropped, and the process goes on: a watcher stopping on the SIGHUP still releases its tasks.
 */
const TERMINAL_GONE = new Set(['EIO', 'ENXIO']);

/** The descriptor's reader went away (EPIPE): what is left for it is dropped. */
const gone: Record<StdName, boolean> = { stdout: false, stderr: false };
let exiting = false;

function readerGone(name: StdName): void {
  if (name !== 'stdout' || exiting) return;
  exiting = true;
  // On the next tick, as when the stream reported it: the write is often an error's --json document, and what the
  // command does after it (its line on standard error, setting its exit code: `process.exitCode =
  // reportError(...)`) must still happen, or a failed command would end silently with 0.
  process.nextTick(() => process.exit());
}

/** The streams the EPIPE handler was added to: a served command's standby gets new ones for each command. */
const guarded: Record<StdName, unknown> = { stdout: undefined, stderr: undefined };

/**
 * Everything written so far went to the file descriptors, none through a stream: no write can still be pending, and
 * the process may end at once (process.exit(), which does not wait for a stream's queue to drain on a pipe).
 */
export function wroteToDescriptorsOnly(): boolean {
  return guarded.stdout === undefined && guarded.stderr === undefined;
}

function viaStream(name: StdName, data: string | Uint8Array): void {
  guardedStream(name).write(data);
}

function guardedStream(name: StdName): NodeJS.WriteStream {
  const stream = process[name];
  if (guarded[name] !== stream) {
    guarded[name] = stream;
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== undefined && TERMINAL_GONE.has(err.code)) {
        gone[name] = true;
        return;
      }
      if (err.code !== 'EPIPE') throw err;
      readerGone(name);
    });
  }
  return stream;
}

/**
 * After a hangup (SIGHUP: the terminal or SSH session a daemon ran in closed): nothing more is written to the
 * terminal, and the standard descriptors that were it are put on /dev/null. Node restores the terminal's settings
 * as it exits and, up to v20, aborts (SIGABRT) when the terminal is gone (nodejs/node#51519); it leaves alone a
 * descriptor that names another file by then. A descriptor that is no terminal (a file, a pipe) is left as it is.
 */
export function leaveTerminal(): void {
  for (const fd of [0, 1, 2]) {
    try {
      if (!fstatSync(fd).isCharacterDevice()) continue;
      if (fd > 0) gone[fd === 1 ? 'stdout' : 'stderr'] = true;
      closeSync(fd);
      // The lowest free descriptor: this one, just closed, unless a file opened by another thread (libuv's pool) took
      // it in between; then that file keeps it, and nothing of gitbus writes there (gone, above).
      const again = openSync('/dev/null', fd === 0 ? 'r' : 'w');
      if (again !== fd) closeSync(again);
    } catch {
      // Already closed, or /dev/null missing: nothing better to do.
    }
  }
}
