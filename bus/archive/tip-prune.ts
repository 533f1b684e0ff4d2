import { fs } from '../node-fs.js';
import { join } from 'node:path';
import { readShallow, updateShallow } from '../git/shallow.js';
import { git } from '../project/git.js';
import { TIP_DIR, TIP_REF } from './shallow-tip.js';

/** The file in the archive tip's repository that says which tip its last prune left settled. */
const STAMP = 'gitbus-pruned';

export interface ArchiveTipPruneReport {
  /** Loose objects of the archive's earlier tips removed (in a dry run: that would be). */
  removed: number;
  removedBytes: number;
  /** The repository's objects on disk before, and after (the same in a dry run). */
  bytesBefore: number;
  bytesAfter: number;
  /**
   * Why nothing was looked at: `settled`, the last prune ran at this tip and nothing has become unreachable since;
   * `young`, the tip was fetched within the grace (a lookup may still read the one before it). Absent: it ran.
   */
  skipped?: 'settled' | 'young';
}

/**
 * The housekeeping of the archive's tip repository inside a clone (shallow-tip.ts; only on a remote that serves no
 * path reads). A lookup after the archive moved fetches the new tip at depth 1 with the old tip as what it has: the
 * new tip's commit and the trees and files it adds, as loose objects (a fetch of fewer than 1,000 objects is
 * written loose). Lookups that follow each archive run fetch each of its commits, so the repository kept the
 * archive's whole history from the first lookup on, every earlier tip with the trees the later ones replaced.
 *
 * This keeps the tip with its whole tree (what `git rev-list --objects --no-walk` lists: git reads the repository's
 * pack fast, cat-file.ts) and cuts the history there (the tip in the shallow list, under git's lock, before anything
 * goes); removes the other loose objects older than the grace, and the shallow entries of commits that went. The
 * pack of the first fetch (the whole tip at that time) is left as it is. It runs only when the tip is older than the
 * grace, so a lookup still reading the tip before it (another process that has not seen the move) finds what it
 * reads, and a fetch under way writes young objects; and only once per tip. Null when the clone has none.
 */
export async function pruneArchiveTip(clone: string, o: { now?: number; graceMs: number; dryRun?: boolean }): Promise<ArchiveTipPruneReport | null> {
  const side = join(clone, TIP_DIR);
  const tip = readTip(side);
  if (tip === null) return null;
  const now = o.now ?? Date.now();
  const cutoff = now - o.graceMs;
  const before = objectBytes(side);
  const idle = { removed: 0, removedBytes: 0, bytesBefore: before, bytesAfter: before };
  if (readStamp(side) === tip) return { ...idle, skipped: 'settled' };
  if ((mtimeOf(join(side, TIP_REF)) ?? 0) >= cutoff) return { ...idle, skipped: 'young' };

  const keep = new Set(objectLines((await git(['--git-dir', side, 'rev-list', '--objects', '--no-walk', tip])).stdout));
  const going: { oid: string; path: string; bytes: number }[] = [];
  for (const fan of listDir(join(side, 'objects'))) {
    if (!/^[0-9a-f]{2}$/.test(fan)) continue;
    for (const name of listDir(join(side, 'objects', fan))) {
      const oid = fan + name;
      if (!/^[0-9a-f]{40}$/.test(oid) || keep.has(oid)) continue;
      const path = join(side, 'objects', fan, name);
      const st = statOf(path);
      if (st !== null && st.mtimeMs < cutoff) going.push({ oid, path, bytes: st.size });
    }
  }
  if (o.dryRun) return { ...idle, removed: going.length, removedBytes: going.reduce((sum, g) => sum + g.bytes, 0) };

  const shallowBefore = await readShallow(side);
  // The cut first: a crash before the removals leaves a repository git reads as before.
  if (going.length > 0 && parentsOf((await git(['--git-dir', side, 'cat-file', 'commit', tip])).stdout) > 0) await updateShallow(side, [tip]);
  let removed = 0;
  let removedBytes = 0;
  const goneCommits: string[] = [];
  for (const g of going) {
    try {
      fs.unlinkSync(g.path);
      removed++;
      removedBytes += g.bytes;
      if (shallowBefore.has(g.oid)) goneCommits.push(g.oid);
    } catch {
      // Gone meanwhile (another housekeeping run).
    }
  }
  if (goneCommits.length > 0) await updateShallow(side, [], goneCommits);
  writeStamp(side, tip);
  return { removed, removedBytes, bytesBefore: before, bytesAfter: objectBytes(side) };
}

/** How many parents a commit's text names. Pure. */
export function parentsOf(commit: string): number {
  const end = commit.indexOf('\n\n');
  return [...(end < 0 ? commit : commit.slice(0, end)).matchAll(/^parent [0-9a-f]{40}$/gm)].length;
}

/** The object ids at the start of git's lines (`rev-list --objects`: an id and a path). Pure. */
export function objectLines(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((oid) => /^[0-9a-f]{40}$/.test(oid));
}

function readTip(side: string): string | null {
  try {
    const oid = fs.readFileSync(join(side, TIP_REF), 'utf8').trim();
    return /^[0-9a-f]{40}$/.test(oid) ? oid : null;
  } catch {
    return null;
  }
}

function readStamp(side: string): string | null {
  try {
    return fs.readFileSync(join(side, STAMP), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

function writeStamp(side: string, tip: string): void {
  try {
    fs.writeFileSync(join(side, STAMP), `${tip}\n`);
  } catch {
    // The next run prunes again: nothing is lost but its time.
  }
}

/** The bytes of the repository's object files, loose and packed. */
function objectBytes(side: string): number {
  const objects = join(side, 'objects');
  let total = 0;
  for (const dir of listDir(objects)) {
    if (!/^([0-9a-f]{2}|pack)$/.test(dir)) continue;
    for (const name of listDir(join(objects, dir))) total += sizeOf(join(objects, dir, name)) ?? 0;
  }
  return total;
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function sizeOf(path: string): number | null {
  try {
    return fs.statSync(path).size;
  } catch {
    return null;
  }
}

function mtimeOf(path: string): number | null {
  return statOf(path)?.mtimeMs ?? null;
}

function statOf(path: string): { mtimeMs: number; size: number } | null {
  try {
    return fs.statSync(path);
  } catch {
    return null;
  }
}
