import type { FileProblem } from '../../schemas/errors.js';
import { MAX_FILE_BYTES } from '../../schemas/field-limits.js';
import { parsedContent } from './parsed-content.js';
import { DEFAULT_SETTINGS, resolveSettings, type BusSettings, type ResolvedSettings } from '../../schemas/settings.js';
import type { NodeCard } from '../../schemas/node-card.js';
import type { Handoff } from '../../schemas/handoff.js';
import type { Delivery } from '../../schemas/delivery.js';
import type { ObjectStore, TreeEntry } from '../store/objects.js';
import { liveFoldersOf } from './live-folders.js';
import { handoffIdsWhere } from './handoff-tests.js';
import type { CachedFacts, HandoffFacts } from '../store/parse-cache-file.js';
import { indexTree, nodeFiles, rootFacts, tasksWithFiles, type LiveTree } from './index-tree.js';
import { leanIndex, type LeanIndex, type TaskFolder } from './lean-index.js';
import { DISK_MIN_NEW, SMALL_FOLDER, handoffFactsFile, loadParsedFromDisk, readHandoffRows, saveParsedToDisk, type FolderTree } from './snapshot-disk-cache.js';
import { baseViews, cached, handoffs, indexMemo, parsedFromBlobs, parsedIn, remember } from './snapshot-memos.js';
import { rowViewsOf, type RowViewSource } from './snapshot-row-views.js';
import { settingsFileAt } from './snapshot-settings.js';
import { problemPartsOf, type ProblemParts } from './snapshot-problems.js';
import { applyDependencies, baseTaskView, isDeliveryRef, refsToParse, withDependencies, type Parsed, type ParsedTaskFiles, type StateFields, type TaskView } from './task-view.js';
import type { FileRef, ForgedFile, SettingOverride, TaskFiles, TaskState, TreeIndex } from './types.js';

export interface NodeView {
  node: string;
  card?: NodeCard;
  problems: FileProblem[];
}

/**
 * One commit of main, read lazily: names are indexed at once, file contents are parsed on demand and cached by
 * oid. Every decision of an operation is taken from one Snapshot, which is what makes compare-and-swap sound.
 */
export class Snapshot {
  settings: ResolvedSettings = resolveSettings(DEFAULT_SETTINGS);
  settingsProblems: FileProblem[] = [];
  /** gitbus.yaml as written, when it parsed (null: missing or unreadable, so `settings` are the defaults). */
  settingsFile: BusSettings | null = null;
  /**
   * Settings a node that enforces trust took from its trust version over gitbus.yaml's (bus/trust/node-files.ts
   * applyTrust): `settings` already holds the version's values; each is also a warning in `settingsProblems`.
   */
  settingsOverridden: SettingOverride[] = [];
  /**
   * Files taken out of the index because they are forged in a node's name (bus/trust/node-files.ts, on a node that
   * enforces trust): the task model never sees them; status, show and lint report them.
   */
  forged: ForgedFile[] = [];
  /** Folders whose disk cache file this snapshot loaded (loadParsed): only those are saved (saveParsed). */
  private loadedFolders = new Set<string>();
  /** handoffRows's answer, once per snapshot (status asks it for the views and again for the problems). */
  private rows: Map<string, CachedFacts> | null | undefined;
  /** Each live folder's tree oid and listing, for the parse cache on disk. */
  private folderTrees = new Map<string, FolderTree>();

  /** The index, once built (`index`); a reader of a few tasks may do with the lean one (useLean). */
  private built: TreeIndex | undefined;
  /** The lean index (lean-index.ts), when useLean made one and nothing built the whole index since. */
  private lean: LeanIndex | null | undefined;

  private constructor(
    readonly store: ObjectStore,
    readonly commit: string | null,
    /** The commit's root listing (index-tree.ts rootFacts says what its names mean). */
    readonly root: TreeEntry[],
  ) {}

