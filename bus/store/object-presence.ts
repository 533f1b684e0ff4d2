import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fs } from '../node-fs.js';
import { freshenObjectFile } from '../git/loose-object.js';
import { objectFile } from '../git/object-path.js';

/**
 * Whether `oid` is a loose object of the clone; one that is, is freshened (bus/git/loose-object.ts): whoever asks
 * is about to rely on it, and the clone's housekeeping must not take it away meanwhile.
 */
export function looseHere(gitdir: string, oid: string): boolean {
  const path = objectFile(gitdir, oid);
  if (!existsSync(path)) return false;
  freshenObjectFile(fs, path);
  return true;
}

/** Whether a clone may hold objects other than loose ones: a pack, or alternates (a clone made by hand). */
export function mayHavePackedObjects(gitdir: string): boolean {
  if (existsSync(join(gitdir, 'objects', 'info', 'alternates'))) return true;
  try {
    return fs.readdirSync(join(gitdir, 'objects', 'pack')).some((f) => f.endsWith('.pack'));
  } catch {
    return false;
  }
}
