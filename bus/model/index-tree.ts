import type { FileProblem } from '../../schemas/errors.js';
import { TASK_ID_RE } from '../../schemas/ids.js';
import { classifyEntry, FOLDER_KIND, isFileMode, LIVE_FOLDERS, type LiveFolder } from '../../schemas/layout.js';
import type { TreeEntry } from '../store/objects.js';
import type { FileRef, TaskFiles, TreeIndex } from './types.js';

/** The root tree and the live folders of one commit of main, as listed (nothing parsed yet). */
export interface LiveTree {
  commit: string;
  root: TreeEntry[];
  folders: Map<string, TreeEntry[]>;
  /** Each listed folder's tree oid: with an IndexMemo, what a folder's names say is worked out once per tree. */
  trees?: Map<string, string>;
}

type TaskFileKind = 'handoff' | 'claim' | 'release' | 'cancel' | 'response' | 'delivery';

/** One task file as its name classifies it. */
export interface TaskPart {
  kind: TaskFileKind;
  attempt: number;
  ref: FileRef;
}

/** What the names of one live folder say: worked out once per tree (trees are immutable). */
interface FolderIndex {
  problems: FileProblem[];
  nodes: [string, FileRef][];
  /** Task files by task id, in listing order: one part alone (most tasks have one file a folder), else a list. */
  byId: Map<string, TaskPart | TaskPart[]>;
}

/** A folder's task files by id, as a task's files are put together from them (a Map, or a lookup in a tree's bytes). */
export interface PartsById {
  readonly size: number;
  get(id: string): TaskPart | TaskPart[] | undefined;
  has(id: string): boolean;
  keys(): Iterable<string>;
}

const EMPTY_FOLDER: FolderIndex = { problems: [], nodes: [], byId: new Map() };

/**
 * What indexTree worked out for the last snapshot, so that a long-lived process (a watcher) does the work of what
 * changed, not of everything live, for every new commit: each folder's index by tree oid, and the last index's
 * TaskFiles. A task none of whose files changed gets the same TaskFiles object back, so whatever is derived from
 * it alone (its base view, bus/model/snapshot.ts) can be kept by identity. The index's `tasks` map is the memo's
 * too: whoever changes a snapshot's tasks (bus/trust/node-files.ts) replaces the map and the TaskFiles it changes,
 * never edits them. Bounded: two trees per folder, one index of tasks.
 */
export class IndexMemo {
  private readonly folders = new Map<string, Map<string, FolderIndex>>();
  last: { folders: Map<string, FolderIndex>; tasks: Map<string, TaskFiles> } | null = null;

  folder(folder: string, tree: string, entries: TreeEntry[]): FolderIndex {
    let trees = this.folders.get(folder);
    if (!trees) this.folders.set(folder, (trees = new Map()));
    const hit = trees.get(tree);
    if (hit) return hit;
    const index = indexFolder(folder, entries);
    if (trees.size >= 2) trees.delete(trees.keys().next().value as string);
    trees.set(tree, index);
    return index;
  }
}

function indexFolder(folder: string, entries: TreeEntry[]): FolderIndex {
  const out: FolderIndex = { problems: [], nodes: [], byId: new Map() };
  const kind = FOLDER_KIND[folder as LiveFolder] as TaskFileKind | 'node' | undefined;
  const byIdAlone = kind === 'handoff' || kind === 'cancel' || kind === 'response';
  for (const entry of entries) {
    // A regular file named `<id>.md` in a folder whose names are ids alone: what classifyEntry says of it, said
    // without its checks for every other name (a 5,000-task folder is listed at every command).
    if (byIdAlone && entry.path.endsWith('.md') && isFileMode(entry.mode)) {
      const id = entry.path.slice(0, -3);
      if (TASK_ID_RE.test(id)) {
        addPart(out.byId, id, { kind, attempt: 0, ref: { path: `${folder}/${entry.path}`, oid: entry.oid } });
        continue;
      }
    }
    let c = classifyEntry(folder, entry.path, entry.mode);
    let notAFile: FileProblem | undefined;
    if (!('kind' in c)) {
      // A folder, link or submodule named as a bus file still takes that file's place, as a file that does not
      // parse does (a claim's attempt, a task's id): nothing commits over it and so deletes what it holds. Its
      // problem is then the file's, reported with the task's.
      const slot = isFileMode(entry.mode) ? c : classifyEntry(folder, entry.path, '100644');
      if (!('kind' in slot)) {
        out.problems.push(c);
        continue;
      }
      notAFile = c;
      c = slot;
    }
    const ref: FileRef = notAFile ? { path: `${folder}/${entry.path}`, oid: entry.oid, notAFile } : { path: `${folder}/${entry.path}`, oid: entry.oid };
    if (c.kind === 'node') out.nodes.push([c.node, ref]);
    else if (c.kind !== 'settings') {
      addPart(out.byId, c.id, { kind: c.kind, attempt: 'attempt' in c ? c.attempt : 0, ref });
    }
  }
  return out;
}