  static async read(store: ObjectStore, commit: string | null): Promise<Snapshot> {
    const root = commit ? await store.readTree(await store.readCommitTree(commit)) : [];
    const snap = new Snapshot(store, commit, root);
    if (commit) snap.folderTrees = await liveFoldersOf(store, root);
    await snap.loadSettings();
    return snap;
  }

  /**
   * Every live task's files by id, from the names alone: built when first asked for (a reader of a few tasks asks
   * through useLean instead). Whoever changes it (bus/trust/node-files.ts) changes this object.
   */
  get index(): TreeIndex {
    if (!this.built) {
      const live: LiveTree = { commit: this.commit ?? '', root: this.root, folders: new Map(), trees: new Map() };
      for (const [folder, f] of this.folderTrees) {
        live.folders.set(folder, f.entries);
        live.trees?.set(folder, f.tree);
      }
      this.built = indexTree(live, indexMemo);
      this.lean = null;
    }
    return this.built;
  }

  /**
   * Answers has, filesOf, taskCount, layoutProblems, nodeRefs, filesWith and inIndexOrder from the lean index
   * (lean-index.ts) until something reads `index`: for a reader of a few tasks of a big bus. False when there is none
   * to be had.
   */
  useLean(firstIndex = false): boolean {
    // `firstIndex`: only in a process that has built no index yet. A long-lived one (a watcher, whose housekeeping
    // reads every task) builds each index from the last (IndexMemo), handing back the TaskFiles its kept views are
    // found by.
    if (this.lean === undefined && !(firstIndex && indexMemo.last)) this.lean = this.built ? null : leanIndex({ commit: this.commit ?? '', root: this.root }, this.folderTrees, indexMemo);
    return !!this.lean;
  }

  /** A live task's files (undefined: the id is not live). */
  filesOf(id: string): TaskFiles | undefined {
    return this.lean ? this.lean.files(id) : this.index.tasks.get(id);
  }

  /** How many tasks are live. */
  taskCount(): number {
    return this.lean ? this.lean.count : this.index.tasks.size;
  }

  /** The names that break the layout rules (the index's problems). */
  layoutProblems(): FileProblem[] {
    return this.lean ? this.lean.problems : this.index.problems;
  }

  /** The live node cards' files by node: the index's, else the nodes folder's names alone (no task is indexed for them). */
  nodeRefs(): ReadonlyMap<string, FileRef> {
    if (this.built) return this.built.nodes;
    if (this.lean) return this.lean.nodes;
    const f = this.folderTrees.get('nodes');
    return nodeFiles(f && f.count > 0 ? indexMemo.folder('nodes', f.tree, f.entries) : undefined);
  }

  /** Those of `ids` that are live, each once, in the index's order (the handoffs folder's). */
  inIndexOrder(ids: Iterable<string>): string[] {
    if (this.lean) return this.lean.inIndexOrder(ids);
    const wanted = new Set(ids);
    return wanted.size === 0 ? [] : [...this.index.tasks.keys()].filter((id) => wanted.has(id));
  }

  /**
   * The files of the live tasks that have a file in any of `folders`, in the index's order: what a reader of the
   * claimed, released or ended tasks walks (on a bus of 5,000 pending tasks, a few).
   */
  filesWith(folders: readonly TaskFolder[]): TaskFiles[] {
    if (this.lean) return this.lean.withFiles(folders).flatMap((id) => this.lean?.files(id) ?? []);
    return tasksWithFiles(this.index.tasks.values(), folders);
  }

  /** Fills the in-process parse cache from the disk cache where it pays (snapshot-disk-cache.ts loadParsedFromDisk). */
  private loadParsed(except?: string): void {
    loadParsedFromDisk(this.store, this.folderTrees, this.loadedFolders, except);
  }

  /** The same for one folder only: a reader of every file of it that needs no other. */
  private loadParsedFolder(folder: string): void {
    const tree = this.folderTrees.get(folder);
    if (tree) loadParsedFromDisk(this.store, new Map([[folder, tree]]), this.loadedFolders);
  }

