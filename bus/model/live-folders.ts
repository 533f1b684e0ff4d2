import { LIVE_FOLDERS } from '../../schemas/layout.js';
import type { TreeEntry } from '../store/objects.js';
import type { FolderTree } from './snapshot-disk-cache.js';

/**
 * The live folders of one commit, from its root's listing: for each, the first entry of that name, when it is a
 * folder, with its tree oid and listing (a hand-made root may name a folder twice, or a file first, which the index
 * reports). What a snapshot indexes and what a derived status (bus/ops/status-derive.ts) compares: one rule for
 * both, so that a folder's tree oid always stands for the listing read with it.
 */
export async function liveFoldersOf(readTree: (oid: string) => Promise<TreeEntry[]>, root: readonly TreeEntry[]): Promise<Map<string, FolderTree>> {
  const out = new Map<string, FolderTree>();
  for (const [folder, tree] of liveFolderTrees(root)) out.set(folder, { tree, entries: await readTree(tree) });
  return out;
}

/** liveFoldersOf without the listings: each live folder's tree oid. */
export function liveFolderTrees(root: readonly TreeEntry[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const folder of LIVE_FOLDERS) {
    const e = root.find((r) => r.path === folder);
    if (e?.type === 'tree') out.set(folder, e.oid);
  }
  return out;
}
