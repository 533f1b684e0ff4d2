import { fs } from '../node-fs.js';
import { join } from 'node:path';
import { fetchObjects } from '../git/fetch.js';
import type { BusRepo } from '../repo.js';
import { writeLocalRef } from '../store/local-ref.js';
import { makeDirsBelow } from '../store/make-dirs.js';
import { CatFileSource } from './cat-file.js';

export const TIP_DIR = 'gitbus-archive-tip.git';
export const TIP_REF = 'refs/heads/archive';

/**
 * For a remote that serves no path reads: the archive's tip alone (depth 1, never its history) fetched into a
 * repository of its own inside the clone, kept as a pack, and read from with git cat-file; only the objects a lookup
 * needs are copied into the clone. Later tips fetch only what they add. The clone itself never holds the big pack
 * (isomorphic-git would load its index, seconds at 100,000 tasks, in every process that misses a loose object).
 */
export async function shallowTipSource(repo: BusRepo, tip: string): Promise<CatFileSource> {
  const side = join(repo.gitdir, TIP_DIR);
  if (!fs.existsSync(join(side, 'HEAD'))) {
    makeDirsBelow(fs, repo.gitdir, TIP_DIR, 'objects', 'pack');
    makeDirsBelow(fs, side, 'refs', 'heads');
    fs.writeFileSync(join(side, 'config'), '[core]\n\trepositoryformatversion = 0\n\tbare = true\n');
    fs.writeFileSync(join(side, 'HEAD'), `ref: ${TIP_REF}\n`);
  }
  let previous: string | null = null;
  try {
    previous = fs.readFileSync(join(side, TIP_REF), 'utf8').trim() || null;
  } catch {
    previous = null;
  }
  if (previous !== tip) {
    await fetchObjects({ fs, gitdir: side, cache: {}, transport: repo.transport, want: tip, haves: previous ? [previous] : [], depth: 1 });
    writeLocalRef(side, TIP_REF, tip);
  }
  return new CatFileSource(side, repo.gitdir, (oid) => repo.hasObject(oid));
}
