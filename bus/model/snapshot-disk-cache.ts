import { isFileMode } from '../../schemas/layout.js';
import type { ObjectStore, TreeEntry } from '../store/objects.js';
import { parseCacheDir, type ParseCacheDir } from '../store/parse-cache.js';
import type { CachedEntry, CachedFacts } from '../store/parse-cache-file.js';
import { baseViews, cached, parseCacheGeneration, parsedIn, remember } from './snapshot-memos.js';
import type { FileRef, TaskFiles } from './types.js';

/*
 * Snapshot's side of the parse cache on disk (docs/ARCHITECTURE.md "The parse cache"): what it loads into the
 * in-process parse cache (snapshot-memos.ts), what it writes back, and the handoff facts. Each function takes from the
 * snapshot what it reads: its store, its live folders' trees and listings, the folders it loaded, its tasks.
 */

/** A live folder's tree oid and listing (Snapshot.read lists them). */
export interface FolderTree {
  tree: string;
  /** Its listing; one made from the tree's bytes (live-folders.ts folderTreeOf) is decoded when first read. */
  readonly entries: TreeEntry[];
  /** How many entries it lists, counted without decoding them. */
  readonly count: number;
  /** The tree's bytes, when it was read as bytes: what a reader of a few entries looks them up in. */
  readonly bytes?: Buffer;
}
/** Each live folder's FolderTree, by folder. */
type FolderTrees = ReadonlyMap<string, FolderTree>;

/**
 * The parse cache on disk, shared by the node's processes (bus/store/parse-cache.ts): per clone, which files this
 * process already read (so a long-lived one reads each at most once) and, per folder, the keys the folder's last
 * file read or written holds (so that a file is written again only when enough is new).
 */
interface DiskCache {
  dir: ParseCacheDir;
  seen: Set<string>;
  /** Per folder, the entries (blob oid to name) its last file read or written holds. */
  onDisk: Map<string, Map<string, string>>;
  /** Per folder, the tree and parsedFromBlobs at its last saveParsed. */
  checked: Map<string, string>;
  /** Folder trees loadParsed has seen: their files are in the parse cache already (or were parsed once). */
  loaded: Set<string>;
  /** parseCacheGeneration when `loaded` was last valid: an emptied parse cache holds none of those trees' files. */
  generation: number;
  /** The handoff facts last read, and the handoffs tree they were read for: every key's test reads them once. */
  facts?: { tree: string; map: Map<string, CachedFacts> | null };
  /** Folders this process has looked up on disk (or decided not to) since the in-process parse cache was last emptied. */
  looked: Set<string>;
  /**
   * Per folder, the last look at its entries that wrote nothing: parsedFromBlobs then, how many were new to the disk
   * (`fresh`), and against which file's entries (`onDisk`). Until enough blobs were parsed since to make a file worth
   * writing, saveParsed need not look again: an entry becomes new to the disk only by being parsed (issue 14: a watcher
   * on a busy bus looked at every entry of its folders, a live task each, at every decision).
   */
  scanned: Map<string, { parsed: number; fresh: number; onDisk: Map<string, string> | undefined }>;
}
const diskCaches = new Map<string, DiskCache>();
/**
 * Fewer misses than this are parsed rather than looked up on disk, once a process has looked at the folder (its first
 * look reads the file for a single miss: see worthLoading).
 */
export const DISK_MIN_NEW = 8;
/**
 * A folder of at most this many files is small: a reader of a few of its files reads its whole file at the first
 * look (Snapshot.parse), which costs less than parsing one of them in a new process (~100 parse results, ~1 ms).
 */
export const SMALL_FOLDER = 100;
/** A folder's file is rewritten when at least this share of its entries (and at least one) is new since it was written. */
const DISK_NEW_SHARE = 0.05;

