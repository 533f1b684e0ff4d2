import type { FSWatcher } from 'chokidar';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Wakes the watcher the moment something changes locally, instead of at the next poll: a push to a local bare
 * remote (its branch refs or packed-refs), or a commit any gitbus command on this node made in the node's
 * clone. Lock files are ignored; git renames them into place, which is the event that matters. chokidar is
 * loaded here, by the daemon only: `watch --once` and every other command never wait for events.
 */
/** How long the watcher's first look waits for file watching to be in place. */
const READY_WITHIN_MS = 10_000;

export async function wakeOnChange(paths: { clone: string; remote: string | null }, wake: () => void): Promise<FSWatcher> {
  const { watch: watchFiles } = await import('chokidar');
  const targets = [join(paths.clone, 'refs', 'heads')];
  if (paths.remote) {
    for (const p of [join(paths.remote, 'refs', 'heads'), join(paths.remote, 'packed-refs')]) if (existsSync(p)) targets.push(p);
  }
  const w = watchFiles(targets, {
    ignoreInitial: true,
    depth: 2,
    ignored: (path: string) => path.endsWith('.lock'),
    // Network mounts deliver no inotify events: poll them (GITBUS_WATCH_POLL=1 forces it).
    usePolling: process.env['GITBUS_WATCH_POLL'] === '1',
  });
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
  return w;
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
  let files: FSWatcher | null = await wakeOnChange(paths, wake);
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
