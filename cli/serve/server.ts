import { fork, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { FRAME, jsonFrame } from './frames.js';
import { socketPath } from './socket-path.js';
import { STANDBY_ENV, WARMUP_ENV } from './standby-env.js';

/**
 * The watcher's side of served commands (docs/ARCHITECTURE.md "Commands served by the watcher"): a Unix socket in
 * the bus home, and standby processes, each a `bin/gitbus.js` that has loaded the served commands and waits. A
 * client that connects is handed to a ready standby, which becomes that client's command; the next standby starts
 * when that command ends (so that it does not take the CPU from it), or a second later. The first standby starts
 * at the first client (which runs its command itself): a watcher whose node never runs a command costs nothing,
 * and one left unused for IDLE_MS is stopped, so an idle node does not keep a second process in memory. One standby
 * is kept ready, two while commands come in bursts (a client found none ready right behind a served command: a
 * script's loop, an agent's commands back to back), so that back-to-back commands are not served every other time.
 */

export type ServeEvent =
  | { type: 'serving'; socket: string }
  | { type: 'serve-off'; reason: string; fix?: string }
  /** How many standbys are ready, and how many the watcher keeps ready now (for --json readers and tests). */
  | { type: 'standbys'; ready: number; keep: number };

export interface Serving {
  /**
   * Stops serving; resolves once the commands standbys were running have ended (at most DRAIN_MS; `drain: false`:
   * at once). `keepSocket`: leave the socket's path alone, for a server whose home another took over (a watcher has
   * its own socket there, or is about to): the listening socket stays open, and the caller ends the process with
   * process.exit(), which does not remove the path as closing it or a natural exit would.
   */
  close(opts?: { keepSocket?: boolean; drain?: boolean }): Promise<void>;
  /** Whether the socket's path still holds this server's socket (false before it listens, and once replaced). */
  ownsSocket(): boolean;
}

export interface ServeOptions {
  /** Start the first standby at once, not at the first client (a server started because commands are coming). */
  eager?: boolean;
  /** Called for every client that connects, served or not (a server that stops when idle counts them). */
  onClient?: () => void;
}

/** A standby nobody used for this long is stopped (its memory given back); the next client starts another. */
const IDLE_MS = 10 * 60_000;
/** How long after a standby took a command the next one starts, if that command has not ended by then. */
const NEXT_AFTER_MS = 1000;
/** Standbys that end before being ready, in a row, after which serving stops (their stderr says why). */
const MAX_FAILURES = 3;
/** Standbys kept ready while commands come in bursts; one otherwise. */
const BURST_READY = 2;
/** How long a burst keeps the second standby wanted after its last miss (its own idle stop applies too). */
const BURST_MS = IDLE_MS;
/** How long a stopping watcher waits for the commands its standbys run (an agent's `dispatch --wait` among them). */
const DRAIN_MS = 30_000;

export function serveCommands(home: string, onEvent: (e: ServeEvent) => void, opts: ServeOptions = {}): Serving {
  try {
    return serve(home, onEvent, opts);
  } catch (err) {
    // Serving is a shortcut for commands; it never stops the watcher.
    const e = err as NodeJS.ErrnoException;
    onEvent({ type: 'serve-off', reason: `cannot serve commands: ${e.code ?? e.message}`, fix: 'check the permissions of the bus home; commands run in their own process meanwhile' });
    return { close: () => Promise.resolve(), ownsSocket: () => false };
  }
}

function serve(home: string, onEvent: (e: ServeEvent) => void, opts: ServeOptions): Serving {
  const sock = socketPath(home);
  const off: Serving = { close: () => Promise.resolve(), ownsSocket: () => false };
  if (sock === null) {
    onEvent({ type: 'serve-off', reason: `the home's path is too long for a Unix socket (${home})`, fix: 'use a shorter --home to have commands served' });
    return off;
  }
  const bin = binPath();
  if (bin === null) {
    onEvent({ type: 'serve-off', reason: 'bin/gitbus.js was not found beside this build' });
    return off;
  }
  const st = lstatSync(sock, { throwIfNoEntry: false });
  if (st !== undefined) {
    // The watcher lock (or a gitbus serve's serve.lock) is held: a socket there is a dead watcher's or server's, or a
    // server's the watcher just stopped. Anything else is not gitbus's to remove.
    if (!st.isSocket()) {
      onEvent({ type: 'serve-off', reason: `${sock} exists and is not a socket`, fix: `remove ${sock}, then restart the watcher or gitbus serve` });
      return off;
    }
    unlinkSync(sock);
  }
  /** Ready standbys, the one that waited longest first; each has its own idle timer. */
  const ready: { child: ChildProcess; idle: NodeJS.Timeout }[] = [];
  /** One standby loads at a time: two at once would take both cores from the command a client waits for. */
  let starting: ChildProcess | null = null;
  let failures = 0;
  let closed = false;
  let next: NodeJS.Timeout | undefined;
  let ownIno: number | undefined;
  let listening = false;
  /** Until when commands count as coming in a burst (the last miss after a take, + BURST_MS). */
  let burstUntil = 0;
  /** A standby was taken since one last became ready: a miss now is a command right behind a served one. */
  let tookSinceReady = false;
  /** Standbys running a client's command: a stopping watcher waits for them (they are in its process group's stead). */
  const running = new Set<ChildProcess>();

  const keep = () => (Date.now() < burstUntil ? BURST_READY : 1);
  const report = () => onEvent({ type: 'standbys', ready: ready.length, keep: keep() });
  const unready = (child: ChildProcess) => {
    const at = ready.findIndex((r) => r.child === child);
    if (at < 0) return false;
    clearTimeout(ready[at]?.idle);
    ready.splice(at, 1);
    return true;
  };

  const startStandby = () => {
    clearTimeout(next);
    if (closed || starting !== null || ready.length >= keep() || failures >= MAX_FAILURES) return;
    let stderr = '';
    // Detached: its own process group, so that a Ctrl-C or a hangup meant for the watcher's terminal does not end the
    // command a client runs in it (the watcher waits for those when it stops).
    const child = fork(bin, [], { env: { ...process.env, [STANDBY_ENV]: '1', [WARMUP_ENV]: join(home, 'standby') }, execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], detached: true });
    starting = child;
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-2000);
    });
    child.on('message', (m: unknown) => {
      const type = typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined;
      if (type === 'ready') {
        if (starting === child) {
          starting = null;
          failures = 0;
        }
        // As many as are wanted: one given back (it declined a client) while others became ready, or one after
        // close(), ends.
        if (closed || ready.length >= keep()) {
          child.kill();
          return;
        }
        const idle = setTimeout(() => {
          if (unready(child)) {
            child.kill();
            report();
          }
        }, IDLE_MS);
        idle.unref();
        ready.push({ child, idle });
        tookSinceReady = false;
        report();
        // The next one now, unless a client's command runs: then when it ends (as after a take).
        if (running.size === 0) startStandby();
      } else if (type === 'taken') {
        // It runs a client's command now: the next one starts when that ends, or a second later.
        if (child.connected) child.disconnect();
        child.unref();
        child.stderr?.destroy();
        running.add(child);
        tookSinceReady = true;
        clearTimeout(next);
        next = setTimeout(startStandby, NEXT_AFTER_MS);
        next.unref();
        child.once('exit', () => {
          running.delete(child);
          startStandby();
        });
      }
    });
    child.on('error', () => undefined);
    child.on('exit', (code, signal) => {
      if (unready(child)) report();
      if (starting !== child) return;
      starting = null;
      if (closed) return;
      failures++;
      if (failures >= MAX_FAILURES) {
        onEvent({ type: 'serve-off', reason: `the standby process ended before it was ready (${signal ?? `exit ${code}`})${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' / ')}` : ''}`, fix: 'run gitbus doctor; commands run in their own process meanwhile' });
      }
    });
  };

  const server: Server = createServer({ pauseOnConnect: true }, (conn: Socket) => {
    conn.on('error', () => undefined);
    opts.onClient?.();
    let taken = ready.shift();
    // One that went away without its exit seen yet (killed) is no use.
    while (taken !== undefined && !taken.child.connected) {
      clearTimeout(taken.idle);
      taken.child.kill();
      taken = ready.shift();
    }
    if (taken === undefined) {
      // This client runs its command itself; the next one finds a standby. A miss right behind a served command
      // (one was taken and its replacement is not ready yet) is a burst: keep two ready for a while. A miss while the
      // first standby loads is not: a node whose commands never come back to back loads one.
      if (tookSinceReady || running.size > 0) burstUntil = Date.now() + BURST_MS;
      conn.end(jsonFrame(FRAME.declined, { reason: 'no standby process was ready' }));
      startStandby();
      return;
    }
    clearTimeout(taken.idle);
    report();
    taken.child.send({ type: 'job' }, conn, (err) => {
      if (err) conn.destroy();
    });
    // Given back (`ready` again) if it declines; `taken` if it runs the command.
  });
  server.on('error', (err: NodeJS.ErrnoException) => {
    // Once listening, an error is one connection's (EMFILE on accept): the next client is served as usual.
    if (closed || listening) return;
    closed = true;
    onEvent({ type: 'serve-off', reason: `cannot listen on ${sock}: ${err.code ?? err.message}`, fix: 'commands run in their own process; check the home\'s permissions' });
    stopStandbys();
  });
  // Made with no access for others: the socket carries each command's environment.
  const mask = process.umask(0o177);
  try {
    server.listen(sock, () => {
      listening = true;
      try {
        ownIno = lstatSync(sock).ino;
        chmodSync(sock, 0o600);
      } catch {
        // The umask made it so already.
      }
      onEvent({ type: 'serving', socket: sock });
      if (opts.eager) startStandby();
    });
  } finally {
    process.umask(mask);
  }
  server.unref();

  /** The socket's path still holds the socket this server made (not another watcher's of this home, after its lock). */
  const ownsSocket = () => {
    try {
      return ownIno !== undefined && lstatSync(sock, { throwIfNoEntry: false })?.ino === ownIno;
    } catch {
      return false;
    }
  };
  const stopStandbys = () => {
    clearTimeout(next);
    for (const r of ready.splice(0)) {
      clearTimeout(r.idle);
      r.child.kill();
    }
    starting?.kill();
    starting = null;
  };
  return {
    ownsSocket,
    async close(how = {}) {
      if (closed) return;
      closed = true;
      stopStandbys();
      if (how.keepSocket) {
        // Node (libuv) removes a Unix socket's path when its server is closed, and when a process ends with one
        // open: by name, whichever socket is there now. Left open, for the caller to end with process.exit().
        return;
      }
      // Removes the socket's path too (libuv, by name).
      server.close();
      if (how.drain === false) return;
      // The commands standbys run end on their own; a service manager would end them with the watcher.
      const ends = [...running].map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()))));
      if (ends.length === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(ends), new Promise<void>((r) => (timer = setTimeout(r, DRAIN_MS)))]);
      clearTimeout(timer);
    },
  };
}

/** bin/gitbus.js of this install: two folders up from dist/cli/ (bundles) or three from dist/cli/serve/ (tsc). */
function binPath(): string | null {
  for (const rel of ['../../bin/gitbus.js', '../../../bin/gitbus.js']) {
    const p = join(import.meta.dirname, rel);
    if (existsSync(p)) return p;
  }
  return null;
}
