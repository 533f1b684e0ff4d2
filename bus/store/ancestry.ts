import { fs } from '../node-fs.js';
import { readLoose } from './loose-read.js';
import { isoGit } from '../git/iso-git.js';

/**
 * Whether `ancestor` is `tip` or one of its ancestors, from the commits this clone holds: true when a walk down
 * the parents from `tip` meets it, false when every path ends (at a root, or at a commit the clone lacks: the
 * boundary of a shallow clone) without it, null when the walk gave up after `limit` commits (a clone far
 * behind). A node's clone holds every commit between what it last saw and a tip it fetched since (bus/repo.ts
 * fetches with that as its `have`), so a tip that descends from it is always found.
 */
export async function reaches(gitdir: string, cache: object, tip: string, ancestor: string, limit = 50_000, ends?: Set<string>): Promise<boolean | null> {
  const seen = new Set<string>([tip]);
  const queue = [tip];
  for (let i = 0; i < queue.length; i++) {
    const oid = queue[i] as string;
    if (oid === ancestor) return true;
    if (i >= limit) return null;
    const parents = (await parentsOf(gitdir, cache, oid)) ?? [];
    for (const p of parents) {
      // `ends`: the commits whose history the clone holds only in part, where fetching more might find `ancestor`;
      // every child of a missing parent, not only the first the walk met.
      if (ends && (await parentsOf(gitdir, cache, p)) === null) ends.add(oid);
      if (seen.has(p)) continue;
      seen.add(p);
      queue.push(p);
    }
  }
  return false;
}

/** A commit's parents; null when the clone does not hold it (a walk ends there). */
export async function parentsOf(gitdir: string, cache: object, oid: string): Promise<string[] | null> {
  const loose = await readLoose(gitdir, oid).catch(() => null);
  if (loose) {
    if (loose.type !== 'commit') return [];
    const end = loose.content.indexOf('\n\n');
    const header = loose.content.toString('latin1', 0, end < 0 ? loose.content.length : end);
    return [...header.matchAll(/^parent ([0-9a-f]{40})$/gm)].map((m) => m[1] as string);
  }
  try {
    // Packed: the first pack of a clone made by join, or a clone made by hand.
    return (await (await isoGit()).readCommit({ fs, gitdir, oid, cache })).commit.parent;
  } catch {
    return null;
  }
}
