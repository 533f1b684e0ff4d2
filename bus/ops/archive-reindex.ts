import {
  ARCHIVE_INDEX_COMPLETE,
  ARCHIVE_INDEX_COMPLETE_TEXT,
  ARCHIVE_INDEX_FOLDER,
  archiveIndexPathFor,
  archiveIndexSignaturePathFor,
  archiveShardOf,
  ARCHIVE_SHARD_RE,
} from '../../schemas/archive-index.js';
import { ARCHIVE_MONTH_RE } from '../../schemas/archive-layout.js';
import { SIGNATURES_FOLDER } from '../../schemas/signature-layout.js';
import { TASK_ID_RE } from '../../schemas/ids.js';
import { transact } from '../cas.js';
import { PathOccupiedError } from '../errors.js';
import type { BusContext } from '../context.js';
import type { FileChange, ObjectStore, TreeEntry } from '../store/objects.js';
import { ARCHIVE, MAIN } from '../repo.js';
import { shardsNote } from '../archive/shards-hint.js';
import { readFoldersOf } from './archive.js';

export interface ReindexResult {
  /** Tasks whose index entry was added. */
  indexed: number;
  /** Index entries replaced because they did not hold the task's folder (a file there, or another folder). */
  repaired: number;
  commit: string | null;
  /** The commit on main that made its note of where the shards are name the reindexed archive (null: none needed). */
  noteCommit: string | null;
}

/**
 * Index entries for every task of the archive tree `rootTree` that lacks one (an archive written by a gitbus before
 * the index), each pointing at the task's existing folder, so nothing but shard trees is written; an entry that is
 * there but does not hold that folder (a file, a link, another tree: written by hand or damaged) is replaced by it
 * (`repaired`), and so is every entry of a shard that is not a folder (the shard is made anew); plus `ids/complete`.
 * Reads the root, the month folders and the shards, not the tasks.
 */
export async function reindexChanges(store: ObjectStore, rootTree: string): Promise<{ changes: FileChange[]; indexed: number; repaired: number }> {
  const root = await store.readTree(rootTree);
  const sub = async (entries: readonly TreeEntry[], name: string) => {
    const e = entries.find((x) => x.path === name && x.type === 'tree');
    return e ? store.readTree(e.oid) : [];
  };
  const index = await sub(root, ARCHIVE_INDEX_FOLDER);
  const shards = new Map<string, Map<string, TreeEntry>>();
  const changes: FileChange[] = [];
  /** Shards that are not folders (a file or a link pushed there): removed, and made anew from the month folders. */
  const damaged = new Set<string>();
  const remade = new Set<string>();
  for (const shard of index) {
    if (shard.type === 'tree') shards.set(shard.path, new Map((await store.readTree(shard.oid)).map((e) => [e.path, e] as const)));
    else if (ARCHIVE_SHARD_RE.test(shard.path)) {
      damaged.add(shard.path);
      // First in the list: the entries written under it below then find the path free.
      changes.push({ path: `${ARCHIVE_INDEX_FOLDER}/${shard.path}`, content: null });
    }
  }
  const signatures = await sub(root, SIGNATURES_FOLDER);
  let indexed = 0;
  let repaired = 0;
  /** The entry `name` of the task's shard as it must be: a folder, `oid`. True when it had to be written. */
  const want = (shard: Map<string, TreeEntry> | undefined, name: string, path: string, oid: string): 'added' | 'repaired' | null => {
    const have = shard?.get(name);
    if (have?.type === 'tree' && have.oid === oid) return null;
    changes.push({ path, content: { tree: oid } });
    return have ? 'repaired' : 'added';
  };
  for (const month of root.filter((e) => e.type === 'tree' && ARCHIVE_MONTH_RE.test(e.path))) {
    const sigs = new Map((await sub(signatures, month.path)).filter((e) => e.type === 'tree').map((e) => [e.path, e.oid] as const));
    for (const task of await store.readTree(month.oid)) {
      if (task.type !== 'tree' || !TASK_ID_RE.test(task.path)) continue;
      const shard = shards.get(archiveShardOf(task.path));
      const path = archiveIndexPathFor(month.path, task.path);
      const name = path.split('/').pop() ?? '';
      const done = want(shard, name, path, task.oid);
      const inDamaged = damaged.has(archiveShardOf(task.path));
      if (inDamaged) remade.add(archiveShardOf(task.path));
      if (done === 'repaired' || (done === 'added' && inDamaged)) repaired++;
      else if (done === 'added') indexed++;
      const sig = sigs.get(task.path);
      if (sig && want(shard, `${name}.sig`, archiveIndexSignaturePathFor(month.path, task.path), sig) === 'repaired') repaired++;
    }
  }
  // A damaged shard none of whose tasks is archived still goes (one repair): no shard is what the index then needs.
  repaired += [...damaged].filter((d) => !remade.has(d)).length;
  if (!index.some((e) => e.path === ARCHIVE_INDEX_COMPLETE)) changes.push({ path: `${ARCHIVE_INDEX_FOLDER}/${ARCHIVE_INDEX_COMPLETE}`, content: ARCHIVE_INDEX_COMPLETE_TEXT });
  return { changes, indexed, repaired };
}

