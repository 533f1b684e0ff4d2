import { join } from 'node:path';
import { fs } from '../node-fs.js';

// Reads of a repository's folders by its housekeeping (clone-prune.ts, bus/archive/tip-prune.ts), where a file or
// folder another process removed meanwhile is simply not there.

/** A folder's names; none when it is missing or cannot be read. */
export function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** A file's time and size; null when it is gone. */
export function statOf(path: string): { mtimeMs: number; size: number } | null {
  try {
    return fs.statSync(path);
  } catch {
    return null;
  }
}

/** The packs of the repository at `gitdir` (`pack-<sha>.pack`). */
export function packNames(gitdir: string): string[] {
  return listDir(join(gitdir, 'objects', 'pack')).filter((n) => n.endsWith('.pack'));
}
