import { closeSync, linkSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { removeFile } from './remove-file.js';
import { LockTimeoutError } from './errors.js';
import { StaleLockJudge } from './stale-lock.js';
import { monotonicMs } from './monotonic.js';
import { osHostname } from '../schemas/node-os.js';

/**
 * The clone lock guards only short read-modify-write steps on local files of a node's home (the shallow list,
 * liveness.json): never network I/O. Objects are content-addressed and written by atomic rename, refs are
 * replaced by atomic rename, so fetches and pushes of several processes of one node run side by side
 * (docs/ARCHITECTURE.md "Concurrency on one node"). A holder keeps it for microseconds, so a lock that stays
 * unchanged for seconds was left by a crash and is broken, judged by this process's own clock only.
 */
export interface LockHandle {
  release(): Promise<void>;
}

interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

/** A lock unchanged for this long (by this process's monotonic clock) was left by a process that died. */
export const CLONE_LOCK_STALE_MS = 10_000;

export async function acquireLock(path: string, timeoutMs = 30_000): Promise<LockHandle> {
  const started = monotonicMs();
  const judge = new StaleLockJudge(CLONE_LOCK_STALE_MS);
  let delay = 1;
  for (;;) {
    // Synchronous: taken and released around a few file operations, and sync file calls are much cheaper here.
    if (createLockFile(path)) {
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          removeFile(path);
        },
      };
    }
    const owner = readOwner(path);
    if (owner && owner.host === osHostname() && !isAlive(owner.pid)) {
      // The holder died without releasing; its work is either fully written or not referenced by any ref.
      removeFile(path);
      continue;
    }
    // An empty or unreadable lock (a crash between create and write), or one whose holder we cannot ask: broken
    // once it has stayed exactly as it is for longer than any holder keeps it.
    if (judge.isStale(path)) {
      removeFile(path);
      continue;
    }
    const waited = monotonicMs() - started;
    if (waited >= timeoutMs) {
      throw new LockTimeoutError(path, owner ? `pid ${owner.pid} on ${owner.host} since ${owner.since}` : 'another process', Math.round(waited));
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 50);
  }
}

function readOwner(path: string): LockOwner | null {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (parsed && typeof parsed === 'object' && 'pid' in parsed && 'host' in parsed) return parsed as LockOwner;
  } catch {
    // Being written right now, removed, or left empty by a crash: the stale-lock judge decides.
  }
  return null;
}

/** Whether a process of this machine is alive (EPERM: alive, just not ours). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A process killed and not yet reaped (a zombie, where PID 1 reaps late, as in containers) answers the signal
  // but holds nothing: a watcher killed with -9 kept the next one from starting until it was reaped.
  return !isZombie(pid);
}

/** Whether `pid` is a zombie, on Linux (its /proc stat's state is Z); false where that cannot be read. */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return false;
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ")".
  return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z';
}

export async function withLock<T>(path: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
  const lock = await acquireLock(path, timeoutMs);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/**
 * For a read-modify-write of one small local file that synchronous code does (liveness.json): taken for
 * microseconds, so a holder is waited for briefly; one that holds it longer is dead or stuck, and the work then
 * goes ahead without it, since the file is replaced atomically and a lost update only delays a judgement.
 */
/** Blocks this thread for `ms` (a synchronous wait for another process, where no event can say when it is done). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function withLocalLockSync<T>(path: string, fn: () => T, waitMs = 2_000): T {
  const end = monotonicMs() + waitMs;
  for (;;) {
    let got: boolean;
    try {
      got = createLockFile(path);
    } catch {
      return fn(); // a full disk or a read-only home: the lock is an optimisation here
    }
    if (got) {
      try {
        return fn();
      } finally {
        removeFile(path);
      }
    }
    const owner = readOwner(path);
    if (owner && owner.host === osHostname() && !isAlive(owner.pid)) {
      removeFile(path);
    } else if (monotonicMs() >= end) {
      // Nobody holds a lock this long: an empty one (left by an older gitbus) goes, and the work goes ahead.
      if (!owner) removeFile(path);
      return fn();
    } else {
      sleepSync(1);
    }
  }
}

/**
 * Creates the lock file exclusively with its owner already in it, so that a process killed at any moment never
 * leaves an empty lock behind: the owner goes to a temp file first, which is then hard-linked to the lock's
 * name (as exclusive as an O_EXCL create). Where the file system has no hard links: an exclusive create, then
 * the write. False when the lock is held; a full disk is thrown. `owner`: what the file says (the watcher lock's
 * owner has more in it: watcher/watcher-lock.ts).
 */
export function createLockFile(path: string, owner = JSON.stringify({ pid: process.pid, host: osHostname(), since: new Date().toISOString() })): boolean {
  // Math.random, not crypto: the name only has to differ from another writer's (the pid already does on this
  // host), and every `status` takes a lock, where loading node:crypto was ~12 M instructions of its start.
  const tmp = `${path}.${process.pid}.${Math.floor(Math.random() * 0x1000000).toString(16).padStart(6, '0')}.tmp`;
  try {
    writeFileSync(tmp, owner);
    linkSync(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
  } finally {
    removeFile(tmp);
  }
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, owner);
  } catch (err) {
    closeSync(fd);
    removeFile(path);
    throw err;
  }
  closeSync(fd);
  return true;
}
