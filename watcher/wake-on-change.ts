import { existsSync, watch, type FSWatcher } from 'node:fs';
import { basename, join } from 'node:path';
import { FileEventsUnavailableError } from './errors.js';
import type { WatchEvent } from './watch-events.js';

/**
 * Wakes the watcher the moment something changes locally, instead of at the next poll: a push to a local bare
 * remote (its branch refs or packed-refs), or a commit any gitbus command on this node made in the node's
 * clone. Lock files are ignored; git renames them into place, which is the event that matters.
 *
 * The folders are watched with the kernel's file events (node:fs `watch`, inotify on Linux): each event is a wake
 * and nothing more. chokidar, which reads a watched folder again and stats its entries at every event to say what
 * changed, did that in every watcher process at every push of every node (eight watchers of no-op tasks on one remote:
 * 68-85 ms of CPU a task against 52-72 without it, issue 14, docs/PERFORMANCE.md "File events without chokidar").
 * The refs gitbus reads are `refs/heads/main` and `refs/heads/archive`, entries of the folder itself, so nothing
 * below it is watched. Network mounts deliver no kernel events: GITBUS_WATCH_POLL=1 polls them with chokidar, loaded
 * only then. Every command but the daemon, the web view's change feed and the Claude waiter waits for no file event.
 */

/** Watching that wakeOnChange set up: closed when its owner stops. */
export interface ChangeWatch {
  close: () => Promise<void>;
  /** The folders it would watch that were not there (a remote away): FileWatch.recheck watches them once they are. */
  missing: readonly string[];
}

/** What a watch tells its owner besides wakes. */
export interface WatchHooks {
  /** A folder could not be watched for a reason other than its absence (the kernel's limit on watches). */
  onError?: (err: FileEventsUnavailableError) => void;
  /**
   * A watched folder was deleted or moved away (a remote replaced by a copy, or made anew): the watch follows the
   * folder it was made on, so the owner watches the path anew (FileWatch.again).
   */
  onGone?: () => void;
}

/** How long the first look waits for chokidar's polling to be in place. */
const READY_WITHIN_MS = 10_000;

/** The folders watched and, for each, which entry names wake (every name but git's lock files, or only some). */
function targets(paths: { clone: string; remote: string | null }): { dir: string; wakes: (name: string) => boolean }[] {
  const ref = (name: string) => !name.endsWith('.lock');
  const out = [{ dir: join(paths.clone, 'refs', 'heads'), wakes: ref }];
  // packed-refs is an entry of the repository's own folder (git pack-refs, gc): of that folder, only it wakes.
  if (paths.remote) out.push({ dir: join(paths.remote, 'refs', 'heads'), wakes: ref }, { dir: paths.remote, wakes: (name) => name === 'packed-refs' });
  return out;
}

export async function wakeOnChange(paths: { clone: string; remote: string | null }, wake: () => void, hooks: WatchHooks = {}): Promise<ChangeWatch> {
  if (process.env['GITBUS_WATCH_POLL'] === '1') return pollForChanges(paths, wake);
  const watches: FSWatcher[] = [];
  const missing: string[] = [];
  for (const { dir, wakes } of targets(paths)) {
    const w = watchFolder(dir, wakes, wake, hooks);
    if (w === 'missing') missing.push(dir);
    else if (w) watches.push(w);
  }
  return {
    missing,
    close: async () => {
      for (const w of watches) w.close();
    },
  };
}

/**
 * One folder's watch; 'missing' when it is not there (a remote away: FileWatch.recheck and again watch it later), as
 * the watch itself found, not a check after it that a folder moved in meanwhile would answer otherwise; null when
 * it could not be watched for another reason (said through `onError`).
 */
function watchFolder(dir: string, wakes: (name: string) => boolean, wake: () => void, hooks: WatchHooks): FSWatcher | 'missing' | null {
  let w: FSWatcher;
  try {
    // In place when watch() returns: a push after this is seen, so the first look need not wait for anything.
    w = watch(dir, (_event, name) => {
      // The folder itself deleted or moved away is reported under its own name: a wake (the look sees an outage),
      // and the path watched anew, whatever is there now (a folder made anew may have the old one's inode number).
      // An entry of the same name (a branch called "heads") costs one renewal more, which makes no event.
      if (name !== null && String(name) === basename(dir)) {
        hooks.onGone?.();
        wake();
        return;
      }
      // No name (a platform that does not say): something changed all the same.
      if (name === null || wakes(String(name))) wake();
    });
  } catch (err) {
    // Gone between the check and the watch, or not a folder: the poll and FileWatch.again cover it. Any other
    // failure (ENOSPC: the kernel's limit on watches) leaves this folder to the poll, and is said.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    hooks.onError?.(new FileEventsUnavailableError(dir, code ?? String(err)));
    return null;
  }
  // Not expected on Linux, where a deleted folder is an event under its own name; elsewhere the watch ends here.
  w.on('error', () => {
    w.close();
    hooks.onGone?.();
    wake();
  });
  return w;
}

