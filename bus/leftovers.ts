import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { HomePaths } from './home.js';
import { CLONE_LOCK_STALE_MS, isAlive } from './lock.js';
import { joinPlain } from './join-plain.js';

/**
 * Files a process killed mid-write (kill -9, OOM, power cut) leaves in a node's home: every write here goes to a
 * temp file renamed into place, so a kill leaves at most the temp file, never a damaged one. Nothing reads them,
 * but nothing would remove them either. A leftover older than this is no write in progress (those take
 * milliseconds) and goes, unless the process its name holds still runs; the home is on this machine, so its
 * mtimes are this machine's clock.
 */
export const LEFTOVER_AGE_MS = 60_000;

/**
 * Removes leftovers at the cheap places: the clone's top folder (ref temp files, fetch folders) and the queue's
 * temp files, one short listing each, done by every command (bus/context.ts). With `objects`, also the temp
 * objects in the clone's 256 fan-out folders, done by the watcher at start and daily. Returns what it removed.
 */
export function sweepLeftovers(paths: Pick<HomePaths, 'home' | 'clone'>, opts: { objects?: boolean; now?: number } = {}): string[] {
  const before = (opts.now ?? Date.now()) - LEFTOVER_AGE_MS;
  const removed: string[] = [];
  // `owner` finds the writer's pid in the name: a file of a process still running is its write in progress,
  // however slow, and is kept.
  // `maybe` is a cheap test every name `owner` matches passes, so that a listing without a leftover, the usual case,
  // runs no regular expression: V8 would compile each at every start (schemas/text-scan.ts).
  const sweep = (dir: string, owner: RegExp, maybe: (name: string) => boolean = () => true) => {
    for (const name of list(dir)) {
      if (!maybe(name)) continue;
      const m = owner.exec(name);
      const pid = m?.slice(1).find((g) => g !== undefined);
      if (pid === undefined || isAlive(Number(pid))) continue;
      const path = joinPlain(dir, name);
      try {
        if (statSync(path).mtimeMs >= before) continue;
        rmSync(path, { recursive: true, force: true });
        removed.push(path);
      } catch {
        // Renamed into place or removed by its owner meanwhile.
      }
    }
  };
  // The names as bus/store/local-ref.ts, bus/git/shallow.ts, bus/local-io.ts, bus/git/fetch.ts, bus/queue.ts and
  // bus/git/loose-object.ts make them.
  const tmp = (name: string) => name.endsWith('.tmp');
  sweep(paths.clone, /^(?:gitbus-ref-(\d+)-[0-9a-f]+\.tmp|shallow\.gitbus-(\d+)-[0-9a-z]+)$/, (name) => name.startsWith('gitbus-ref-') || name.startsWith('shallow.gitbus-'));
  sweep(paths.home, /\.(\d+)\.tmp$/, tmp);
  sweep(joinPlain(paths.clone, 'gitbus-incoming'), /^(\d+)-[0-9a-f]+$/);
  sweep(joinPlain(paths.home, 'queue'), /\.(\d+)-[0-9a-f]+\.tmp$/, tmp);
  // A lock file is created empty and its owner written just after: one killed in between stays empty, names no
  // one to ask, and (liveness.json.lock) costs every later command a wait. Held for microseconds, so an empty one
  // that old was left by a crash.
  for (const lock of [joinPlain(paths.home, 'liveness.json.lock'), joinPlain(paths.clone, 'shallow.lock')]) {
    try {
      const st = statSync(lock);
      if (st.size === 0 && st.mtimeMs < (opts.now ?? Date.now()) - CLONE_LOCK_STALE_MS) {
        rmSync(lock, { force: true });
        removed.push(lock);
      }
    } catch {
      // No lock: the usual case.
    }
  }
  if (opts.objects) {
    const objects = joinPlain(paths.clone, 'objects');
    for (const fan of list(objects)) if (/^[0-9a-f]{2}$/.test(fan)) sweep(join(objects, fan), /^tmp_obj_gitbus_(\d+)_/);
  }
  return removed;
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

