import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { joinPlain } from '../join-plain.js';

/**
 * The file handling the node's own caches share (the parse cache, the status digests): each is only ever a faster
 * way to what the node could compute again, so every failure here costs speed, never correctness, and is quiet.
 */

/** A temp file older than this was left by a writer that died before its rename. */
export const TEMP_MAX_AGE_MS = 60_000;

/** The file's bytes, or null when it cannot be read (missing, removed by a prune meanwhile). */
export function readCacheFile(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}

/**
 * Writes `dir/name` through `.<stem>.<pid>.<random>.tmp` and a rename, so that a reader sees a whole file or none.
 * No fsync: a file a crash left damaged fails its checksum and is written again. False when it cannot be written
 * (full disk, read-only home).
 */
export function writeCacheFile(dir: string, name: string, bytes: Uint8Array): boolean {
  const stem = name.replace(/\.[a-z]+$/, '');
  const temp = join(dir, `.${stem}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(temp, bytes, { flag: 'wx', mode: 0o600 });
    renameSync(temp, joinPlain(dir, name));
    return true;
  } catch {
    // A write cut short (a full disk) leaves its temp file: gone now, not at the next writer's clean-up a minute on.
    removeCacheFile(temp);
    return false;
  }
}

/** The names in `dir` (none when it cannot be listed). */
export function cacheNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Those of `names` (in `dir`) that `pick` accepts, newest first: by mtime, then name, so the order is everyone's. */
export function newestFirst(dir: string, names: readonly string[], pick: (name: string) => boolean): { name: string; mtime: number }[] {
  const out: { name: string; mtime: number }[] = [];
  for (const name of names) {
    if (!pick(name)) continue;
    try {
      out.push({ name, mtime: statSync(joinPlain(dir, name)).mtimeMs });
    } catch {
      // Pruned by another process meanwhile.
    }
  }
  return out.sort((a, b) => b.mtime - a.mtime || (a.name < b.name ? -1 : 1));
}

/** Removes the temp files among `names` (matching `temp`) that writers which died before their rename left. */
export function removeDeadTemps(dir: string, names: readonly string[], temp: RegExp, now = Date.now()): void {
  for (const name of names) {
    if (!temp.test(name)) continue;
    try {
      if (now - statSync(join(dir, name)).mtimeMs > TEMP_MAX_AGE_MS) removeCacheFile(join(dir, name));
    } catch {
      // Renamed or removed meanwhile.
    }
  }
}

export function removeCacheFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone: another process pruned it.
  }
}
