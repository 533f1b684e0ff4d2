import { PathOccupiedError, WrittenOnceError } from '../errors.js';
import { fs } from '../node-fs.js';
import { gitObjectId } from '../git/loose-object.js';
import { CommitWriter } from './commit-writer.js';
import { decodeTree, encodeCommit, encodeTree, treeBytesOf, type GitObject } from './encode.js';
import { editableTree } from './editable-tree.js';
import { isOid } from '../git/oid.js';
import { readLoose, readLooseUpTo } from './loose-read.js';
import { CloneDamagedError } from '../local-io.js';
import { isoGit } from '../git/iso-git.js';

/**
 * Reads and writes git objects in a node's clone (packed ones through isomorphic-git, loaded then), without an index or work tree:
 * commits are built from trees directly (writeBlob/writeTree/writeCommit), which keeps the status scan that
 * makes isomorphic-git slow on big trees off every path.
 */
export interface TreeEntry {
  mode: string;
  path: string;
  oid: string;
  type: 'blob' | 'tree' | 'commit';
}

export interface ObjectStore {
  readonly gitdir: string;
  /** isomorphic-git's cache of parsed pack indexes; shared by every call in this process. */
  readonly cache: object;
  readTree(oid: string): Promise<TreeEntry[]>;
  /**
   * A blob's content. With `maxBytes`, a blob larger than that is not read whole: a buffer of `maxBytes + 1` bytes
   * stands for it (for callers that refuse such content as too large, e.g. a signature sidecar over 16 KiB).
   */
  readBlob(oid: string, maxBytes?: number): Promise<Uint8Array>;
  /**
   * A blob's content when it is at most `max` bytes, else its size: a loose one above the limit is not inflated past
   * its header (a 600 MB handoff pushed with plain git); a packed one is read.
   */
  readBlobUpTo(oid: string, max: number): Promise<Uint8Array | number>;
  readCommitTree(oid: string): Promise<string>;
  /** Remembers a tree's entries read elsewhere: readTree then reads it no more. */
  rememberTree?(oid: string, entries: TreeEntry[]): void;
  /**
   * Remembers a tree's bytes read elsewhere (a fetch reads the trees it copies, and decodes only what changed):
   * readTree decodes them when first asked, readTreeBytes hands them over as they are.
   */
  rememberTreeBytes?(oid: string, bytes: Buffer): void;
  /** A tree's entries when this store holds them decoded already (no read, no decode). */
  keptTree?(oid: string): TreeEntry[] | undefined;
  /**
   * A tree's bytes, repaired as readTree repairs: those remembered, or the clone's loose object; null when it is
   * packed (then readTree reads it). For a reader that may need only a few of a big folder's entries (a derived
   * status): decoding every entry of a folder of 5,000 live tasks is most of what reading it costs.
   */
  readTreeBytes?(oid: string): Promise<Buffer | null>;
  /**
   * readTree of a tree the clone holds, without repairing: null when it is not here or cannot be read. For a reader
   * that only saves work with an older tree (a derived answer) and has another way when it is gone: a repair walks
   * the clone and asks the remote.
   */
  readTreeHere?(oid: string): Promise<TreeEntry[] | null>;
  /** readCommitTree the same way: null when the commit is not here or cannot be read. */
  readCommitTreeHere?(oid: string): Promise<string | null>;
  /** A tree's bytes, when it is in the clone as a loose object (or kept decoded from them); null otherwise, never repaired. */
  readTreeBytesHere?(oid: string): Promise<Buffer | null>;
  /**
   * Called when an object is damaged or missing: fetch it again (bus/clone-repair.ts, set by whoever holds the
   * transport), after which the read is tried once more. Throws when it cannot.
   */
  repair?: (oid: string, damage: CloneDamagedError) => Promise<void>;
}

/** isomorphic-git's "not found" for an object, as the damage it is (the clone should have it). */
function asDamage(gitdir: string, oid: string, err: unknown): unknown {
  return (err as { code?: unknown }).code === 'NotFoundError' ? new CloneDamagedError(gitdir, oid, 'missing') : err;
}

/**
 * Trees a store keeps decoded, the oldest read first out: a snapshot reads about eight (the root and its live
 * folders), and a watcher's wake compares two commits. Unbounded, a watcher kept every tree it ever read for its
 * whole life: on a bus of 2,000 live tasks each push's `handoffs/` tree is ~2,000 entries.
 */
export const STORE_TREES = 64;
/** Commits' tree ids kept (strings: cheap, but a watcher meets a new commit at every push). */
const STORE_COMMITS = 1024;