function addPart(byId: FolderIndex['byId'], id: string, part: TaskPart): void {
  const had = byId.get(id);
  if (had === undefined) byId.set(id, part);
  else if (Array.isArray(had)) had.push(part);
  else byId.set(id, [had, part]);
}

/** A task's parts in a folder, as a list. */
const partsOf = (p: TaskPart | TaskPart[] | undefined): readonly TaskPart[] | undefined => (p === undefined || Array.isArray(p) ? p : [p]);

/**
 * The claims or releases of a task that has none: one shared map, since most live tasks (all pending ones) have
 * neither and two maps per task were a good part of what a command over 5,000 tasks allocates. TaskFiles are never
 * changed in place (IndexMemo); this map refuses it outright.
 */
class NoFiles extends Map<number, FileRef> {
  override set(): this {
    throw new Error('unreachable: a TaskFiles map is changed in place (copy it first)');
  }
}
const NONE: ReadonlyMap<number, FileRef> = new NoFiles();

export function buildFiles(id: string, folders: readonly { byId: PartsById }[]): TaskFiles {
  const t: TaskFiles = { id, claims: NONE as Map<number, FileRef>, releases: NONE as Map<number, FileRef> };
  for (const f of folders) {
    // Most folders hold nothing of a task (5,000 pending: no claims, no responses): no empty list made per miss.
    if (f.byId.size === 0) continue;
    const found = f.byId.get(id);
    if (found === undefined) continue;
    if (Array.isArray(found)) for (const p of found) addFile(t, p);
    else addFile(t, found);
  }
  return t;
}

function addFile(t: TaskFiles, p: TaskPart): void {
  if (p.kind === 'handoff') t.handoff = p.ref;
  else if (p.kind === 'claim') (t.claims === NONE ? (t.claims = new Map()) : t.claims).set(p.attempt, p.ref);
  else if (p.kind === 'release') (t.releases === NONE ? (t.releases = new Map()) : t.releases).set(p.attempt, p.ref);
  else if (p.kind === 'delivery') (t.deliveries ??= new Map()).set(p.attempt, p.ref);
  else if (p.kind === 'cancel') t.cancel = p.ref;
  else t.response = p.ref;
}

// A file that became a link (or back) with the same blob is another file: its ref says it is not one to read.
const sameParts = (a: readonly TaskPart[] | undefined, b: readonly TaskPart[]): boolean => a !== undefined && a.length === b.length && a.every((p, i) => p.ref.path === b[i]?.ref.path && p.ref.oid === b[i]?.ref.oid && p.ref.notAFile?.reason === b[i]?.ref.notAFile?.reason);

/** Ids whose files in this folder differ between two indexes of it. */
function changedIds(before: FolderIndex, after: FolderIndex, into: Set<string>): void {
  for (const [id, parts] of after.byId) if (!sameParts(partsOf(before.byId.get(id)), partsOf(parts) as readonly TaskPart[])) into.add(id);
  for (const id of before.byId.keys()) if (!after.byId.has(id)) into.add(id);
}

/**
 * The task ids whose files in live folder `folder` differ between two listings of it (added, removed, changed in
 * id or mode), each entry classified as the index classifies it: what a status derived from an earlier commit's
 * (bus/ops/status-derive.ts) works out again. Entries that belong to no task (layout problems) are left out: the
 * index reports those afresh. Null when a listing names one path twice (a hand-made tree), which a comparison by
 * name cannot speak for. Pure.
 */
export function changedTaskIds(folder: string, before: readonly TreeEntry[], after: readonly TreeEntry[]): Set<string> | null {
  const differ = increasing(before) && increasing(after) ? walkedApart(before, after) : keyedApart(before, after);
  return differ && taskIdsOf(folder, differ);
}

/** The ids of the tasks whose files `entries` of live folder `folder` are, classified as the index classifies them. Pure. */
export function taskIdsOf(folder: string, entries: TreeEntry[]): Set<string> {
  return new Set(indexFolder(folder, entries).byId.keys());
}