/** wakeOnChange by polling (GITBUS_WATCH_POLL=1): chokidar stats the refs at its interval. */
async function pollForChanges(paths: { clone: string; remote: string | null }, wake: () => void): Promise<ChangeWatch> {
  const { watch: watchFiles } = await import('chokidar');
  // Of the remote, only what is there: chokidar given a path that is not polls none of the others. A packed-refs
  // made later (git pack-refs, gc) deletes the loose ref it packs, which wakes all the same.
  const polled = targets(paths).map((t) => (t.dir === paths.remote ? join(t.dir, 'packed-refs') : t.dir));
  const w = watchFiles(polled.filter((p) => p.startsWith(join(paths.clone, 'refs')) || existsSync(p)), { ignoreInitial: true, depth: 0, ignored: (path: string) => path.endsWith('.lock'), usePolling: true });
  for (const event of ['add', 'change', 'unlink'] as const) w.on(event, () => wake());
  // Until chokidar's first scan is done its watches are not all in place: a push then is missed until the next poll
  // (minutes) unless the watcher's first look comes after it. So the first look waits for the scan (bounded: a slow
  // mount must not hold the watcher), and anything pushed before it is what that look reads.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, READY_WITHIN_MS);
    timer.unref();
    w.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { close: () => w.close(), missing: [] };
}

/** File watching that can be made anew (FileWatch.again) once a local remote is back from an outage. */
export interface FileWatch {
  /** Watches the folders of the remote and the clone anew: a folder replaced, or away when last watched. */
  again: () => void;
  /** After a look that reached the remote: watches anew when a folder that was not there when last watched is now. */
  recheck: () => void;
  close: () => Promise<void>;
}

/**
 * wakeOnChange, made anew when `again` is called (a remote back from an outage: a mount back, a folder renamed away
 * and back; and one that was away when the watcher started was never watched), when a watched folder is gone, and
 * at `recheck` when one that was away is back. Resolves once the first is in place. A folder that cannot be watched
 * is said once (`unavailable`) until it is watched again, and left to the poll.
 */
export async function fileWatch(paths: { clone: string; remote: string | null }, wake: () => void, report: (err: unknown) => void, unavailable: (err: FileEventsUnavailableError) => void = report): Promise<FileWatch> {
  let renewing: Promise<void> | null = null;
  /** Asked for while a renewal ran (a poll's first scan takes a while): one more renewal after it. */
  let pending = false;
  let closed = false;
  /** What was said unavailable, by folder and why: said again only after that folder was watched (not merely away). */
  let said = new Map<string, string>();
  const renew = async (): Promise<ChangeWatch> => {
    const now = new Map<string, string>();
    const fresh = await wakeOnChange(paths, wake, {
      onGone: again,
      onError: (err) => {
        const folder = String(err.data['folder']);
        const key = `${folder}\0${String(err.data['why'])}`;
        now.set(key, folder);
        if (!said.has(key)) unavailable(err);
      },
    });
    for (const [key, folder] of said) if (fresh.missing.includes(folder)) now.set(key, folder);
    said = now;
    return fresh;
  };
  function again(): void {
    if (closed) return;
    if (renewing !== null) {
      pending = true;
      return;
    }
    renewing = (async () => {
      const fresh = await renew();
      // Closed meanwhile: close() closes what `files` holds once this ends, the new watch here.
      await files?.close();
      files = fresh;
    })()
      .catch(report)
      .finally(() => {
        renewing = null;
        if (pending) {
          pending = false;
          again();
        }
      });
  }
  let files: ChangeWatch | null = await renew();
  return {
    again,
    recheck: () => {
      // A renewal under way may have looked before the folder came back: one more after it.
      if (renewing !== null) pending = true;
      else if (files?.missing.some((dir) => existsSync(dir))) again();
    },
    close: async () => {
      closed = true;
      await renewing;
      await files?.close();
      files = null;
    },
  };
}

/** The watcher's event for a folder it could not watch (printed as a warning with its fix). */
export function unavailableEvent(err: FileEventsUnavailableError): Extract<WatchEvent, { type: 'file-events-unavailable' }> {
  return { type: 'file-events-unavailable', folder: String(err.data['folder']), why: String(err.data['why']), message: err.message, fix: err.fix };
}
