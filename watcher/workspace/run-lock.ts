/**
 * One run at a time per worktree (or per claude session outside a project): two resumes of one session, or a
 * resume while a retried attempt of the task it resumes runs, would otherwise run two claudes on one session and
 * two writers in one working tree. The watcher is one process per home (watcher-lock.ts), so a lock in memory is
 * enough; the key carries the home, since tests run several watchers in one process.
 *
 * A run waits for the lock after its claim, holding its slot and keeping its claim alive by the watcher's
 * heartbeat; its timeout starts when its runner starts. A cancel or shutdown while it waits ends the wait.
 */
interface Holder {
  /** The task running there now. */
  id: string;
  waiters: { id: string; go: () => void }[];
}

const held = new Map<string, Holder>();

export type Release = () => void;

/**
 * Takes the lock `key` for task `id`: at once when free, else after the runs before it. `onWait` is told which
 * task holds it. Resolves null when `abort` fires while waiting (nothing is held then).
 */
export function acquireRunLock(key: string, id: string, abort: AbortSignal, onWait?: (holder: string) => void): Promise<Release | null> {
  const release = (): void => {
    const h = held.get(key);
    if (!h) return;
    const next = h.waiters.shift();
    if (!next) {
      held.delete(key);
      return;
    }
    h.id = next.id;
    next.go();
  };
  const h = held.get(key);
  if (!h) {
    held.set(key, { id, waiters: [] });
    return Promise.resolve(once(release));
  }
  if (abort.aborted) return Promise.resolve(null);
  onWait?.(h.id);
  return new Promise((resolve) => {
    const waiter = {
      id,
      go: () => {
        abort.removeEventListener('abort', onAbort);
        resolve(once(release));
      },
    };
    const onAbort = (): void => {
      const now = held.get(key);
      if (now) now.waiters = now.waiters.filter((w) => w !== waiter);
      resolve(null);
    };
    h.waiters.push(waiter);
    abort.addEventListener('abort', onAbort, { once: true });
  });
}

function once(f: () => void): Release {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    f();
  };
}

/** The lock of a project worktree of one home. */
export function worktreeLockKey(home: string, key: string): string {
  return `${home}\0worktree\0${key}`;
}

/** The lock of a claude session run outside a project (in the node's work root), of one home. */
export function sessionLockKey(home: string, session: string): string {
  return `${home}\0session\0${session}`;
}
