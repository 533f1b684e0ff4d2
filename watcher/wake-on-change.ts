import { existsSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

/**
 * Wakes the watcher the moment something changes locally, instead of at the next poll: a push to a local bare
 * remote (its branch refs or packed-refs), or a commit any gitbus command on this node made in the node's
 * clone. Lock files are ignored; git renames them into place, which is the event that matters.
 *
 * The folders are watched with the kernel's file events (node:fs `watch`, inotify on Linux): each event is a wake
 * and nothing more. chokidar, which reads a watched folder again and stats its entries at every event to say what
 * changed, did that in every watcher process at every push of every node (eight watchers of no-op tasks on one remote:
 * 60-66 ms of CPU a task against 50-53 without it, issue 14, docs/PERFORMANCE.md "File events without chokidar").
 * The refs gitbus reads are `refs/heads/main` and `refs/heads/archive`, entries of the folder itself, so nothing
 * below it is watched. Network mounts deliver no kernel events: GITBUS_WATCH_POLL=1 polls them with chokidar, loaded
 * only then. Every command but the daemon, the web view's change feed and the Claude waiter waits for no file event.
 */

/** Watching that wakeOnChange set up: closed when its owner stops. */
export interface ChangeWatch {
  close: () => Promise<void>;
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

export async function wakeOnChange(paths: { clone: string; remote: string | null }, wake: () => void): Promise<ChangeWatch> {
  if (process.env['GITBUS_WATCH_POLL'] === '1') return pollForChanges(paths, wake);
  const watches: FSWatcher[] = [];
  for (const { dir, wakes } of targets(paths)) {
    // A folder that is not there (a remote away at the start) is watched once it is back: FileWatch.again.
    if (!existsSync(dir)) continue;
    let w: FSWatcher;
    try {
      // In place when watch() returns: a push after this is seen, so the first look need not wait for anything.
      w = watch(dir, (_event, name) => {
        // No name (a platform that does not say): something changed all the same.
        if (name === null || wakes(String(name))) wake();
      });
    } catch {
      // Gone between the check and the watch, or not a folder: the poll and FileWatch.again cover it.
      continue;
    }
    // The folder went away under the watch (an unmounted share): the watch ends; a look, which sees the outage, now.
    w.on('error', () => {
      w.close();
      wake();
    });
    watches.push(w);
  }
  return {
    close: async () => {
      for (const w of watches) w.close();
    },
  };
}

/** wakeOnChange by polling (GITBUS_WATCH_POLL=1): chokidar stats the refs at its interval. */
async function pollForChanges(paths: { clone: string; remote: string | null }, wake: () => void): Promise<ChangeWatch> {
  const { watch: watchFiles } = await import('chokidar');
  const dirs = targets(paths).map((t) => (t.dir === paths.remote ? join(t.dir, 'packed-refs') : t.dir));
  const w = watchFiles(
    dirs.filter((d) => d.startsWith(paths.clone) || existsSync(d)),
    { ignoreInitial: true, depth: 0, ignored: (path: string) => path.endsWith('.lock'), usePolling: true },
  );
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
  return { close: () => w.close() };
}

/** File watching that can be made anew (FileWatch.again) once a local remote is back from an outage. */
export interface FileWatch {
  /** Watches the folders of the remote and the clone anew: the file watching let go of the remote's when they went. */
  again: () => void;
  close: () => Promise<void>;
}

/**
 * wakeOnChange, made anew when `again` is called (a remote back from an outage: a mount back, a folder renamed away
 * and back; and one that was away when the watcher started was never watched). Resolves once the first is in place.
 */
export async function fileWatch(paths: { clone: string; remote: string | null }, wake: () => void, report: (err: unknown) => void): Promise<FileWatch> {
  let files: ChangeWatch | null = await wakeOnChange(paths, wake);
  let renewing: Promise<void> | null = null;
  let closed = false;
  return {
    again: () => {
      if (closed || renewing !== null) return;
      renewing = (async () => {
        const fresh = await wakeOnChange(paths, wake);
        // Closed meanwhile: close() closes what `files` holds once this ends, the new watch here.
        await files?.close();
        files = fresh;
      })()
        .catch(report)
        .finally(() => (renewing = null));
    },
    close: async () => {
      closed = true;
      await renewing;
      await files?.close();
      files = null;
    },
  };
}