  /**
   * Writes the parse results of this snapshot's folders to the disk cache where enough are new since the folder's
   * last file (bulk readers call it after parsing: status, lint, claim --next). Cheap when nothing is new.
   */
  saveParsed(): void {
    saveParsedToDisk(this.store, this.folderTrees, this.loadedFolders);
  }

  private async loadSettings(): Promise<void> {
    const { settings: ref, problems } = rootFacts(this.root);
    if (!ref) {
      // One that is there but not a regular file is reported already, by the index, as what it is.
      if (this.commit && !problems.some((p) => p.path === 'gitbus.yaml')) this.settingsProblems.push({ path: 'gitbus.yaml', field: '', reason: 'missing', fix: 'bring gitbus.yaml back with a commit (in a clone of the bus: git log --diff-filter=D -1 --format=%H -- gitbus.yaml names the commit C that deleted it; git checkout C~1 -- gitbus.yaml, then commit and push; docs/PROTOCOL.md §3): until then no node claims or writes anything on this main', severity: 'error' });
      return;
    }
    const r = await settingsFileAt(this.store, ref);
    if (r.ok) {
      this.settings = r.settings;
      this.settingsFile = r.file.data;
      // A setting of a newer gitbus ignored here, a heartbeat not shorter than the lease: in use, and said.
      this.settingsProblems.push(...r.warnings);
    } else {
      this.settingsProblems.push(...r.problems);
      // A newer bus must never be written with this version's rules: carry its protocol so writers refuse.
      if (r.unsupportedProtocol !== undefined) this.settings = { ...this.settings, protocol: r.unsupportedProtocol };
    }
  }

  async parse<T>(ref: FileRef): Promise<Parsed<T>> {
    if (ref.notAFile) return { ok: false, problems: [ref.notAFile] };
    const hit = cached(ref.path, ref.oid);
    if (hit) return hit as Parsed<T>;
    const slash = ref.path.indexOf('/');
    const folder = slash < 0 ? '' : ref.path.slice(0, slash);
    // A reader of a few files (the open claims status looks at, claim --next's candidates) in a small folder not
    // looked at yet: its file is one read, where parsing even one file as YAML in a new process warms up the parser.
    if (!this.loadedFolders.has(folder) && (this.folderTrees.get(folder)?.count ?? Infinity) <= SMALL_FOLDER) {
      this.loadParsedFolder(folder);
      const loaded = cached(ref.path, ref.oid);
      if (loaded) return loaded as Parsed<T>;
    }
    // Above the limit the file is not read at all: a handoff of 600 MB would hold the process for half a minute.
    const content = await this.store.readBlobUpTo(ref.oid, MAX_FILE_BYTES);
    const parsed = parsedContent(ref.path, content);
    remember(ref.path, ref.oid, parsed);
    parsedFromBlobs.set(folder, parsedIn(folder) + 1);
    return parsed as Parsed<T>;
  }

  ids(): string[] {
    return [...this.index.tasks.keys()];
  }

  has(id: string): boolean {
    return this.lean ? this.lean.has(id) : this.index.tasks.has(id);
  }

  /** The task's state before dependencies are applied; undefined when the id is not live. */
  async baseView(id: string, bulk = true): Promise<TaskView | undefined> {
    const files = this.filesOf(id);
    if (!files?.handoff) return undefined;
    const cached = baseViews.get(files);
    if (cached) return cached;
    // A view to build: many more usually follow (every loop over the tasks), so the disk cache is looked at now. A
    // long-lived watcher whose views are all kept never gets here, and never counts its folders' files again.
    // `bulk` false: the caller knows it needs only a few views, whose files are parsed from their blobs.
    if (bulk) this.loadParsed();
    const view = baseTaskView(files, await this.parseTaskFiles(files, await this.parse<Handoff>(files.handoff)));
    baseViews.set(files, view);
    return view;
  }

