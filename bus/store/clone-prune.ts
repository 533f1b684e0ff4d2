import { fs } from '../node-fs.js';
import { join } from 'node:path';
import { isoGit } from '../git/iso-git.js';
import { objectDir, inFolder } from '../git/object-path.js';
import { readShallow, updateShallow } from '../git/shallow.js';
import { CloneDamagedError, ObjectTooLargeError } from '../local-io.js';
import { readRefsFromDisk } from '../transport/read-refs.js';
import { decodeTree } from './encode.js';
import { readLoose } from './loose-read.js';
import { HISTORY_SKEW_S, historyToKeep, type CommitFacts } from './prune-plan.js';
import { committedAt } from './commit-time.js';
import { listDir, packNames, statOf } from './quiet-fs.js';

/** Loose objects nothing kept names are removed once their file is this old: no command takes so long. */
export const PRUNE_GRACE_MS = 3600_000;

/** The file in the clone whose mtime says when it was last pruned. */
export const PRUNED_STAMP = 'gitbus-pruned';

/** Commits below each tip kept however old (bus/store/prune-plan.ts says why). */
export const PRUNE_DEPTH = 64;

export interface ClonePruneOptions {
  /** The clock, in ms (tests move it). */
  now?: number;
  graceMs?: number;
  depth?: number;
  /** Decide and count, remove nothing, leave the shallow list as it is. */
  dryRun?: boolean;
  /**
   * Keep the commits committed within HISTORY_SKEW_S of main's tip, which the next fetch asks for (default true; a
   * test of the other rules on a bus made a moment ago turns it off).
   */
  keepRecentlyCommitted?: boolean;
}

export interface ClonePruneReport {
  dryRun: boolean;
  /** The clone's refs, whose tips are kept: main, the archive, heartbeats. */
  refs: number;
  /** Commits kept, the tips among them. */
  commits: number;
  /** Objects the kept commits name, at most those the clone holds. */
  named: number;
  /** Loose objects before. */
  loose: number;
  /** Loose objects removed (in a dry run: that would be). */
  removed: number;
  removedBytes: number;
  /** Loose objects nothing kept names, younger than the grace: kept this time. */
  young: number;
  /** Commits the shallow list gained: the history below them went. */
  newBoundaries: number;
  /** Packs of the clone: housekeeping leaves them as they are. */
  packs: number;
}

/**
 * The housekeeping of a node's clone. The clone is a cache of the remote: every fetch leaves the objects of the
 * commits it brings as loose files, and nothing took them away (about 70 KiB a commit on a bus of 1,000 live
 * tasks). This keeps the tips of the clone's refs with whole trees, the history prune-plan.ts keeps below them,
 * and anything younger than the grace (a commit being built, a fetch under way, an archived task just read);
 * removes every other loose object; and names in the shallow list the kept commits whose parents went, before
 * removing them, so that a crash between the two leaves a clone git and gitbus read as before.
 *
 * A write or a fetch that finds an object already there freshens its file (bus/git/loose-object.ts), so that an
 * object an unfinished command is about to rely on is never old enough to go. Nothing is taken from packs. A kept
 * commit or tree that cannot be read stops it before anything is removed: its entries are unknown, and whatever
 * it names would go.
 */
