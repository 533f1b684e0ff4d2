import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { LockTimeoutError } from './errors.js';

/**
 * isomorphic-git takes no on-disk locks, so two processes writing one clone (the CLI and the watcher, or two
 * CLI commands) could interleave ref and object writes. Every operation on a node's clone holds this lock.
 * O_EXCL creation is atomic on local file systems; a lock whose process is gone (same host) is broken.
 */
export interface LockHandle {
  release(): Promise<void>;
}

interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

export async function acquireLock(path: string, timeoutMs = 30_000): Promise<LockHandle> {
  const started = Date.now();
  let delay = 2;
  for (;;) {
    try {
      // Synchronous: taken and released around every operation, and sync file calls are much cheaper here.
      const fd = openSync(path, 'wx');
      const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
      try {
        writeSync(fd, JSON.stringify(owner));
      } catch (err) {
        // A full disk: an empty lock file left behind would hold every later command up.
        closeSync(fd);
        rmSync(path, { force: true });
        throw err;
      }
      closeSync(fd);
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          rmSync(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await readOwner(path);
    if (owner && owner.host === hostname() && !isAlive(owner.pid)) {
      // The holder died without releasing; its work is either fully written or not referenced by any ref.
      rmSync(path, { force: true });
      continue;
    }
    const waited = Date.now() - started;
    if (waited >= timeoutMs) {
      throw new LockTimeoutError(path, owner ? `pid ${owner.pid} on ${owner.host} since ${owner.since}` : 'another process', waited);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 50);
  }
}

async function readOwner(path: string): Promise<LockOwner | null> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (parsed && typeof parsed === 'object' && 'pid' in parsed && 'host' in parsed) return parsed as LockOwner;
  } catch {
    // Being written right now, or removed: treat as held by someone unknown and poll again.
  }
  return null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function withLock<T>(path: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
  const lock = await acquireLock(path, timeoutMs);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