/** `map.set(key, value)`, the oldest entry dropped first when it holds `max`. */
function keepBounded<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  if (map.size >= max) map.delete(map.keys().next().value as string);
  map.set(key, value);
}

export function openStore(gitdir: string): ObjectStore {
  const cache = {};
  // Trees and commits are immutable; memoising them by oid makes repeated snapshots of an unchanged repo cheap.
  const trees = new Map<string, TreeEntry[]>();
  /** Trees' bytes not decoded yet (rememberTreeBytes): decoded, a tree moves to `trees`. */
  const treeBytes = new Map<string, Buffer>();
  const commitTrees = new Map<string, string>();
  const keepTree = (oid: string, entries: TreeEntry[]) => keepBounded(trees, oid, entries, STORE_TREES);
  /** A tree's entries from its remembered bytes, when it has them. */
  const fromBytes = (oid: string): TreeEntry[] | undefined => {
    const bytes = treeBytes.get(oid);
    if (!bytes) return undefined;
    treeBytes.delete(oid);
    let entries: TreeEntry[];
    try {
      entries = decodeTree(bytes);
    } catch {
      // Not a tree's encoding: read from the clone again, where it is a damaged object, and repaired.
      return undefined;
    }
    keepTree(oid, entries);
    return entries;
  };
  const store: ObjectStore = {
    gitdir,
    cache,
    // Loose objects (everything a node writes or fetches in small packs) are read with node:zlib; packed ones
    // (a clone's pack) through isomorphic-git.
    async readTree(oid) {
      const hit = trees.get(oid) ?? fromBytes(oid);
      if (hit) return hit;
      const entries = await repairing(oid, () => treeOf(oid));
      keepTree(oid, entries);
      return entries;
    },
    async readTreeHere(oid) {
      try {
        const hit = trees.get(oid) ?? fromBytes(oid);
        if (hit) return hit;
        const entries = await treeOf(oid);
        keepTree(oid, entries);
        return entries;
      } catch {
        return null;
      }
    },
    async readBlob(oid, maxBytes) {
      return repairing(oid, async () => {
        const loose = await readLoose(gitdir, oid, maxBytes);
        if (loose) return loose.content;
        // Packed (the clone's first pack, or a large fetch kept as a pack): isomorphic-git reads it whole.
        const { blob } = await (await isoGit()).readBlob({ fs, gitdir, oid, cache });
        return maxBytes !== undefined && blob.length > maxBytes ? new Uint8Array(maxBytes + 1) : blob;
      });
    },
    async readBlobUpTo(oid, max) {
      const loose = await repairing(oid, async () => readLooseUpTo(gitdir, oid, max));
      if (loose !== null) return loose;
      const blob = await store.readBlob(oid);
      return blob.length > max ? blob.length : blob;
    },
    rememberTree(oid, entries) {
      if (!trees.has(oid)) keepTree(oid, entries);
    },
    rememberTreeBytes(oid, bytes) {
      if (!trees.has(oid)) keepBounded(treeBytes, oid, bytes, STORE_TREES);
    },
    keptTree(oid) {
      return trees.get(oid);
    },
    async readTreeBytes(oid) {
      const hit = trees.get(oid);
      const kept = (hit && treeBytesOf(hit)) ?? treeBytes.get(oid);
      if (kept) return kept;
      const bytes = await repairing(oid, async () => {
        const loose = await readLoose(gitdir, oid);
        return loose?.type === 'tree' ? loose.content : null;
      });
      // A command that looks a few entries up often writes the folder next (a dispatch adds its handoff): readTree
      // then decodes these bytes rather than inflate the object again.
      if (bytes !== null) store.rememberTreeBytes?.(oid, bytes);
      return bytes;
    },
    async readCommitTree(oid) {
      const hit = commitTrees.get(oid);
      if (hit) return hit;
      const tree = await repairing(oid, () => commitTreeOf(oid));
      if (!tree) throw new Error(`commit ${oid} has no tree line`);
      keepBounded(commitTrees, oid, tree, STORE_COMMITS);
      return tree;
    },
    async readTreeBytesHere(oid) {
      const hit = trees.get(oid);
      const kept = (hit && treeBytesOf(hit)) ?? treeBytes.get(oid);
      if (kept) return kept;
      try {
        const loose = await readLoose(gitdir, oid);
        return loose?.type === 'tree' ? loose.content : null;
      } catch {
        return null;
      }
    },
    async readCommitTreeHere(oid) {
      const hit = commitTrees.get(oid);
      if (hit) return hit;
      try {
        return (await commitTreeOf(oid)) ?? null;
      } catch {
        return null;
      }
    },
  };
  async function commitTreeOf(oid: string): Promise<string | undefined> {
    const loose = await readLoose(gitdir, oid);
    return loose ? /^tree ([0-9a-f]{40})/.exec(loose.content.toString('latin1', 0, 46))?.[1] : (await (await isoGit()).readCommit({ fs, gitdir, oid, cache })).commit.tree;
  }
  async function treeOf(oid: string): Promise<TreeEntry[]> {
    const loose = await readLoose(gitdir, oid);
    if (loose) {
      try {
        return decodeTree(loose.content);
      } catch {
        throw new CloneDamagedError(gitdir, oid, 'corrupt: not a tree git can read');
      }
    }
    const entries = (await (await isoGit()).readTree({ fs, gitdir, oid, cache })).tree as TreeEntry[];
    // isomorphic-git reads a tree cut short into an entry with a short id (decodeTree refuses it): damage, which a
    // repair fetches again, not an id to write into the next tree.
    if (entries.some((e) => !isOid(e.oid))) throw new CloneDamagedError(gitdir, oid, 'corrupt: an entry ends too soon');
    return entries;
  }
  /** One read; a damaged object is repaired (when the store can) and read once more. */
  const repairing = async <T>(oid: string, read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (first) {
      const err = asDamage(gitdir, oid, first);
      if (!(err instanceof CloneDamagedError) || !store.repair) throw err;
      await store.repair(oid, err);
      try {
        return await read();
      } catch (again) {
        throw asDamage(gitdir, oid, again);
      }
    }
  };
  return store;
}

