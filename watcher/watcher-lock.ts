import { createLockFile, isAlive } from '../bus/lock.js';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { WatcherRunningError } from './errors.js';

/**
 * One watcher per home: `<home>/watcher.lock` names the watcher that owns the home. A second one would "recover"
 * the first one's runs (kill them and release their claims), so it is refused instead. Created with O_EXCL;
 * broken only when its owner is provably gone: same host, and that pid is dead or is now another process (its
 * start time differs, where the system tells it: Linux /proc).
 */
export interface WatcherOwner {
  pid: number;
  host: string;
  /** When the watcher started (ISO time). */
  since: string;
  /** How it was started: `systemd service`, `launchd service` or `foreground`. */
  how: string;
  /** The process's start time as the kernel counts it (Linux: clock ticks after boot), to survive pid reuse. */
  startTicks: number | null;
  /** A watcher: whether it serves the home's short commands (false: `--no-serve`, `--once`). Absent: it does (older). */
  serves?: boolean;
}

export interface WatcherLock {
  release(): void;
}

export function watcherLockPath(home: string): string {
  return join(home, 'watcher.lock');
}

export function acquireWatcherLock(home: string, env: NodeJS.ProcessEnv = process.env, serves?: boolean): WatcherLock {
  const path = watcherLockPath(home);
  const taken = takeOwnerLock(path, env, serves === undefined ? {} : { serves });
  if ('held' in taken) throw new WatcherRunningError(home, path, taken.held);
  return taken;
}

/**
 * Takes a lock file naming its owner (this process), as the watcher lock is taken; `held` names the live owner that
 * has it instead (null when its file cannot be read). Also the lock of a home's command server (cli/serve/standalone.ts).
 */
export function takeOwnerLock(path: string, env: NodeJS.ProcessEnv = process.env, more: Pick<WatcherOwner, 'serves'> = {}): WatcherLock | { held: WatcherOwner | null } {
  const me: WatcherOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString(), how: howStarted(env), startTicks: processStartTicks(process.pid), ...more };
  for (let tries = 0; ; tries++) {
    // Made with its owner already in it (bus/lock.ts): a full disk or a crash leaves no empty lock, which would name
    // no owner and be taken for one being written this instant.
    if (createLockFile(path, JSON.stringify(me))) {
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          // Only our own lock: never remove one a successor took after ours was (wrongly) broken.
          if (readOwner(path)?.pid === me.pid) rmSync(path, { force: true });
        },
      };
    }
    const owner = readOwner(path);
    // Unreadable: being written by a watcher starting this instant (or garbage); one retry tells which.
    if (owner === null && tries === 0) continue;
    // Unreadable and old (left empty by an older gitbus on a full disk, or written by hand): no process writes it.
    if (owner === null && tries < 3 && unreadableFor(path) > UNREADABLE_STALE_MS) {
      rmSync(path, { force: true });
      continue;
    }
    if (owner !== null && ownerGone(owner)) {
      rmSync(path, { force: true });
      if (tries < 3) continue;
    }
    return { held: owner };
  }
}

/** A lock file that cannot be read this long after it was written is no process's being written. */
const UNREADABLE_STALE_MS = 10_000;

function unreadableFor(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** The owner named in a lock file while it is alive on this host (pid and start time), else null. */
export function liveOwner(path: string): WatcherOwner | null {
  const owner = readOwner(path);
  return owner !== null && owner.host === hostname() && !ownerGone(owner) ? owner : null;
}

function ownerGone(owner: WatcherOwner): boolean {
  if (owner.host !== hostname()) return false;
  if (owner.pid === process.pid) return false;
  if (!isAlive(owner.pid)) return true;
  const ticks = processStartTicks(owner.pid);
  return owner.startTicks !== null && ticks !== null && ticks !== owner.startTicks;
}

export function readOwner(path: string): WatcherOwner | null {
  try {
    const o: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (o && typeof o === 'object' && typeof (o as WatcherOwner).pid === 'number' && typeof (o as WatcherOwner).host === 'string') {
      const w = o as Partial<WatcherOwner> & { pid: number; host: string };
      return { pid: w.pid, host: w.host, since: typeof w.since === 'string' ? w.since : '?', how: typeof w.how === 'string' ? w.how : '?', startTicks: typeof w.startTicks === 'number' ? w.startTicks : null, ...(typeof w.serves === 'boolean' ? { serves: w.serves } : {}) };
    }
  } catch {
    // missing, or being written
  }
  return null;
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised name, which may itself hold spaces). Null elsewhere. */
export function processStartTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(fields[19]);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

/**
 * systemd sets INVOCATION_ID for the processes of a unit, launchd sets XPC_SERVICE_NAME to the job's label; a
 * terminal started by either passes them on to its shells, so a process with a terminal is in the foreground.
 */
export function howStarted(env: NodeJS.ProcessEnv, tty = Boolean(process.stdout.isTTY || process.stdin.isTTY)): string {
  if (tty) return 'foreground, in a terminal';
  if (env['INVOCATION_ID']) return 'systemd service';
  const xpc = env['XPC_SERVICE_NAME'];
  if (xpc && xpc !== '0') return `launchd service ${xpc}`;
  return 'foreground';
}