/** Whether each name sorts after the one before it: no name twice, and two listings can be walked side by side. */
function increasing(entries: readonly TreeEntry[]): boolean {
  for (let i = 1; i < entries.length; i++) if (!((entries[i - 1] as TreeEntry).path < (entries[i] as TreeEntry).path)) return false;
  return true;
}

const sameEntry = (a: TreeEntry, b: TreeEntry): boolean => a.oid === b.oid && a.mode === b.mode;

/** The entries of either listing that the other does not have as they are, for two listings in name order. */
function walkedApart(before: readonly TreeEntry[], after: readonly TreeEntry[]): TreeEntry[] {
  const differ: TreeEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const b = before[i];
    const a = after[j];
    if (a === undefined || (b !== undefined && b.path < a.path)) {
      differ.push(b as TreeEntry);
      i++;
    } else if (b === undefined || a.path < b.path) {
      differ.push(a);
      j++;
    } else {
      if (!sameEntry(b, a)) differ.push(a, b);
      i++;
      j++;
    }
  }
  return differ;
}

/** walkedApart for listings in any order (git's puts a folder as if its name ended in "/"); null on a name twice. */
function keyedApart(before: readonly TreeEntry[], after: readonly TreeEntry[]): TreeEntry[] | null {
  const was = new Map<string, TreeEntry>();
  for (const e of before) was.set(e.path, e);
  if (was.size !== before.length) return null;
  const seen = new Set<string>();
  const differ: TreeEntry[] = [];
  for (const e of after) {
    if (seen.has(e.path)) return null;
    seen.add(e.path);
    const b = was.get(e.path);
    if (b !== undefined && sameEntry(b, e)) was.delete(e.path);
    else differ.push(e);
  }
  // What is left of `before` was removed or changed: its old entry names its task as the new one does.
  differ.push(...was.values());
  return differ;
}

/**
 * Groups live files by task id using their names only. Pure: reading file contents is left to the caller,
 * so that deciding what is claimable needs to parse only the handoffs of candidate tasks. With a memo (and
 * `live.trees`), only the folders and tasks that changed since the memo's last index are worked out again; the
 * result is the same.
 */
export function indexTree(live: LiveTree, memo?: IndexMemo): TreeIndex {
  const { folders, problems, nodes, settings } = indexFolders(live, memo);
  const all = [...folders.values()];
  const handoffs = folders.get('handoffs') ?? EMPTY_FOLDER;

  // A task is live when its handoff is, in the handoffs folder's order; its other folders only change its files.
  let tasks: Map<string, TaskFiles>;
  const last = memo?.last;
  if (last) {
    const affected = new Set<string>();
    for (const [folder, f] of folders) {
      const before = last.folders.get(folder) ?? EMPTY_FOLDER;
      if (before !== f) changedIds(before, f, affected);
    }
    if (last.folders.get('handoffs') === handoffs) {
      const touched = [...affected].filter((id) => last.tasks.has(id));
      tasks = touched.length === 0 ? last.tasks : new Map(last.tasks);
      for (const id of touched) tasks.set(id, buildFiles(id, all));
    } else {
      tasks = new Map();
      for (const id of handoffs.byId.keys()) tasks.set(id, (!affected.has(id) && last.tasks.get(id)) || buildFiles(id, all));
    }
  } else {
    tasks = new Map();
    for (const id of handoffs.byId.keys()) tasks.set(id, buildFiles(id, all));
  }
  if (memo) memo.last = { folders, tasks };
  orphanProblems(all, handoffs, problems);
  const index: TreeIndex = { commit: live.commit, tasks, nodes, problems };
  if (settings) index.settings = settings;
  return index;
}

/** The root's and each live folder's names indexed (what indexTree works out before it puts tasks' files together). */
export function indexFolders(live: LiveTree, memo?: IndexMemo): { folders: Map<string, FolderIndex>; nodes: Map<string, FileRef>; settings?: FileRef; problems: FileProblem[] } {
  const { settings, problems } = rootFacts(live.root);
  const folders = new Map<string, FolderIndex>();
  for (const folder of LIVE_FOLDERS) {
    const entries = live.folders.get(folder);
    const tree = live.trees?.get(folder);
    const f = !entries || entries.length === 0 ? EMPTY_FOLDER : memo && tree !== undefined ? memo.folder(folder, tree, entries) : indexFolder(folder, entries);
    folders.set(folder, f);
    problems.push(...f.problems);
  }
  const nodes = nodeFiles(folders.get('nodes'));
  return settings ? { folders, nodes, settings, problems } : { folders, nodes, problems };
}