/** A change to one file path: new content, an existing blob (by oid, e.g. when archiving), or null to delete it. */
export interface FileChange {
  path: string;
  content: Uint8Array | string | { oid: string } | { tree: string } | null;
}

export interface Identity {
  name: string;
  email: string;
}

export interface BuiltCommit {
  oid: string;
  tree: string;
  /** Every object this commit introduced: exactly what a push must send. */
  newOids: string[];
  /** Their contents, in the same order, for packing without reading them back. */
  objects: GitObject[];
  /** Built with `deferWrites`: writes the objects into the clone, which nothing did yet. */
  writeObjects?: () => void;
}

/**
 * Writes a commit whose tree is `baseTree` with `changes` applied, rewriting only the trees on changed paths. With
 * `deferWrites`, builds it in memory: nothing is in the clone until `writeObjects` (bus/cas.ts, which may find the
 * round lost first).
 */
export async function buildCommit(
  store: ObjectStore,
  opts: { parent: string | null; changes: FileChange[]; message: string; author: Identity; now?: Date; writeOnce?: (path: string) => boolean; deferWrites?: boolean },
): Promise<BuiltCommit> {
  const w = new CommitWriter(store.gitdir, opts.deferWrites === true);
  const baseTree = opts.parent ? await store.readCommitTree(opts.parent) : null;
  const root = await applyChanges(store, baseTree, opts.changes.map((c) => ({ parts: c.path.split('/'), content: c.content })), w, '', opts.writeOnce);
  const treeOid = root ?? (await w.write({ type: 'tree', content: encodeTree([]) }));
  const when = opts.now ?? new Date();
  const message = opts.message.endsWith('\n') ? opts.message : `${opts.message}\n`;
  const content = encodeCommit({ tree: treeOid, parents: opts.parent ? [opts.parent] : [], author: { ...opts.author, timestamp: Math.floor(when.getTime() / 1000) }, message });
  const oid = await w.write({ type: 'commit', content });
  return { oid, tree: treeOid, newOids: w.oids, objects: w.objects, ...(opts.deferWrites === true ? { writeObjects: () => w.flush() } : {}) };
}

interface PendingChange {
  parts: string[];
  content: FileChange['content'];
}

/**
 * Returns the new tree oid, or null when the tree ends up empty (git has no empty subtrees). `prefix`: the folder
 * this tree is, for errors. A file is never written over a folder, link or submodule, nor a folder over a file:
 * nothing gitbus writes replaces what a person put there (PathOccupiedError).
 */
