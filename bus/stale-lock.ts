import { statSync } from 'node:fs';
import { monotonicMs } from './monotonic.js';

/**
 * Decides that a lock file was abandoned using one clock only: this process's monotonic clock. A lock is stale
 * when the same file (same inode, size and modification time) has been seen for longer than `staleMs`.
 *
 * Comparing a file's mtime with `Date.now()` would compare two clocks: on a shared mount the mtime comes from the
 * file server, so a node whose clock runs ten minutes fast would break a live lock at once, and one running slow
 * would wait on a dead lock for ten minutes more. Watching the file itself needs no clock but ours.
 */
export class StaleLockJudge {
  private readonly seen = new Map<string, { identity: string; since: number }>();

  constructor(private readonly staleMs: number) {}

  /** True when `path` is the same file it was `staleMs` ago (by this process's clock); false if gone or new. */
  isStale(path: string, now = monotonicMs()): boolean {
    let identity: string;
    try {
      const st = statSync(path);
      identity = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      this.seen.delete(path);
      return false;
    }
    const prev = this.seen.get(path);
    if (!prev || prev.identity !== identity) {
      this.seen.set(path, { identity, since: now });
      return false;
    }
    if (now - prev.since < this.staleMs) return false;
    this.seen.delete(path);
    return true;
  }
}