  /** The files of a task a view needs (refsToParse), parsed, with its handoff as given. */
  private async parseTaskFiles<H extends StateFields>(files: TaskFiles, handoff: Parsed<H>): Promise<ParsedTaskFiles<H>> {
    const parsed: ParsedTaskFiles<H> = { handoff };
    for (const ref of refsToParse(files)) {
      if (ref === files.handoff) continue;
      const p = await this.parse(ref);
      if (ref === files.response) parsed.response = p as ParsedTaskFiles['response'];
      else if (isDeliveryRef(files, ref)) (parsed.deliveries ??= []).push({ path: ref.path, parsed: p as Parsed<Delivery> });
      else if (ref === files.cancel) parsed.cancel = p as ParsedTaskFiles['cancel'];
      else parsed.claim = p as ParsedTaskFiles['claim'];
    }
    return parsed;
  }

  /** The disk cache's handoff facts, other folders' parse results loaded (snapshot-disk-cache.ts readHandoffRows). */
  private handoffRows(): Map<string, CachedFacts> | null {
    if (this.rows === undefined) this.rows = readHandoffRows(this.store, this.folderTrees, this.loadedFolders, this.index.tasks);
    return this.rows;
  }

  /**
   * The views of `ids` (those live, in order), dependencies applied as viewsOf does, each holding of its handoff
   * only its facts (HandoffFacts, no body): what status lists. The handoffs come from the disk cache's facts rather
   * than its parse results, a third of the bytes and of the objects to decode with 5,000 pending tasks. State,
   * attempts, waiting and problems are the full view's: baseTaskView reads no more of a handoff than its facts.
   */
  async rowViews(ids: Iterable<string>, external?: (missing: string[]) => Promise<Map<string, TaskState>>, few = false): Promise<TaskView<HandoffFacts>[]> {
    // `few`: the views of a few tasks (a status derived from an earlier commit's), parsed from their blobs.
    const facts = few ? null : this.handoffRows();
    const source: RowViewSource = {
      files: (id) => this.filesOf(id),
      has: (id) => this.has(id),
      parse: (ref) => this.parse<Handoff>(ref),
      parseTaskFiles: (files, handoff) => this.parseTaskFiles(files, handoff),
    };
    return rowViewsOf(source, facts, ids, external);
  }

  /**
   * A live task's handoff as parsed, without building its view (undefined when the id is not live or its handoff
   * does not parse): what claim --next rules most tasks out with before it reads them in full.
   */
  async handoffOf(id: string): Promise<Handoff | undefined> {
    const files = this.filesOf(id);
    if (!files?.handoff) return undefined;
    const known = handoffs.get(files);
    if (known !== undefined) return known ?? undefined;
    const base = baseViews.get(files);
    if (base) return base.handoff;
    this.loadParsed();
    return (await this.parseHandoff(files)) ?? undefined;
  }

  /**
   * The live tasks whose handoff passes `test` (a handoff that does not parse passes when `unparsed`), in index
   * order: what claim --next and housekeeping rule most tasks out with before building views. Remembered per tree
   * of the handoffs folder and `key` (which must name everything `test` depends on), since a handoff never changes
   * under its name: a long-lived watcher pays for the handoffs a commit added, not for all that are pending, and a
   * command in a process of its own for those added since the answer kept on disk (handoff-tests.ts). The
   * ids are a superset of the index's (files a trusting node took out as forged are filtered by its callers' state
   * checks, which read the index).
   */
  async handoffIdsWhere(key: string, test: (h: HandoffFacts) => boolean, unparsed: boolean): Promise<string[]> {
    const folder = this.folderTrees.get('handoffs');
    return handoffIdsWhere(
      {
        store: this.store,
        tree: folder?.tree ?? '',
        listing: folder,
        tasks: () => this.index.tasks,
        files: (id) => this.filesOf(id),
        inIndexOrder: (ids) => this.inIndexOrder(ids),
        facts: () => handoffFactsFile(this.store, this.folderTrees),
        parseHandoff: (f) => this.parseHandoff(f),
        handoffOf: (id) => this.handoffOf(id),
      },
      key,
      test,
      unparsed,
    );
  }