/**
 * Whether a folder's file on disk is read rather than its `missing` files parsed from their blobs. A process's first
 * look reads it for any miss: a command in a process of its own would otherwise parse a small bus's every handoff and
 * card as YAML at every run, the first of them with the YAML parser's code cold (~5 ms on a quiet machine; `status`
 * on a bus of five tasks spent ~15 % of its CPU so, issue 14 session 38), where the file of a small folder is one
 * read. After that, a long-lived process (a watcher) parses the few files each new commit brings: reading the whole
 * folder's file again would cost more. Pure.
 */
export function worthLoading(missing: number, firstLook: boolean): boolean {
  return missing >= (firstLook ? 1 : DISK_MIN_NEW);
}

/**
 * Whether a folder's file is written again, `fresh` of its `entries` being new since its last file: for at least a
 * twentieth of them, so that a steady trickle of new tasks rewrites a big folder rarely (each entry is written about
 * twenty times over per new one at most), and for a single one in a small folder, whose file is small. Pure.
 */
export function worthSaving(fresh: number, entries: number): boolean {
  return fresh >= Math.max(1, Math.ceil(entries * DISK_NEW_SHARE));
}

function diskCacheOf(store: ObjectStore): DiskCache {
  let d = diskCaches.get(store.gitdir);
  if (!d) {
    d = { dir: parseCacheDir(store.gitdir), seen: new Set(), onDisk: new Map(), checked: new Map(), loaded: new Set(), generation: parseCacheGeneration(), looked: new Set(), scanned: new Map() };
    diskCaches.set(store.gitdir, d);
  }
  return d;
}

/** diskCacheOf, its memory of what was loaded forgotten when the in-process parse cache was emptied since. */
function freshDiskCacheOf(store: ObjectStore): DiskCache {
  const disk = diskCacheOf(store);
  if (disk.generation !== parseCacheGeneration()) {
    disk.loaded.clear();
    disk.looked.clear();
    disk.generation = parseCacheGeneration();
  }
  return disk;
}

/**
 * Fills the in-process parse cache from the disk cache for folders with many files not parsed yet: once per
 * snapshot, when the first view is built or a bulk reader starts, not when the snapshot is read.
 */
export function loadParsedFromDisk(store: ObjectStore, folderTrees: FolderTrees, loadedFolders: Set<string>, except?: string): void {
  const disk = freshDiskCacheOf(store);
  for (const [folder, listing] of folderTrees) {
    if (folder === except || loadedFolders.has(folder)) continue;
    loadedFolders.add(folder);
    const tree = listing.tree;
    // A tree met before was looked up (or parsed) then: a long-lived process does not count its files again.
    const seenTree = `${folder} ${tree}`;
    if (disk.loaded.has(seenTree)) continue;
    if (disk.loaded.size > 1000) disk.loaded.clear();
    disk.loaded.add(seenTree);
    const entries = listing.entries;
    let missing = 0;
    let blobs = 0;
    for (const e of entries) {
      if (e.type !== 'blob') continue;
      blobs++;
      if (!cached(`${folder}/${e.path}`, e.oid)) missing++;
    }
    const first = !disk.looked.has(folder);
    disk.looked.add(folder);
    if (!worthLoading(missing, first)) continue;
    // A long-lived process reads or writes a new file every few hundred tasks; the names it remembers stay few.
    if (disk.seen.size > 1000) disk.seen.clear();
    const found = disk.dir.load(folder, tree, disk.seen);
    if (!found) continue;
    // A file of this very tree lists only its entries (saveParsed writes what the tree lists); an older file's
    // entries are kept in memory only where this tree still lists them: the rest are of tasks gone since.
    const listed = found.exact ? null : new Map(entries.map((e) => [e.path, e.oid]));
    const keys = new Map<string, string>();
    for (const c of found.entries) {
      keys.set(c.oid, c.name);
      const path = `${folder}/${c.name}`;
      if ((!listed || listed.get(c.name) === c.oid) && !cached(path, c.oid)) remember(path, c.oid, c.parsed);
    }
    disk.onDisk.set(folder, keys);
    // Nothing of this tree was in memory before, and its own file is loaded: saveParsed has nothing new to write
    // until this process parses a blob, and need not walk the listing to find that out.
    if (found.exact && missing === blobs) disk.checked.set(folder, `${tree} ${parsedIn(folder)}`);
  }
}

