import type { ObjectStore, TreeEntry } from '../store/objects.js';
import { treeBytesOf } from '../store/encode.js';
import { treeDiff } from '../store/tree-diff.js';
import { changedTaskIds, taskIdsOf } from './index-tree.js';

/**
 * The task ids whose files in live folder `folder` differ between the tree `was` of an earlier commit in the clone
 * and `now` (null and undefined: no such folder). Compared by the trees' bytes when both are at hand (only the
 * entries that differ decoded: bus/store/tree-diff.ts), else as decoded listings (changedTaskIds). Null when `was`
 * is not in the clone (nothing is fetched, or repaired, to compare with) or the listings cannot be compared by name.
 */
export async function changedIdsBetween(store: ObjectStore, folder: string, was: string | null, now: { readonly entries: readonly TreeEntry[]; readonly bytes?: Buffer } | undefined): Promise<Set<string> | null> {
  const before = was === null ? NONE : await store.readTreeBytesHere?.(was);
  // `now.bytes` first: reading `entries` may decode them (live-folders.ts folderTreeOf).
  const after = now ? (now.bytes ?? treeBytesOf(now.entries)) : NONE;
  const diff = before && after ? treeDiff(before, after) : null;
  if (diff) return taskIdsOf(folder, [...diff.after, ...diff.before]);
  const listed = was === null ? [] : await store.readTreeHere?.(was);
  return listed ? changedTaskIds(folder, listed, now?.entries ?? []) : null;
}

const NONE = Buffer.alloc(0);
