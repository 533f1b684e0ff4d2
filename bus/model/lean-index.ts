import type { FileProblem } from '../../schemas/errors.js';
import { TASK_ID_RE } from '../../schemas/ids.js';
import { buildFiles, indexFolders, orphanProblems, type IndexMemo, type LiveTree, type PartsById, type TaskPart } from './index-tree.js';
import type { FolderTree } from './snapshot-disk-cache.js';
import type { FileRef, TaskFiles } from './types.js';

/**
 * What a reader of a few tasks needs of a commit's index, without putting every task's files together: a derived
 * status (bus/ops/status-derive.ts) works out only the tasks that changed since an earlier commit, and indexing
 * 5,000 pending tasks to find those few was most of what it cost (issue 14: two objects and three strings a task,
 * then copied by the garbage collector). The handoffs folder is looked up in its tree's bytes; the other folders,
 * which hold the files of claimed and ended tasks, are indexed as indexTree indexes them. The answers are
 * indexTree's: same problems in the same order, same files for each task.
 */
export interface LeanIndex {
  /** indexTree's `problems`. */
  problems: FileProblem[];
  nodes: Map<string, FileRef>;
  settings?: FileRef;
  /** How many tasks are live (indexTree's `tasks.size`). */
  count: number;
  has(id: string): boolean;
  /** A live task's files (the same object for the same id), as indexTree puts them together. */
  files(id: string): TaskFiles | undefined;
  /** The live tasks that have a file in any of `folders`, each once, in the index's order. */
  withFiles(folders: readonly TaskFolder[]): string[];
  /** Those of `ids` that are live, each once, in the index's order. */
  inIndexOrder(ids: Iterable<string>): string[];
}

/**
 * Beyond this many entries, a folder other than handoffs makes the lean index not worth it (it is indexed whole),
 * and the full index is built instead: a bus with thousands of claimed or ended tasks pays as it did.
 */
export const LEAN_OTHER_MAX = 1000;

/**
 * The lean index of a commit's live folders (`folders`, Snapshot's FolderTrees), or null when it cannot be had:
 * the handoffs folder's bytes are not at hand, one of its entries is not a regular file named `<id>.md` (the
 * index's fast path; anything else may be a problem to report, or another task's file), its names are not in strictly
 * increasing byte order (git's, which a lookup by halves relies on), or another folder is big.
 */
export function leanIndex(live: Pick<LiveTree, 'commit' | 'root'>, folders: ReadonlyMap<string, FolderTree>, memo?: IndexMemo): LeanIndex | null {
  const listed = folders.get('handoffs');
  const handoffs = listed ? (listed.bytes ? scanned(listed.tree, listed.bytes, listed.count) : null) : EMPTY;
  if (!handoffs) return null;
  const others = new Map<string, TreeEntryList>();
  const trees = new Map<string, string>();
  for (const [folder, f] of folders) {
    if (folder === 'handoffs') continue;
    if (f.count > LEAN_OTHER_MAX) return null;
    others.set(folder, f.entries);
    trees.set(folder, f.tree);
  }
  const indexed = indexFolders({ commit: live.commit, root: live.root, folders: others, trees }, memo);
  const all: { byId: PartsById }[] = [];
  for (const [folder, f] of indexed.folders) all.push(folder === 'handoffs' ? handoffs : f);
  const problems = indexed.problems;
  orphanProblems(all, handoffs, problems);
  const made = new Map<string, TaskFiles>();
  const files = (id: string): TaskFiles | undefined => {
    if (!handoffs.byId.has(id)) return undefined;
    let f = made.get(id);
    if (!f) made.set(id, (f = buildFiles(id, all)));
    return f;
  };
  // The index's order is the handoffs folder's: byte order of `<id>.md` (checked by the scan). Another folder's order
  // may be anything in a hand-made tree, and even in git's, "a.1.md" and "a-b.1.md" are not "a.md" and "a-b.md".
  const name = (id: string): string => `${id}.md`;
  const inIndexOrder = (ids: Iterable<string>): string[] => [...new Set(ids)].filter((id) => handoffs.byId.has(id)).sort((a, b) => (name(a) < name(b) ? -1 : 1));
  return {
    problems,
    nodes: indexed.nodes,
    ...(indexed.settings ? { settings: indexed.settings } : {}),
    count: handoffs.byId.size,
    has: (id) => handoffs.byId.has(id),
    files,
    withFiles: (with_) => inIndexOrder(with_.flatMap((f) => [...(indexed.folders.get(f)?.byId.keys() ?? [])])),
    inIndexOrder,
  };
}