/**
 * Writes the parse results of this snapshot's folders to the disk cache where enough are new since the folder's
 * last file (bulk readers call it after parsing: status, lint, claim --next). Cheap when nothing is new.
 */
export function saveParsedToDisk(store: ObjectStore, folderTrees: FolderTrees, loadedFolders: Set<string>): void {
  const disk = diskCacheOf(store);
  for (const [folder, listing] of folderTrees) {
    // Only a folder whose disk cache was loaded holds what its files hold: one whose few views were parsed from
    // their blobs, or whose handoffs were read as facts (rowViews), would write a file missing the rest.
    if (!loadedFolders.has(folder)) continue;
    const at = `${listing.tree} ${parsedIn(folder)}`;
    if (disk.checked.get(folder) === at) continue;
    disk.checked.set(folder, at);
    const { tree, entries } = listing;
    const onDisk = disk.onDisk.get(folder);
    const last = disk.scanned.get(folder);
    if (last && last.onDisk === onDisk && !worthSaving(last.fresh + parsedIn(folder) - last.parsed, entries.length)) continue;
    const known: CachedEntry[] = [];
    let fresh = 0;
    for (const e of entries) {
      // A link's blob may be the bytes a file of that name held: never kept as that file's parse.
      if (e.type !== 'blob' || !isFileMode(e.mode)) continue;
      const parsed = cached(`${folder}/${e.path}`, e.oid);
      if (!parsed) continue;
      known.push({ name: e.path, oid: e.oid, parsed });
      if (onDisk?.get(e.oid) !== e.path) fresh++;
    }
    if (!worthSaving(fresh, entries.length)) {
      disk.scanned.set(folder, { parsed: parsedIn(folder), fresh, onDisk });
      continue;
    }
    if (disk.dir.save(folder, tree, known, disk.seen)) disk.onDisk.set(folder, new Map(known.map((k) => [k.oid, k.name])));
  }
}

/** The disk cache's handoff facts for this snapshot's handoffs tree, read once per tree by the process (null: no file). */
export function handoffFactsFile(store: ObjectStore, folderTrees: FolderTrees): Map<string, CachedFacts> | null {
  const tree = folderTrees.get('handoffs')?.tree ?? '';
  const disk = diskCacheOf(store);
  if (disk.facts?.tree !== tree) disk.facts = { tree, map: disk.dir.loadFacts('handoffs', tree) };
  return disk.facts.map;
}

/**
 * The disk cache's handoff facts for this snapshot's handoffs tree (null: no file), with the other folders' parse
 * results loaded, and the handoffs' too when the facts miss more than a few live handoffs not in memory (then
 * saveParsed writes a file for this tree): what rowViews and problemParts read instead of every handoff's parse.
 */
export function readHandoffRows(store: ObjectStore, folderTrees: FolderTrees, loadedFolders: Set<string>, tasks: ReadonlyMap<string, TaskFiles>): Map<string, CachedFacts> | null {
  const facts = handoffFactsFile(store, folderTrees);
  let missing = 0;
  for (const f of tasks.values()) {
    const ref = f.handoff;
    if (ref && !rowMatches(facts?.get(ref.oid), ref) && !cached(ref.path, ref.oid) && !baseViews.has(f)) missing++;
  }
  loadParsedFromDisk(store, folderTrees, loadedFolders, worthLoading(missing, !freshDiskCacheOf(store).looked.has('handoffs')) ? undefined : 'handoffs');
  return facts;
}

/** Whether a facts row is of the handoff at `ref` (a row is keyed by blob oid; the same bytes under another name are another file). */
export function rowMatches(row: CachedFacts | undefined, ref: FileRef | undefined): row is CachedFacts {
  return row !== undefined && ref !== undefined && !ref.notAFile && ref.path.length === row.name.length + 9 && ref.path.endsWith(row.name) && ref.path.startsWith('handoffs/');
}