  /** A task's handoff parsed from its blob (or the parse cache in memory), kept by its TaskFiles; null: it does not parse. */
  private async parseHandoff(f: TaskFiles): Promise<Handoff | null> {
    if (!f.handoff) return null;
    const p = await this.parse<Handoff>(f.handoff);
    const h = p.ok ? p.data : null;
    handoffs.set(f, h);
    return h;
  }

  /**
   * The full view of one task, dependencies applied. `external` answers for dependencies that are not live
   * (archived tasks); without it they count as not succeeded.
   */
  async view(id: string, external?: (id: string) => TaskState | undefined): Promise<TaskView | undefined> {
    const base = await this.baseView(id);
    if (!base) return undefined;
    const deps = base.handoff?.after ?? [];
    if (deps.length === 0 || base.state !== 'pending') return base;
    const states = new Map<string, TaskState | 'unknown'>();
    for (const dep of deps) states.set(dep, (await this.baseView(dep))?.state ?? external?.(dep) ?? 'unknown');
    return applyDependencies(base, (d) => states.get(d) ?? 'unknown');
  }

  /**
   * The full views of `ids` (those live, in order), each task's files read once: base views first, then `external`
   * asked once for the dependencies that are not live (archived tasks; without it they count as unknown), then
   * dependencies applied. What claim --next, status and housekeeping read.
   */
  async viewsOf(ids: Iterable<string>, external?: (missing: string[]) => Promise<Map<string, TaskState>>): Promise<TaskView[]> {
    // A few views (the tasks claim --next could take, a response's task) are parsed from their blobs: loading the
    // disk cache's parse results of thousands of tasks would cost more than it saves.
    const list = [...ids];
    const bulk = list.length >= DISK_MIN_NEW;
    if (bulk) this.loadParsed();
    return withDependencies(list, (id) => this.baseView(id, bulk), (id) => this.has(id), external);
  }

  async allViews(external?: (id: string) => TaskState | undefined): Promise<TaskView[]> {
    this.loadParsed();
    const out: TaskView[] = [];
    for (const id of this.index.tasks.keys()) {
      const v = await this.view(id, external);
      if (v) out.push(v);
    }
    this.saveParsed();
    return out;
  }

  /** Dependencies named by live tasks that are not live themselves (to be looked up in the archive). */
  async missingDependencies(ids: Iterable<string>): Promise<string[]> {
    this.loadParsed();
    const missing = new Set<string>();
    for (const id of ids) {
      const base = await this.baseView(id);
      for (const dep of base?.handoff?.after ?? []) if (!this.index.tasks.has(dep)) missing.add(dep);
    }
    return [...missing];
  }

  async nodes(): Promise<NodeView[]> {
    // Every card is read: from the disk cache's file of nodes/ where it has them (loaded, as a bulk reader's
    // folders are, when enough are not in memory yet), and that file written again when enough were parsed from
    // their blobs. Without both, each `status` on a bus of 21 nodes parsed every card and wrote the file anew, +50 ms
    // (issue 14, session 36: "no command may cost more as the bus grows").
    this.loadParsedFolder('nodes');
    const out: NodeView[] = [];
    for (const [node, ref] of this.nodeRefs()) {
      const p = await this.parse<NodeCard>(ref);
      out.push(p.ok ? { node, card: p.data, problems: p.warnings } : { node, problems: p.problems });
    }
    this.saveParsed();
    return out.sort((a, b) => (a.node < b.node ? -1 : 1));
  }

  /** Every problem in this commit (names, settings, every live file), by where it comes from (snapshot-problems.ts ProblemParts). */
  async problemParts(): Promise<ProblemParts> {
    const parts = await problemPartsOf(this, this.handoffRows());
    this.saveParsed();
    return parts;
  }

  /** A live folder's tree oid and listing in this commit (undefined: main has no such folder). */
  liveFolder(folder: string): FolderTree | undefined {
    return this.folderTrees.get(folder);
  }
}