export async function pruneClone(gitdir: string, opts: ClonePruneOptions = {}): Promise<ClonePruneReport> {
  const now = opts.now ?? Date.now();
  const graceMs = opts.graceMs ?? PRUNE_GRACE_MS;
  const cutoff = now - graceMs;
  const packs = packNames(gitdir);
  const reader = objectReader(gitdir, packs.length > 0);
  const refs = await readRefsFromDisk(gitdir);
  const tips = new Set([...refs].filter(([name]) => name !== 'HEAD').map(([, oid]) => oid));
  const shallowBefore = await readShallow(gitdir);

  const tags = new Set<string>();
  const commitOf = async (oid: string): Promise<CommitFacts | null> => {
    const read = await reader(oid);
    if (read === null) return null;
    // A tag (a ref may name one) stands for what it names: one step above it, and kept with it.
    if (read.type === 'tag') {
      tags.add(oid);
      return { parents: [targetOf(read)].filter((t): t is string => t !== undefined), arrivedMs: now };
    }
    if (read.type !== 'commit') return null;
    const end = read.content.indexOf('\n\n');
    const header = read.content.toString('latin1', 0, end < 0 ? read.content.length : end);
    const committed = committedAt(read.content);
    return { parents: [...header.matchAll(/^parent ([0-9a-f]{40})$/gm)].map((m) => m[1] as string), arrivedMs: read.mtimeMs, ...(committed !== null ? { committedMs: committed * 1000 } : {}) };
  };
  // The history committed within HISTORY_SKEW_S of main's tip: what the next fetch asks for (bus/history-fetch.ts).
  const main = refs.get('refs/heads/main');
  const mainRead = main === undefined ? null : await reader(main);
  const mainAt = mainRead?.type === 'commit' ? committedAt(mainRead.content) : null;
  const committedSince = mainAt === null || opts.keepRecentlyCommitted === false ? undefined : (mainAt - HISTORY_SKEW_S) * 1000;
  const plan = await historyToKeep(tips, commitOf, { now, graceMs, depth: opts.depth ?? PRUNE_DEPTH, ...(committedSince !== undefined ? { committedSince } : {}) });

  // What the kept commits and the other tips (a tag, a tree) name, as far as the clone holds it: the archive's tip
  // is here only where its tasks were read (bus/archive/source.ts).
  const named = new Set<string>();
  const walk = async (oid: string): Promise<void> => {
    if (named.has(oid)) return;
    named.add(oid);
    const read = await reader(oid);
    if (read === null) return;
    if (read.type === 'commit' || read.type === 'tag') {
      const target = targetOf(read);
      if (target) await walk(target);
    } else if (read.type === 'tree') {
      let entries;
      try {
        entries = decodeTree(read.content);
      } catch (err) {
        throw new CloneDamagedError(gitdir, oid, `corrupt: ${(err as Error).message}`);
      }
      for (const e of entries) {
        // A submodule's commit is another repository's.
        if (e.type === 'tree') await walk(e.oid);
        else if (e.type === 'blob') named.add(e.oid);
      }
    }
  };
  for (const oid of plan.keep) await walk(oid);
  for (const oid of tips) if (!plan.keep.has(oid)) await walk(oid);

  const objects = join(gitdir, 'objects');
  let loose = 0;
  const old: string[] = [];
  const young: string[] = [];
  for (const fan of listDir(objects)) {
    if (!/^[0-9a-f]{2}$/.test(fan)) continue;
    // A folder at a time: a watcher's timers and wakes go on between them.
    await turn();
    for (const name of listDir(join(objects, fan))) {
      // Temp files of writes under way (or killed: bus/leftovers.ts takes those).
      if (!/^[0-9a-f]{38}$/.test(name)) continue;
      loose++;
      const oid = fan + name;
      if (named.has(oid)) continue;
      const mtime = statOf(inFolder(objectDir(gitdir, oid), name))?.mtimeMs ?? null;
      if (mtime === null) continue;
      (mtime >= cutoff ? young : old).push(oid);
    }
  }
  // What a young object names stays too, as git keeps what recent objects reach: a folder's tree an archive read
  // found here and freshened names blobs it did not touch, and a commit being built names older objects.
  for (const oid of young) await walk(oid);
  const going = old.filter((o) => !named.has(o));

  // The new boundaries first, so that a crash before the removals leaves a clone read as before.
  // Only commits have parents to leave out (a tag whose commit goes is no boundary: git reads none).
  const boundary = [...plan.boundary].filter((o) => !tags.has(o));
  const newBoundaries = opts.dryRun ? boundary.filter((o) => !shallowBefore.has(o)).length : await updateShallow(gitdir, boundary);

  let removed = 0;
  let removedBytes = 0;
  const gone: string[] = [];
  for (const [i, oid] of going.entries()) {
    if (i % 1000 === 999) await turn();
    const path = inFolder(objectDir(gitdir, oid), oid.slice(2));
    try {
      // Asked again just before: a command may have freshened it since the listing.
      const st = fs.statSync(path);
      if (st.mtimeMs >= cutoff) continue;
      if (!opts.dryRun) fs.unlinkSync(path);
      removed++;
      removedBytes += st.size;
      if (shallowBefore.has(oid)) gone.push(oid);
    } catch {
      // Gone meanwhile (another housekeeping run).
    }
  }
  // Entries for commits that are gone now; one a command freshened meanwhile stays, and keeps its entry.
  if (!opts.dryRun && gone.length > 0) await updateShallow(gitdir, [], gone);
  if (!opts.dryRun) {
    try {
      // When the clone was last pruned: `gitbus doctor` warns about a clone nothing prunes (bus/ops/doctor-clone.ts).
      fs.writeFileSync(join(gitdir, PRUNED_STAMP), `${new Date(now).toISOString()} removed ${removed} objects, ${removedBytes} bytes\n`);
    } catch {
      // Only doctor's warning depends on it: the prune itself is done.
    }
  }
  return { dryRun: opts.dryRun === true, refs: tips.size, commits: plan.keep.size, named: named.size, loose, removed, removedBytes, young: young.length, newBoundaries, packs: packs.length };
}

interface ReadObject {
  type: string;
  content: Buffer;
  mtimeMs: number;
}

/**
 * An object of the clone with its file's mtime (0 for a packed one: packs are old by the time anything reads
 * them); null when the clone lacks it. A damaged one throws CloneDamagedError.
 */
function objectReader(gitdir: string, packed: boolean): (oid: string) => Promise<ReadObject | null> {
  const cache = {};
  return async (oid) => {
    let loose;
    try {
      loose = await readLoose(gitdir, oid);
    } catch (err) {
      // Nothing gitbus reads is that large (a ref someone pointed at junk): named, never read into.
      if (err instanceof ObjectTooLargeError) return { type: 'too-large', content: Buffer.alloc(0), mtimeMs: 0 };
      throw err;
    }
    if (loose) return { ...loose, mtimeMs: statOf(inFolder(objectDir(gitdir, oid), oid.slice(2)))?.mtimeMs ?? 0 };
    if (!packed) return null;
    try {
      const o = await (await isoGit()).readObject({ fs, gitdir, oid, cache, format: 'content' });
      return { type: o.type, content: Buffer.from(o.object as Uint8Array), mtimeMs: 0 };
    } catch (err) {
      if ((err as { code?: unknown }).code === 'NotFoundError') return null;
      throw new CloneDamagedError(gitdir, oid, `unreadable in a pack: ${(err as Error).message}`);
    }
  };
}

/** What a commit (its tree) or a tag (its object) names first. */
function targetOf(read: ReadObject): string | undefined {
  return /^(?:tree|object) ([0-9a-f]{40})/.exec(read.content.toString('latin1', 0, 48))?.[1];
}

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