/**
 * `gitbus archive --reindex`: adds the id index (docs/PROTOCOL.md §7) to an archive written before it, in one
 * compare-and-swap commit on the archive branch. Fetches the archive's tip (depth 1), not its history.
 */
export async function reindexArchive(ctx: BusContext): Promise<ReindexResult> {
  const r = await transact(
    ctx,
    'archive',
    async (snap) => {
      if (!snap.commit) return { result: { indexed: 0, repaired: 0 } };
      // Every month folder, signature month and shard: the folders (not the tasks) the index is made from.
      const store = ctx.repo.store;
      const tree = await store.readCommitTree(snap.commit);
      const months = (await store.readTree(tree)).filter((e) => e.type === 'tree' && ARCHIVE_MONTH_RE.test(e.path)).map((e) => e.path);
      await readFoldersOf(ctx, snap.commit, [`${ARCHIVE_INDEX_FOLDER}/x`, ...months.flatMap((m) => [`${m}/x`, `${SIGNATURES_FOLDER}/${m}/x`])]);
      const index = (await store.readTree(tree)).find((e) => e.path === ARCHIVE_INDEX_FOLDER && e.type === 'tree');
      const shards = index ? (await store.readTree(index.oid)).filter((e) => e.type === 'tree').map((e) => `${ARCHIVE_INDEX_FOLDER}/${e.path}/x`) : [];
      await readFoldersOf(ctx, snap.commit, shards);
      const { changes, indexed, repaired } = await reindexChanges(ctx.repo.store, await ctx.repo.store.readCommitTree(snap.commit));
      const message = `gitbus: index ${indexed} archived task${indexed === 1 ? '' : 's'} by id${repaired ? `, repair ${repaired} index entr${repaired === 1 ? 'y' : 'ies'}` : ''}`;
      return changes.length ? { result: { indexed, repaired }, commit: { changes, message } } : { result: { indexed, repaired } };
    },
    { ref: ARCHIVE },
  ).catch((err: unknown) => {
    // Said of the archive branch, as `gitbus archive` says it: lint, which the plain error points to, reads main only.
    throw err instanceof PathOccupiedError ? new PathOccupiedError(err.path, err.what, err.writing, ARCHIVE) : err;
  });
  // The shards moved: main's note (schemas/archive-shards.ts) names the new tip, so that lookups by path keep
  // starting at the shard.
  const note = r.commit === null ? { commit: null } : await transact(ctx, 'archive', async (latest) => {
    const changes = await shardsNote(ctx, latest.commit);
    return changes.length ? { result: {}, commit: { changes, message: 'gitbus: where the archive\'s shards are, after its reindex' } } : { result: {} };
  }, { ref: MAIN });
  return { indexed: r.indexed, repaired: r.repaired, commit: r.commit, noteCommit: note.commit };
}
