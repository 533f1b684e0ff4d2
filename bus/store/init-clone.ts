import { existsSync, mkdirSync } from 'node:fs';
import { mkdir, writeFile } from '../node-fs-async.js';
import { join } from 'node:path';

/**
 * Makes `gitdir` an empty bare repository whose HEAD is main, for a node's clone: the folders, config and HEAD
 * that isomorphic-git's init writes, byte for byte (clones made before stay as they are), without loading
 * isomorphic-git (~70 ms of a command's start, issue 14), and the 256 fan-out folders of its loose objects
 * (makeFanOutFolders). An existing config is left alone, as its init does.
 */
export async function initBareClone(gitdir: string): Promise<void> {
  if (existsSync(join(gitdir, 'config'))) return;
  for (const folder of ['hooks', 'info', 'objects/info', 'objects/pack', 'refs/heads', 'refs/tags']) await mkdir(join(gitdir, folder), { recursive: true });
  await writeFile(join(gitdir, 'config'), '[core]\n\trepositoryformatversion = 0\n\tfilemode = false\n\tbare = true\n\tsymlinks = false\n\tignorecase = true\n');
  await writeFile(join(gitdir, 'HEAD'), 'ref: refs/heads/main\n');
  makeFanOutFolders(gitdir);
}

/**
 * `objects/00` to `objects/ff` of a repository gitbus makes (a node's clone, a bus remote on this machine), once:
 * a command on a young bus made each folder as its first object came, which cost it ~0.4 ms (docs/PERFORMANCE.md
 * "The boot from a code cache the build makes, and what a start compiled at every run"); 256 folders take a few
 * milliseconds here. git tolerates empty ones (`git prune` removes them, and gitbus makes one again when needed).
 */
export function makeFanOutFolders(gitdir: string): void {
  for (let i = 0; i < 256; i++) mkdirSync(join(gitdir, 'objects', i.toString(16).padStart(2, '0')), { recursive: true });
}
