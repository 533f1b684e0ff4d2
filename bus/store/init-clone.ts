import { existsSync } from 'node:fs';
import { mkdir, writeFile } from '../node-fs-async.js';
import { join } from 'node:path';

/**
 * Makes `gitdir` an empty bare repository whose HEAD is main, for a node's clone: the folders, config and HEAD
 * that isomorphic-git's init writes, byte for byte (clones made before stay as they are), without loading
 * isomorphic-git (~70 ms of a command's start, issue 14). An existing config is left alone, as its init does.
 */
export async function initBareClone(gitdir: string): Promise<void> {
  if (existsSync(join(gitdir, 'config'))) return;
  for (const folder of ['hooks', 'info', 'objects/info', 'objects/pack', 'refs/heads', 'refs/tags']) await mkdir(join(gitdir, folder), { recursive: true });
  await writeFile(join(gitdir, 'config'), '[core]\n\trepositoryformatversion = 0\n\tfilemode = false\n\tbare = true\n\tsymlinks = false\n\tignorecase = true\n');
  await writeFile(join(gitdir, 'HEAD'), 'ref: refs/heads/main\n');
}