/** The node cards' files by node, from the nodes folder's index (the index's `nodes`: a map of its own, which trust edits). */
export function nodeFiles(folder: FolderIndex | undefined): Map<string, FileRef> {
  return new Map<string, FileRef>((folder ?? EMPTY_FOLDER).nodes);
}

/** What the root's names say: gitbus.yaml's file, and the problems of names the layout gives a kind they do not have. Pure. */
export function rootFacts(root: readonly TreeEntry[]): { settings?: FileRef; problems: FileProblem[] } {
  const problems: FileProblem[] = [];
  let settings: FileRef | undefined;
  for (const entry of root) {
    if (entry.path === 'gitbus.yaml') {
      if (entry.type === 'blob' && entry.mode !== '120000') settings = { path: 'gitbus.yaml', oid: entry.oid };
      else problems.push({ path: 'gitbus.yaml', field: '', reason: 'gitbus.yaml must be a regular file', fix: 'replace it with a regular file', severity: 'error' });
    } else if ((LIVE_FOLDERS as readonly string[]).includes(entry.path) && entry.type !== 'tree') {
      problems.push({ path: entry.path, field: '', reason: `${entry.path} must be a folder`, fix: `remove the file ${entry.path}`, severity: 'error' });
    }
  }
  return settings ? { settings, problems } : { problems };
}

/** Adds to `problems` the files of tasks that have no handoff, in the order the folders list them. */
export function orphanProblems(all: readonly { byId: PartsById }[], handoffs: { byId: PartsById }, problems: FileProblem[]): void {
  const orphans = new Set<string>();
  for (const f of all) {
    if (f === handoffs) continue;
    for (const id of f.byId.keys()) {
      if (handoffs.byId.has(id) || orphans.has(id)) continue;
      orphans.add(id);
      const t = buildFiles(id, all);
      for (const ref of [...t.claims.values(), ...t.releases.values(), t.cancel, t.response, ...(t.deliveries?.values() ?? [])]) {
        if (ref) problems.push({ path: ref.path, field: '', reason: `no handoff handoffs/${t.id}.md for this file`, fix: `remove it, or restore handoffs/${t.id}.md`, severity: 'error' });
      }
    }
  }
}

/** The attempt a task's open claim holds: the highest claimed attempt that was not released. */
export function openAttempt(files: TaskFiles): number | null {
  let max = 0;
  for (const a of files.claims.keys()) if (a > max) max = a;
  if (max === 0 || files.releases.has(max)) return null;
  return max;
}

/**
 * Releases that give back an attempt no claim file holds (written by hand: only the holder of a claim writes its
 * release, after it). Each is reported (`gitbus lint`, the web view's problems); a new claim skips its number. Pure.
 */
export function releasesWithoutClaim(files: TaskFiles): FileProblem[] {
  const out: FileProblem[] = [];
  for (const [a, ref] of files.releases) {
    if (files.claims.has(a) || a <= (files.takenAttempt ?? 0)) continue;
    out.push({
      path: ref.path,
      field: 'attempt',
      reason: `it gives back attempt ${a} of task ${files.id}, which no claim holds: only the node holding a claim writes its release, after the claim`,
      fix: `remove it (git rm ${ref.path}); meanwhile a new claim of ${files.id} skips attempt ${a}`,
      severity: 'warning',
    });
  }
  return out;
}

export function highestAttempt(files: TaskFiles): number {
  let max = 0;
  for (const a of files.claims.keys()) if (a > max) max = a;
  return max;
}

/** Those of `tasks` that have a file in any of `folders` (Snapshot.filesWith over a whole index). Pure. */
export function tasksWithFiles(tasks: Iterable<TaskFiles>, folders: readonly string[]): TaskFiles[] {
  // A long-lived watcher walks its index so at every wake: plain tests, no function a task.
  const claims = folders.includes('claims');
  const releases = folders.includes('releases');
  const cancels = folders.includes('cancels');
  const responses = folders.includes('responses');
  const deliveries = folders.includes('deliveries');
  const out: TaskFiles[] = [];
  for (const f of tasks) {
    if ((claims && f.claims.size > 0) || (releases && f.releases.size > 0) || (cancels && f.cancel) || (responses && f.response) || (deliveries && f.deliveries?.size)) out.push(f);
  }
  return out;
}
