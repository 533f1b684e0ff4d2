import { join } from 'node:path';
import { isAlive, sleepSync } from '../../bus/lock.js';
import { liveOwner, takeOwnerLock, watcherLockPath } from '../../watcher/watcher-lock.js';
import { serveCommands, type ServeEvent } from './server.js';
import { AlreadyServedError } from './served-errors.js';

/**
 * A home's short commands served without a watcher (docs/ARCHITECTURE.md "Commands served without a watcher"):
 * `gitbus serve`, which the loader also starts on its own when commands come back to back on a node whose watcher
 * does not run (cli/serve/auto-start.ts). It is the watcher's server (cli/serve/server.ts) with a lifetime of its
 * own: it ends when no command came for `idleMs`, when a watcher starts on the home (the watcher stops it, and it
 * also looks), when its socket is gone (the home removed) or on a signal. One per home, by `<home>/serve.lock`.
 */

export type StandaloneEvent = ServeEvent | { type: 'stopped'; reason: StopReason };

/**
 * idle: no command for the idle time; watcher: a watcher took the home over (it serves the commands); no-serve: a
 * watcher started with --no-serve holds the home (its commands are not served); gone: the socket (or the home) was
 * removed; signal: SIGTERM or SIGINT; off: serving could not start.
 */
export type StopReason = 'idle' | 'watcher' | 'no-serve' | 'gone' | 'signal' | 'off';

/** How often the server looks at the watcher lock, its socket and the idle clock. */
const CHECK_MS = 2000;

export function serveLockPath(home: string): string {
  return join(home, 'serve.lock');
}

/**
 * Serves until one of the reasons to stop; resolves with it, and with `exitNow` when the caller must end the process
 * with process.exit() (the socket left open, see Serving.close). Throws AlreadyServedError when it is not needed.
 */
export async function serveUntilIdle(home: string, opts: { idleMs: number; stop: AbortSignal; onEvent: (e: StandaloneEvent) => void }): Promise<{ reason: StopReason; exitNow: boolean }> {
  const watcher = liveOwner(watcherLockPath(home));
  if (watcher !== null) throw new AlreadyServedError(home, watcher.serves === false ? 'no-serve' : 'watcher', watcher);
  const lock = takeOwnerLock(serveLockPath(home));
  if ('held' in lock) throw new AlreadyServedError(home, 'server', lock.held, serveLockPath(home));
  try {
    let last = Date.now();
    let off = false;
    let served = false;
    let resolveEnd: (r: StopReason) => void = () => undefined;
    const ended = new Promise<StopReason>((r) => (resolveEnd = r));
    const serving = serveCommands(
      home,
      (e) => {
        if (e.type === 'serving') served = true;
        if (e.type === 'serve-off') off = true;
        opts.onEvent(e);
      },
      { eager: true, onClient: () => (last = Date.now()) },
    );
    const check = () => {
      if (off) return resolveEnd('off');
      const holder = liveOwner(watcherLockPath(home));
      if (holder !== null) return resolveEnd(holder.serves === false ? 'no-serve' : 'watcher');
      if (served && !serving.ownsSocket()) return resolveEnd('gone');
      if (Date.now() - last >= opts.idleMs) return resolveEnd('idle');
    };
    const timer = setInterval(check, Math.min(CHECK_MS, opts.idleMs));
    const onAbort = () => resolveEnd('signal');
    opts.stop.addEventListener('abort', onAbort, { once: true });
    if (opts.stop.aborted) onAbort();
    const reason = await ended;
    clearInterval(timer);
    opts.stop.removeEventListener('abort', onAbort);
    // A watcher that took the home over has put its own socket there, or is about to, and the socket of a server
    // whose path was replaced is not this one's: left open, and the process ends with process.exit() (the caller's).
    // A watcher that does not serve makes no socket: this one's is removed as usual, so no client finds a dead one.
    const keepSocket = reason === 'watcher' || reason === 'gone' || servingWatcher(home);
    // The commands this server's standbys run need nothing of it: they go on after it ends.
    await serving.close({ keepSocket, drain: false });
    opts.onEvent({ type: 'stopped', reason });
    return { reason, exitNow: keepSocket };
  } finally {
    lock.release();
  }
}

/** A live watcher holds the home and serves it (an older one's lock does not say: it serves). */
function servingWatcher(home: string): boolean {
  const w = liveOwner(watcherLockPath(home));
  return w !== null && w.serves !== false;
}

/** How long a watcher waits for the server it stopped to end, before it kills it. */
const STOP_WAIT_MS = 2000;

/**
 * Stops this home's `gitbus serve`, if one runs, and waits for it to end (the watcher, before it serves the home
 * itself): a server ending while the watcher's socket is in place would remove its path (see Serving.close). Asked
 * with SIGTERM; killed after STOP_WAIT_MS (it holds nothing: the commands its standbys run go on). Synchronous, as
 * the watcher calls it while it holds its lock and before it serves. Returns the server's pid, or null.
 */
export function stopStandaloneServer(home: string): number | null {
  const owner = liveOwner(serveLockPath(home));
  if (owner === null || owner.pid === process.pid) return null;
  const pid = owner.pid;
  const waitGone = (ms: number) => {
    for (const until = Date.now() + ms; Date.now() < until; ) {
      if (!isAlive(pid)) return true;
      sleepSync(20);
    }
    return !isAlive(pid);
  };
  try {
    process.kill(pid, 'SIGTERM');
    if (!waitGone(STOP_WAIT_MS)) {
      process.kill(pid, 'SIGKILL');
      waitGone(STOP_WAIT_MS);
    }
  } catch {
    // Gone already.
  }
  return pid;
}