type TreeEntryList = FolderTree['entries'];

/** A live folder of task files other than handoffs. */
export type TaskFolder = 'claims' | 'releases' | 'cancels' | 'responses' | 'deliveries';

/**
 * A folder of `<id>.md` regular files read from its tree's bytes: the index's fast path (index-tree.ts indexFolder)
 * for every entry, checked entry by entry with one sticky pattern, and a task's file found by halving. Nothing is
 * made per entry but two numbers, where decoding and indexing made two objects and three strings.
 */
class IdNamedParts implements PartsById {
  private constructor(
    private readonly folder: string,
    private readonly kind: TaskPart['kind'],
    private readonly bytes: Buffer,
    private readonly text: string,
    /** Where each entry's name starts and where its NUL is. */
    private readonly names: Uint32Array,
    private readonly nuls: Uint32Array,
  ) {}

  /**
   * Null when any entry is not a regular file named `<id>.md`, or the names are not in strictly increasing order.
   * `count`: how many entries the bytes hold (FolderTree.count).
   */
  static scan(folder: string, kind: TaskPart['kind'], bytes: Buffer, count: number): { byId: IdNamedParts } | null {
    const text = bytes.toString('latin1');
    const names = new Uint32Array(count);
    const nuls = new Uint32Array(count);
    let n = 0;
    let prev = '';
    for (let at = 0; at < text.length; n++) {
      ID_NAMED_ENTRY.lastIndex = at;
      if (n >= count || !ID_NAMED_ENTRY.test(text)) return null;
      const end = ID_NAMED_ENTRY.lastIndex;
      // "100644 " and its like: the name starts 7 bytes in; the id (20 bytes) follows its NUL.
      const name = at + 7;
      const nul = end - 21;
      // Compared as strings: one byte a character, and cheaper than a Buffer range compare per entry.
      const current = text.slice(name, nul);
      if (n > 0 && !(prev < current)) return null;
      prev = current;
      names[n] = name;
      nuls[n] = nul;
      at = end;
    }
    return n === count ? { byId: new IdNamedParts(folder, kind, bytes, text, names, nuls) } : null;
  }

  get size(): number {
    return this.names.length;
  }

  has(id: string): boolean {
    return this.find(id) >= 0;
  }

  get(id: string): TaskPart | undefined {
    const i = this.find(id);
    if (i < 0) return undefined;
    const nul = this.nuls[i] as number;
    return { kind: this.kind, attempt: 0, ref: { path: `${this.folder}/${id}.md`, oid: this.bytes.toString('hex', nul + 1, nul + 21) } };
  }

  *keys(): IterableIterator<string> {
    for (let i = 0; i < this.names.length; i++) yield this.text.slice(this.names[i] as number, (this.nuls[i] as number) - 3);
  }

  /** The entry named `<id>.md`, by halving (names in byte order, which for these names is the strings' order); -1: none. */
  private find(id: string): number {
    const want = `${id}.md`;
    let lo = 0;
    let hi = this.names.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const name = this.text.slice(this.names[mid] as number, this.nuls[mid] as number);
      if (name === want) return mid;
      if (name < want) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

/** One entry of the index's fast path: a regular file's mode (layout.ts isFileMode), a task id, ".md", its id. */
const ID_NAMED_ENTRY = new RegExp(`10(?:0644|0755|0664) ${TASK_ID_RE.source.slice(1, -1)}\\.md\\0[\\s\\S]{20}`, 'y');

const EMPTY: { byId: PartsById } = { byId: new Map() };

/**
 * The handoffs folder's scan by tree oid (trees are immutable): a command reads one commit in several snapshots (a
 * watcher's wake: its recovery, its reap, its look, its answer and its claim). The last two kept.
 */
const scans = new Map<string, { byId: IdNamedParts } | null>();

function scanned(tree: string, bytes: Buffer, count: number): { byId: IdNamedParts } | null {
  if (scans.has(tree)) return scans.get(tree) ?? null;
  const scan = IdNamedParts.scan('handoffs', 'handoff', bytes, count);
  if (scans.size >= 2) scans.delete(scans.keys().next().value as string);
  scans.set(tree, scan);
  return scan;
}
