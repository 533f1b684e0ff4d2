import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ownRequire } from '../../schemas/own-require.js';

/**
 * Starts `gitbus serve --auto` for a home whose short commands come back to back while nothing serves them
 * (docs/ARCHITECTURE.md "Commands served without a watcher"): run by the loader for a command that could have been
 * served and was not because no watcher or server listens. A lone command starts nothing; the second within
 * WINDOW_MS of the one before does, as the process ends (so that the server's start does not take the CPU from the
 * command a person or an agent waits for). The server ends by itself after ten minutes without a command, so this
 * costs a machine that only now and then runs gitbus nothing, and one driven by an agent or Claude Code's hooks
 * a process and a standby (~120 MB) while commands come; one that cannot serve here is not started again for a
 * minute. GITBUS_SERVE_AUTO=0 turns it off.
 */

/** A command this soon after the previous unserved one starts a server. */
export const WINDOW_MS = 10 * 60_000;

/** A server is started at most once in this long (the time of the last start is `<home>/serve-started`'s). */
export const RESTART_MS = 60_000;

/** The file whose modification time is the last unserved command's (in the home, beside the socket). */
export function wantedMark(home: string): string {
  return join(home, 'serve-wanted');
}

/**
 * Notes an unserved command (the mark's time); true when the one before was within the window, so a server is
 * wanted. Never for a folder that is not a bus home (no node.yaml) or cannot be written, nor where a live watcher
 * holds the home.
 */
export function serverWanted(home: string, env: NodeJS.ProcessEnv, now = Date.now()): boolean {
  if (env['GITBUS_SERVE_AUTO'] === '0') return false;
  // Not a bus home (a project folder given as --home by mistake, a home not made yet): nothing is written in it.
  if (!existsSync(join(home, 'node.yaml'))) return false;
  const mark = wantedMark(home);
  let before: number;
  try {
    before = statSync(mark).mtimeMs;
    utimesSync(mark, now / 1000, now / 1000);
  } catch {
    try {
      // The first unserved command: remembered, nothing started. A home that does not exist yet fails here.
      writeFileSync(mark, '', { mode: 0o600 });
      utimesSync(mark, now / 1000, now / 1000);
    } catch {
      // Not a home this user may write: nothing to start.
    }
    return false;
  }
  if (now - before > WINDOW_MS || now < before) return false;
  // A watcher started with --no-serve holds the home: its node's commands stay unserved. (One that is gone, killed
  // and its lock left, holds nothing; `gitbus serve` checks the owner fully.)
  if (watcherAlive(home)) return false;
  // One started this recently and nothing serves: it could not serve here (a sandbox that refuses the socket, a
  // home on a file system without sockets), or is still loading. Not started again and again for every command.
  const started = join(home, 'serve-started');
  try {
    const at = statSync(started, { throwIfNoEntry: false })?.mtimeMs;
    if (at !== undefined && now - at < RESTART_MS && now >= at) return false;
    writeFileSync(started, '', { mode: 0o600 });
    utimesSync(started, now / 1000, now / 1000);
  } catch {
    return false;
  }
  return true;
}

/** Starts `gitbus serve --auto` for the home as this process exits. */
export function serveAtExit(home: string, bin: string, env: NodeJS.ProcessEnv): void {
  process.once('exit', () => {
    try {
      const { spawn } = ownRequire('node:child_process') as typeof import('node:child_process');
      // Its own session, no terminal and no pipe of this process's: nothing waits for it, nothing ends it with us.
      spawn(process.execPath, [bin, 'serve', '--auto', '--home', home], { detached: true, stdio: 'ignore', env }).unref();
    } catch {
      // Only a shortcut for the commands that come next.
    }
  });
}

/** Whether the home's watcher.lock names a process that exists (the loader's light check: no host or start time). */
function watcherAlive(home: string): boolean {
  let pid: unknown;
  try {
    pid = (JSON.parse(readFileSync(join(home, 'watcher.lock'), 'utf8')) as { pid?: unknown }).pid;
  } catch (err) {
    // No lock: no watcher. One being written this instant, or unreadable: taken as held.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: another user's process has that pid now; not this user's watcher.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH' && (err as NodeJS.ErrnoException).code !== 'EPERM';
  }
}
