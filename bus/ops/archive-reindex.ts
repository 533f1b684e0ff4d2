import {
  ARCHIVE_INDEX_COMPLETE,
  ARCHIVE_INDEX_COMPLETE_TEXT,
  ARCHIVE_INDEX_FOLDER,
  archiveIndexPathFor,
  archiveIndexSignaturePathFor,
  archiveShardOf,
} from '../../schemas/archive-index.js';
import { ARCHIVE_MONTH_RE, SIGNATURES_FOLDER } from '../../schemas/layout.js';
import { TASK_ID_RE } from '../../schemas/ids.js';
import { transact } from '../cas.js';
import type { BusContext } from '../context.js';
import type { FileChange, ObjectStore, TreeEntry } from '../store/objects.js';
import { ARCHIVE } from '../repo.js';
import { readFoldersOf } from './archive.js';

export interface ReindexResult {
  /** Tasks whose index entry was added. */
  indexed: number;
  commit: string | null;
}

/**
 * Index entries for every task of the archive tree `rootTree` that lacks one (an archive written by a gitbus before
 * the index), each pointing at the task's existing folder, so nothing but shard trees is written; plus
 * `ids/complete`. Reads the root, the month folders and the shards, not the tasks.
 */
export async function reindexChanges(store: ObjectStore, rootTree: string): Promise<{ changes: FileChange[]; indexed: number }> {
  const root = await store.readTree(rootTree);
  const sub = async (entries: readonly TreeEntry[], name: string) => {
    const e = entries.find((x) => x.path === name && x.type === 'tree');
    return e ? store.readTree(e.oid) : [];
  };
  const index = await sub(root, ARCHIVE_INDEX_FOLDER);
  const shardNames = new Map<string, Set<string>>();
  for (const shard of index) if (shard.type === 'tree') shardNames.set(shard.path, new Set((await store.readTree(shard.oid)).map((e) => e.path)));
  const signatures = await sub(root, SIGNATURES_FOLDER);
  const changes: FileChange[] = [];
  let indexed = 0;
  for (const month of root.filter((e) => e.type === 'tree' && ARCHIVE_MONTH_RE.test(e.path))) {
    const sigs = new Map((await sub(signatures, month.path)).filter((e) => e.type === 'tree').map((e) => [e.path, e.oid] as const));
    for (const task of await store.readTree(month.oid)) {
      if (task.type !== 'tree' || !TASK_ID_RE.test(task.path)) continue;
      const have = shardNames.get(archiveShardOf(task.path));
      const name = archiveIndexPathFor(month.path, task.path).split('/').pop() ?? '';
      if (!have?.has(name)) {
        changes.push({ path: archiveIndexPathFor(month.path, task.path), content: { tree: task.oid } });
        indexed++;
      }
      const sig = sigs.get(task.path);
      if (sig && !have?.has(`${name}.sig`)) changes.push({ path: archiveIndexSignaturePathFor(month.path, task.path), content: { tree: sig } });
    }
  }
  if (!index.some((e) => e.path === ARCHIVE_INDEX_COMPLETE)) changes.push({ path: `${ARCHIVE_INDEX_FOLDER}/${ARCHIVE_INDEX_COMPLETE}`, content: ARCHIVE_INDEX_COMPLETE_TEXT });
  return { changes, indexed };
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
      if (!snap.commit) return { result: { indexed: 0 } };
      // Every month folder, signature month and shard: the folders (not the tasks) the index is made from.
      const store = ctx.repo.store;
      const tree = await store.readCommitTree(snap.commit);
      const months = (await store.readTree(tree)).filter((e) => e.type === 'tree' && ARCHIVE_MONTH_RE.test(e.path)).map((e) => e.path);
      await readFoldersOf(ctx, snap.commit, [`${ARCHIVE_INDEX_FOLDER}/x`, ...months.flatMap((m) => [`${m}/x`, `${SIGNATURES_FOLDER}/${m}/x`])]);
      const index = (await store.readTree(tree)).find((e) => e.path === ARCHIVE_INDEX_FOLDER && e.type === 'tree');
      const shards = index ? (await store.readTree(index.oid)).filter((e) => e.type === 'tree').map((e) => `${ARCHIVE_INDEX_FOLDER}/${e.path}/x`) : [];
      await readFoldersOf(ctx, snap.commit, shards);
      const { changes, indexed } = await reindexChanges(ctx.repo.store, await ctx.repo.store.readCommitTree(snap.commit));
      return changes.length ? { result: { indexed }, commit: { changes, message: `gitbus: index ${indexed} archived task${indexed === 1 ? '' : 's'} by id` } } : { result: { indexed } };
    },
    { ref: ARCHIVE },
  );
  return { indexed: r.indexed, commit: r.commit };
}
