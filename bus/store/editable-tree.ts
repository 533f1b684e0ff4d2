import { encodeTree, NON_ASCII } from './encode.js';
import type { ObjectStore, TreeEntry } from './objects.js';
import { findEntry, scanTree, spliceTree } from './tree-splice.js';

/** A tree's entries as a commit's build (objects.ts applyChanges) reads and changes them: by name, its bytes made at the end. */
export interface EditableTree {
  get(name: string): TreeEntry | undefined;
  set(name: string, entry: TreeEntry): void;
  delete(name: string): void;
  /** The changed tree's bytes; null when it has no entries left (git has no empty subtrees). */
  content(): Uint8Array | null;
}

/**
 * The tree `treeOid` to change at the entries `names`: from its bytes when the store has them and they are a tree
 * splicing gives back as encodeTree would (tree-splice.ts), so that a folder of many tasks changed by one is not
 * decoded and encoded whole; else decoded. A name that is not ASCII takes the decoded way too.
 */
export async function editableTree(store: ObjectStore, treeOid: string | null, names: readonly string[]): Promise<EditableTree> {
  const bytes = treeOid && !names.some((n) => NON_ASCII.test(n)) ? await store.readTreeBytes?.(treeOid) : null;
  const scanned = bytes ? scanTree(bytes) : null;
  if (scanned) {
    const edits = new Map<string, TreeEntry | null>();
    return {
      get: (name) => (edits.has(name) ? (edits.get(name) ?? undefined) : findEntry(scanned, name)),
      set: (name, entry) => void edits.set(name, entry),
      delete: (name) => void edits.set(name, null),
      content: () => {
        const out = edits.size === 0 ? scanned.bytes : spliceTree(scanned, edits);
        return out.length === 0 ? null : out;
      },
    };
  }
  const entries = new Map<string, TreeEntry>();
  if (treeOid) for (const e of await store.readTree(treeOid)) entries.set(e.path, e);
  return {
    get: (name) => entries.get(name),
    set: (name, entry) => void entries.set(name, entry),
    delete: (name) => void entries.delete(name),
    content: () => (entries.size === 0 ? null : encodeTree([...entries.values()])),
  };
}
