import { LIVE_FOLDERS } from '../../schemas/layout.js';
import { decodeTree } from '../store/encode.js';
import type { ObjectStore, TreeEntry } from '../store/objects.js';
import type { FolderTree } from './snapshot-disk-cache.js';

/**
 * The live folders of one commit, from its root's listing: for each, the first entry of that name, when it is a
 * folder, with its tree oid and listing (a hand-made root may name a folder twice, or a file first, which the index
 * reports). What a snapshot indexes and what a derived status (bus/ops/status-derive.ts) compares: one rule for
 * both, so that a folder's tree oid always stands for the listing read with it.
 */
export async function liveFoldersOf(store: ObjectStore, root: readonly TreeEntry[]): Promise<Map<string, FolderTree>> {
  const out = new Map<string, FolderTree>();
  for (const [folder, tree] of liveFolderTrees(root)) out.set(folder, await folderTreeOf(store, tree));
  return out;
}

/**
 * A folder's tree: as decoded already when the store holds it so (a long-lived process), else from its bytes when
 * they are at hand, decoded when its entries are first read (a derived status reads only a few of them), else read
 * and decoded now (a packed tree).
 */
export async function folderTreeOf(store: ObjectStore, tree: string): Promise<FolderTree> {
  const kept = store.keptTree?.(tree);
  const bytes = kept ? undefined : await store.readTreeBytes?.(tree);
  // Bytes that are not a tree's encoding are read as before, and fail as they did (decodeTree's error).
  const count = bytes ? entryCount(bytes) : null;
  if (!bytes || count === null) {
    const entries = kept ?? (await store.readTree(tree));
    return { tree, entries, count: entries.length };
  }
  let entries: TreeEntry[] | undefined;
  return {
    tree,
    bytes,
    count,
    get entries(): TreeEntry[] {
      if (!entries) {
        entries = decodeTree(bytes);
        store.rememberTree?.(tree, entries);
      }
      return entries;
    },
  };
}

/**
 * How many entries a tree's bytes list (each a mode, a space, a name ended by a NUL, then a 20-byte id); null when
 * they are not entries as decodeTree reads them, so that it never fails on bytes this let through.
 */
function entryCount(bytes: Buffer): number | null {
  // In a latin1 string (one character a byte): a string's indexOf is V8's own, where a Buffer's crosses into C++ at
  // each call, 3-4 times slower over a folder of 300 tasks the first time a command runs it (issue 14).
  const text = bytes.toString('latin1');
  let n = 0;
  for (let at = 0; at < text.length; n++) {
    const space = text.indexOf(' ', at);
    const nul = space < 0 ? -1 : text.indexOf('\0', space);
    if (nul < 0 || nul + 21 > text.length) return null;
    at = nul + 21;
  }
  return n;
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
