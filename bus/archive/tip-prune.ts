import { fs } from '../node-fs.js';
import { join } from 'node:path';
import { readShallow, updateShallow } from '../git/shallow.js';
import { listDir, packNames, statOf } from '../store/quiet-fs.js';
import { TIP_DIR, TIP_REF, tipGit } from './shallow-tip.js';

/** Loose objects the tip reaches from which a prune packs them (with the pack of the first fetch). */
export const REPACK_LOOSE = 1000;

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
   * Packs merged into one with the loose objects the tip reaches, what the earlier tips alone named left out (`git
   * repack -A -d`): how many packs there were.
   */
  repacked?: number;
  /**
   * Why nothing was removed: `settled`, the last prune ran at this tip and nothing has become unreachable since;
   * `young`, the tip was fetched within the grace (a lookup may still read the one before it); `damaged`, git
   * cannot read the tip's commit or tree there, so the repository, a cache, was removed (the next lookup fetches the
   * tip again; a dry run removes nothing); `failed`, git could not be run (`reason` says why). Absent: it ran.
   */
  skipped?: 'settled' | 'young' | 'damaged' | 'failed';
  /** git's words, or the error's, for `damaged` and `failed`, and for a repack that failed. */
  reason?: string;
}

/**
 * The housekeeping of the archive's tip repository inside a clone (shallow-tip.ts; only on a remote that serves no
 * path reads). Each lookup after the archive moved fetches what the new tip adds, down to the previous tip: the
 * repository kept the archive's whole history from the first lookup on, every earlier tip with the trees the later
 * ones replaced, for good.
 *
 * This keeps the tip with its whole tree (what `git rev-list --objects --no-walk` lists: git reads the repository's
 * pack fast, cat-file.ts) and cuts the history there (the tip in the shallow list, under git's lock, before anything
 * goes); removes the other loose objects older than the grace, and the shallow entries of commits that went; and,
 * where there is more than one pack (the first fetch's, the whole tip of its time, and any fetch of 1,000 objects or
 * more) or REPACK_LOOSE loose objects the tip reaches (the tasks archived since the first lookup), packs what the cut
 * history names into one. It runs only when the tip is older than the grace, so a
 * lookup still reading the tip before it (another process that has not seen the move) finds what it reads, and a
 * fetch under way writes young objects; and only once per tip. It never throws: the clone's own prune is what
 * matters, and this repository is a cache. Null when the clone has none.
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
  if ((statOf(join(side, TIP_REF))?.mtimeMs ?? 0) >= cutoff) return { ...idle, skipped: 'young' };
  try {
    const listed = await tipGit(side, ['rev-list', '--objects', '--no-object-names', '--no-walk', tip]);
    const commit = listed.ok ? await tipGit(side, ['cat-file', 'commit', tip]) : listed;
    if (!commit.ok) {
      if (!o.dryRun) removeAll(side);
      return { ...idle, bytesAfter: o.dryRun ? before : 0, skipped: 'damaged', reason: commit.stderr };
    }
    const keep = new Set(objectLines(listed.stdout));
    const { going, keptLoose } = looseObjects(side, keep, cutoff);
    if (o.dryRun) return { ...idle, removed: going.length, removedBytes: going.reduce((sum, g) => sum + g.bytes, 0) };

    const shallowBefore = await readShallow(side);
    // The cut first: a crash before the removals leaves a repository git reads as before.
    if (parentsOf(commit.stdout) > 0) await updateShallow(side, [tip]);
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
    const packs = packNames(side).length;
    // -A with an expiry, as git gc repacks: what a pack holds that the tip does not reach is left loose when it is
    // young (a lookup's fetch moves its pack in before it writes the ref), for the next run to judge by its age.
    const repack = packs > 1 || keptLoose >= REPACK_LOOSE ? await tipGit(side, ['repack', '-A', '-d', '-q', `--unpack-unreachable=${Math.max(0, Math.round((now - cutoff) / 1000))}.seconds.ago`]) : null;
    writeStamp(side, tip);
    return { removed, removedBytes, bytesBefore: before, bytesAfter: objectBytes(side), ...(repack?.ok ? { repacked: packs } : {}), ...(repack && !repack.ok ? { reason: repack.stderr } : {}) };
  } catch (err) {
    // git missing or too slow, the shallow list's lock held too long: the next run tries again.
    return { ...idle, skipped: 'failed', reason: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * The loose objects not in `keep` whose files are older than `cutoff`, and how many in `keep` are loose: the lookups'
 * fetches leave the new tasks' folders loose, a file (and a 4 KiB disk block) each.
 */
function looseObjects(side: string, keep: ReadonlySet<string>, cutoff: number): { going: { oid: string; path: string; bytes: number }[]; keptLoose: number } {
  const going: { oid: string; path: string; bytes: number }[] = [];
  let keptLoose = 0;
  for (const fan of listDir(join(side, 'objects'))) {
    if (!/^[0-9a-f]{2}$/.test(fan)) continue;
    for (const name of listDir(join(side, 'objects', fan))) {
      const oid = fan + name;
      if (!/^[0-9a-f]{40}$/.test(oid)) continue;
      if (keep.has(oid)) {
        keptLoose++;
        continue;
      }
      const path = join(side, 'objects', fan, name);
      const st = statOf(path);
      if (st !== null && st.mtimeMs < cutoff) going.push({ oid, path, bytes: st.size });
    }
  }
  return { going, keptLoose };
}

/** The repository, out of the way at once (renamed), then removed: a lookup starts a new one from the tip. */
function removeAll(side: string): void {
  const away = `${side}.removed-${process.pid}-${Date.now().toString(36)}`;
  try {
    fs.renameSync(side, away);
    fs.rmSync(away, { recursive: true, force: true });
  } catch {
    // Another run took it, or it cannot be removed: the next lookup reads it as it is.
  }
}

/** How many parents a commit's text names. Pure. */
export function parentsOf(commit: string): number {
  const end = commit.indexOf('\n\n');
  return [...(end < 0 ? commit : commit.slice(0, end)).matchAll(/^parent [0-9a-f]{40}$/gm)].length;
}

/** The object ids at the start of git's lines (`rev-list --objects`). Pure. */
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
    for (const name of listDir(join(objects, dir))) total += statOf(join(objects, dir, name))?.size ?? 0;
  }
  return total;
}