async function applyChanges(store: ObjectStore, treeOid: string | null, changes: PendingChange[], w: CommitWriter, prefix: string, writeOnce?: (path: string) => boolean): Promise<string | null> {
  const entries = await editableTree(store, treeOid, changes.flatMap((c) => c.parts.slice(0, 1)));
  const byChild = new Map<string, PendingChange[]>();
  for (const change of changes) {
    const [head, ...rest] = change.parts;
    if (head === undefined) continue;
    const existing = entries.get(head);
    if (rest.length === 0) {
      const writesFile = change.content !== null && !(typeof change.content === 'object' && 'tree' in change.content);
      if (writesFile && existing && !isPlainFile(existing)) throw new PathOccupiedError(`${prefix}${head}`, entryKind(existing), 'a file');
      // The same bytes again (an idempotent step repeated) change nothing; other bytes would replace the file.
      if (writesFile && existing && writeOnce?.(`${prefix}${head}`) && !sameContent(existing.oid, change.content)) throw new WrittenOnceError(`${prefix}${head}`);
      if (change.content === null) {
        entries.delete(head);
      } else if (typeof change.content === 'object' && 'tree' in change.content) {
        // An existing tree put at a second path (the archive's id index): the remote has it, nothing is written.
        entries.set(head, { mode: '040000', path: head, oid: change.content.tree, type: 'tree' });
      } else if (typeof change.content === 'object' && 'oid' in change.content) {
        // The remote already has this blob (it is in main's history), so it is not sent again.
        entries.set(head, { mode: '100644', path: head, oid: change.content.oid, type: 'blob' });
      } else {
        const content = typeof change.content === 'string' ? Buffer.from(change.content, 'utf8') : change.content;
        const oid = await w.write({ type: 'blob', content });
        entries.set(head, { mode: '100644', path: head, oid, type: 'blob' });
      }
    } else {
      if (existing && existing.type !== 'tree') throw new PathOccupiedError(`${prefix}${head}`, entryKind(existing), 'a folder');
      const list = byChild.get(head) ?? [];
      list.push({ parts: rest, content: change.content });
      byChild.set(head, list);
    }
  }
  for (const [name, childChanges] of byChild) {
    const existing = entries.get(name);
    const childOid = await applyChanges(store, existing?.type === 'tree' ? existing.oid : null, childChanges, w, `${prefix}${name}/`, writeOnce);
    if (childOid === null) entries.delete(name);
    else entries.set(name, { mode: '040000', path: name, oid: childOid, type: 'tree' });
  }
  const content = entries.content();
  return content === null ? null : w.write({ type: 'tree', content });
}

function sameContent(oid: string, content: FileChange['content']): boolean {
  if (content === null || (typeof content === 'object' && 'tree' in content)) return false;
  if (typeof content === 'object' && 'oid' in content) return content.oid === oid;
  return gitObjectId('blob', typeof content === 'string' ? Buffer.from(content, 'utf8') : content) === oid;
}

const isPlainFile = (e: TreeEntry): boolean => e.type === 'blob' && e.mode !== '120000';

/** A path where a commit adding files would meet something of another kind (PathOccupiedError's case). */
export interface OccupiedPath {
  path: string;
  /** What is there: entryKind. */
  what: string;
  /** What the commit would write there. */
  writing: 'a file' | 'a folder';
}

/**
 * Where adding the files `paths` to the tree `root` would be refused with PATH_OCCUPIED, by applyChanges' own rule,
 * without writing anything: for a check that says so before a command fails on it. Each path once, in the order
 * met. The trees on the way must be in the clone (the archive's: bus/archive/folders.ts ensureFolders).
 */
export async function occupiedPaths(store: ObjectStore, root: string, paths: readonly string[]): Promise<OccupiedPath[]> {
  const found = new Map<string, OccupiedPath>();
  for (const path of paths) {
    const parts = path.split('/');
    let tree = root;
    for (let i = 0; i < parts.length; i++) {
      const entry = (await store.readTree(tree)).find((e) => e.path === parts[i]);
      if (!entry) break;
      const last = i === parts.length - 1;
      if (last ? !isPlainFile(entry) : entry.type !== 'tree') {
        const at = parts.slice(0, i + 1).join('/');
        if (!found.has(at)) found.set(at, { path: at, what: entryKind(entry), writing: last ? 'a file' : 'a folder' });
        break;
      }
      tree = entry.oid;
    }
  }
  return [...found.values()];
}
/** What a tree entry is, in words: a folder, a submodule, a symbolic link or a file. */
export const entryKind = (e: { type: string; mode: string }): string => (e.type === 'tree' ? 'a folder' : e.type === 'commit' ? 'a submodule' : e.mode === '120000' ? 'a symbolic link' : 'a file');

/** Lists a folder of a commit's tree; an absent folder is empty. */
export async function listFolder(store: ObjectStore, rootTree: string, folder: string): Promise<TreeEntry[]> {
  let entries = await store.readTree(rootTree);
  for (const part of folder.split('/')) {
    const next = entries.find((e) => e.path === part);
    if (!next || next.type !== 'tree') return [];
    entries = await store.readTree(next.oid);
  }
  return entries;
}
