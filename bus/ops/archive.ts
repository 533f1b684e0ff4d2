import { ARCHIVE_INDEX_COMPLETE, ARCHIVE_INDEX_COMPLETE_TEXT, ARCHIVE_INDEX_FOLDER, archiveIndexMirror } from '../../schemas/archive-index.js';
import { listingMessage } from './commit-message.js';
import { ARCHIVE_MONTH_RE, archivePathFor, archiveSignaturePathFor } from '../../schemas/archive-layout.js';
import { pathFor, type BusPath } from '../../schemas/layout.js';
import { transact } from '../cas.js';
import { PathOccupiedError } from '../errors.js';
import { ensureFolders } from '../archive/folders.js';
import { openArchiveSource } from '../archive/source.js';
import { shardsNote } from '../archive/shards-hint.js';
import type { BusContext } from '../context.js';
import { Snapshot } from '../model/snapshot.js';
import type { TaskView } from '../model/task-view.js';
import { isFinal, type FileRef, type TaskFiles } from '../model/types.js';
import type { FileChange, ObjectStore } from '../store/objects.js';
import { taskSidecars } from '../trust/file-signatures.js';
import { ARCHIVE, MAIN } from '../repo.js';
import { readTrustedSnapshot, trustOf } from '../trust/node-files.js';
import { instantMs } from '../../schemas/timestamp.js';

export interface ArchiveOptions {
  /** Archive every finished task regardless of age. */
  all?: boolean;
  /** Overrides the bus setting archiveAfter. */
  olderThanMs?: number;
  now?: Date;
}

export interface ArchiveResult {
  archived: string[];
  /** Copied to the archive, but left on main whole because a file of theirs came meanwhile: the next run moves them. */
  kept: string[];
  /** Finished tasks left on main because no archive month can be made of their end (archiveMonthAt). */
  skipped: ArchiveSkip[];
  /** Commits made on the archive branch and on main (null when nothing needed doing). */
  archiveCommit: string | null;
  mainCommit: string | null;
}

/** A finished task that stays on main, with the file and field that keep it there and the fix. */
export interface ArchiveSkip {
  id: string;
  path: string;
  field: string;
  reason: string;
  fix: string;
}

/**
 * The archive month (yyyy-mm, UTC) of an end time, or null when there is none: an instant outside years 0000-9999,
 * which the timestamp rule refuses but a file written by an older gitbus may hold. Pure.
 */
export function archiveMonthAt(ms: number): string | null {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return null;
  const month = d.toISOString().slice(0, 7);
  return ARCHIVE_MONTH_RE.test(month) ? month : null;
}

/** When a finished task ended: its response's time, or its cancel's. */
export function endedAt(view: Pick<TaskView, 'response' | 'cancel'>): number | null {
  const t = view.response?.finished ?? view.cancel?.cancelled;
  const ms = t ? instantMs(t) : NaN;
  return Number.isFinite(ms) ? ms : null;
}

/** Ids gitbus makes (`20261204-183215-c2ndk6`, schemas/ids.ts newTaskId) start with when they were made, in UTC. */
const TIMED_ID_RE = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-/;

/**
 * When a task was made: its handoff's `created`, else the time its id starts with; null for an id given by hand
 * whose handoff says nothing. Pure.
 */
export function madeAt(view: Pick<TaskView, 'id' | 'handoff'>): number | null {
  const created = view.handoff?.created;
  const ms = created ? instantMs(created) : NaN;
  if (Number.isFinite(ms)) return ms;
  const m = TIMED_ID_RE.exec(view.id);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const at = new Date(0);
  at.setUTCFullYear(y, mo - 1, d);
  at.setUTCHours(h, mi, s, 0);
  // A date that does not exist (month 13) rolls over: not the time the id says, so none.
  return at.getUTCMonth() === mo - 1 && at.getUTCDate() === d && at.getUTCHours() === h && at.getUTCMinutes() === mi && at.getUTCSeconds() === s ? at.getTime() : null;
}

/**
 * The archive month of a finished task: that of its end, else (a response or cancel that does not parse) that of
 * when it was made (madeAt), else that of `now`. Not `now` while anything better is known: a task copied to the
 * archive but kept on main (removeFromMain) is copied again by the next run, which may fall in the next month, and
 * would then be in two month folders. Null when the end is outside the years 0000-9999 (archiveMonthAt). Pure.
 */
export function archiveMonthOf(view: Pick<TaskView, 'id' | 'handoff' | 'response' | 'cancel'>, now: number): string | null {
  const ended = endedAt(view);
  if (ended !== null) return archiveMonthAt(ended);
  const made = madeAt(view);
  return (made !== null ? archiveMonthAt(made) : null) ?? archiveMonthAt(now);
}

/**
 * The archive-side copy of every live file of one task and of its signature (`sidecars`: main's sidecars by the
 * path they sign, taskSidecars), and what to remove from main: each file as it was read, so that only what is still
 * there unchanged is removed. Pure.
 */
export function archiveChanges(view: TaskView, month: string, sidecars: ReadonlyMap<string, FileRef> = new Map()): { add: FileChange[]; remove: FileRef[] } {
  const add: FileChange[] = [];
  const remove: FileRef[] = [];
  const f = view.files;
  const put = (p: BusPath, ref: FileRef | undefined) => {
    if (!ref) return;
    add.push({ path: archivePathFor(month, p), content: { oid: ref.oid } });
    remove.push(ref);
    // The signature moves with its file (PROTOCOL.md §7, §11): `gitbus verify` reads it from the archive.
    const sig = sidecars.get(ref.path);
    if (!sig) return;
    add.push({ path: archiveSignaturePathFor(month, p), content: { oid: sig.oid } });
    remove.push(sig);
  };
  put({ kind: 'handoff', id: f.id }, f.handoff);
  for (const [attempt, ref] of f.claims) put({ kind: 'claim', id: f.id, attempt }, ref);
  for (const [attempt, ref] of f.releases) put({ kind: 'release', id: f.id, attempt }, ref);
  put({ kind: 'cancel', id: f.id }, f.cancel);
  put({ kind: 'response', id: f.id }, f.response);
  for (const [attempt, ref] of f.deliveries ?? []) put({ kind: 'delivery', id: f.id, attempt }, ref);
  return { add, remove };
}

/**
 * `add` (archiveChanges) with each file's id-index entry beside it (schemas/archive-index.ts): the index folder of a
 * task gets exactly the files of its month folder, so both are one tree object and the index costs only the shard
 * trees' entries. Pure.
 */
export function withArchiveIndex(add: readonly FileChange[]): FileChange[] {
  return add.flatMap((c) => {
    const mirror = archiveIndexMirror(c.path);
    return mirror ? [c, { path: mirror, content: c.content }] : [c];
  });
}

const holdsNotAFile = (f: TaskFiles): boolean =>
  [f.handoff, f.cancel, f.response, ...f.claims.values(), ...f.releases.values(), ...(f.deliveries?.values() ?? [])].some((r) => r?.notAFile !== undefined);

/**
 * The finished tasks of a snapshot that ended at least `olderThanMs` (default: the bus setting archiveAfter)
 * before `now`, or all of them (`'all'`: whatever their age, an end after `now` by a skewed clock too), with the
 * month they ended in. Only a task with a response or a cancel can have finished, so only
 * those are read: a watcher can ask this of every snapshot it peeks at without parsing the whole bus. A task whose
 * end makes no archive month is skipped, with why (one such file must not stop every other task from moving).
 */
export async function archivable(snap: Snapshot, now: number, olderThanMs?: number | 'all'): Promise<{ tasks: { view: TaskView; month: string }[]; skipped: ArchiveSkip[] }> {
  const cutoff = olderThanMs === 'all' ? Infinity : now - (olderThanMs ?? snap.settings.archiveAfterMs);
  const chosen: { view: TaskView; month: string }[] = [];
  const skipped: ArchiveSkip[] = [];
  // Only an ended task can be archived: those with a response or a cancel are read, not every live task indexed.
  snap.useLean(true);
  // A folder, link or submodule where a file of the task belongs stays on main until a person removes it (lint
  // names it): the archive holds files only, and removing the entry from main would delete what it holds.
  const closed = snap.filesWith(['responses', 'cancels']).filter((f) => !holdsNotAFile(f));
  for (const view of await snap.viewsOf(closed.map((f) => f.id))) {
    const id = view.id;
    if (!isFinal(view.state)) continue;
    // With no end to read, its age is taken as none: only `--all` moves it, as before.
    const ended = endedAt(view) ?? now;
    if (ended > cutoff) continue;
    const month = archiveMonthOf(view, now);
    if (month === null) {
      const byResponse = view.response?.finished !== undefined;
      const path = pathFor({ kind: byResponse ? 'response' : 'cancel', id });
      const field = byResponse ? 'finished' : 'cancelled';
      skipped.push({ id, path, field, reason: `its end time is outside the years 0000-9999 in UTC, so no archive month names it`, fix: `correct ${field} in ${path} (for example to the time it really ended, in UTC), then run gitbus archive again` });
      continue;
    }
    chosen.push({ view, month });
  }
  return { tasks: chosen, skipped };
}

/** What one archive run moves: decided from the head synced at its start (planArchive). */
export interface ArchivePlan {
  /** Each chosen task with its archive-side files and the files of main they copy (archiveChanges). */
  moves: { id: string; add: FileChange[]; remove: FileRef[] }[];
  skipped: ArchiveSkip[];
  message: string;
}

/**
 * Moves finished tasks from main to the archive branch (docs/PROTOCOL.md §7): first add them to archive, then
 * remove them from main; each step is a compare-and-swap commit and idempotent, so an interrupted run is
 * completed by the next one. A task that gained a file on main between the steps stays there whole (removeFromMain)
 * and is not in `archived`: the next run moves it with that file.
 */
export async function archive(ctx: BusContext, opts: ArchiveOptions = {}): Promise<ArchiveResult> {
  const plan = await planArchive(ctx, opts);
  if (plan.moves.length === 0) return { archived: [], kept: [], skipped: plan.skipped, archiveCommit: null, mainCommit: null };
  const archiveCommit = await addToArchive(ctx, plan);
  const m = await removeFromMain(ctx, plan);
  const kept = new Set(m.kept);
  return { archived: plan.moves.map((t) => t.id).filter((id) => !kept.has(id)), kept: m.kept, skipped: plan.skipped, archiveCommit, mainCommit: m.commit };
}

/** Step 0: which finished tasks move and what each one's files are, from the head of main as synced now. */
export async function planArchive(ctx: BusContext, opts: ArchiveOptions = {}): Promise<ArchivePlan> {
  const now = (opts.now ?? new Date()).getTime();
  const head = await ctx.repo.sync(MAIN);
  // Which tasks ended is decided as this node trusts the bus (a forged response ends nothing); what moves is every
  // file of the task, forged ones too, so none is left behind in main as an orphan.
  const snap = await readTrustedSnapshot(ctx, head);
  const raw = trustOf(snap) ? await Snapshot.read(ctx.repo.store, head) : snap;
  const { tasks: chosen, skipped } = await archivable(snap, now, opts.all ? 'all' : opts.olderThanMs);
  if (chosen.length === 0) return { moves: [], skipped, message: '' };
  const sidecars = snap.commit ? await taskSidecars(snap.store, await snap.store.readCommitTree(snap.commit)) : new Map<string, FileRef>();
  const moves = chosen.map(({ view, month }) => ({ id: view.id, ...archiveChanges({ ...view, files: raw.index.tasks.get(view.id) ?? view.files }, month, sidecars) }));
  const ids = chosen.map((c) => c.view.id);
  return { moves, skipped, message: archiveMessage(ids) };
}

/** Step 1: the planned files onto the archive branch. Returns its commit (null when it had them all already). */
export async function addToArchive(ctx: BusContext, plan: ArchivePlan): Promise<string | null> {
  const add = withArchiveIndex(plan.moves.flatMap((m) => m.add));
  const a = await transact(
    ctx,
    'archive',
    async (archived) => {
      await readFoldersOf(ctx, archived.commit, add.map((c) => c.path));
      return { result: {}, commit: { changes: [...add, ...(await indexCompleteMark(ctx.repo.store, archived.commit))], message: plan.message } };
    },
    { ref: ARCHIVE },
  ).catch((err: unknown) => {
    // Said of the archive branch: lint, which the plain error points to, reads main only.
    throw err instanceof PathOccupiedError ? new PathOccupiedError(err.path, err.what, err.writing, ARCHIVE) : err;
  });
  return a.commit;
}

/**
 * Step 2: the planned files off main, from main as it is now. A task with a file on main that step 1 did not copy
 * (a delivery or a signature written since the plan, or a file rewritten) keeps every file on main: removing the
 * rest would leave that file an orphan there and missing from the archive, with nothing left to tell a reader what
 * it belongs to. `kept` names those tasks; the next run copies and removes them whole.
 */
/** An archive commit's message: how many tasks, then their ids (as many as fit, commit-message.ts). Pure. */
function archiveMessage(ids: readonly string[]): string {
  return listingMessage(`gitbus: archive ${ids.length} task${ids.length === 1 ? '' : 's'}`, ids);
}

export async function removeFromMain(ctx: BusContext, plan: ArchivePlan): Promise<{ commit: string | null; kept: string[] }> {
  const m = await transact(
    ctx,
    'archive',
    async (latest) => {
      const live = await liveTaskFiles(trustOf(latest) ? await Snapshot.read(ctx.repo.store, latest.commit) : latest);
      const present: FileChange[] = [];
      const kept: string[] = [];
      for (const move of plan.moves) {
        const copied = new Map(move.remove.map((r) => [r.path, r.oid]));
        const now = live.get(move.id) ?? new Map<string, string>();
        if ([...now].some(([path, oid]) => copied.get(path) !== oid)) {
          kept.push(move.id);
          continue;
        }
        // Remove only what is still there unchanged; another node may have archived some of them already.
        for (const r of move.remove) if (now.get(r.path) === r.oid) present.push({ path: r.path, content: null });
      }
      if (present.length === 0) return { result: { kept } };
      // Main's commit names the tasks it removes, not those kept for the next run.
      const message = kept.length === 0 ? plan.message : archiveMessage(plan.moves.map((t) => t.id).filter((id) => !kept.includes(id)));
      return { result: { kept }, commit: { changes: [...present, ...(await shardsNote(ctx, latest.commit))], message } };
    },
    { ref: MAIN },
  );
  return { commit: m.commit, kept: m.kept };
}

/**
 * The archive's folders that a commit adding `paths` rewrites, fetched into the clone by path (the clone holds only
 * the parts of the archive it read: bus/repo.ts sync).
 */
export async function readFoldersOf(ctx: BusContext, commit: string | null, paths: readonly string[]): Promise<void> {
  if (!commit) return;
  const source = await openArchiveSource(ctx.repo, commit);
  try {
    await ensureFolders(ctx.repo.store, source, await ctx.repo.store.readCommitTree(commit), paths);
  } finally {
    source.close?.();
  }
}

/**
 * `ids/complete` when the archive has no month folder yet (a new bus): then every task it will hold is indexed
 * from the start. An archive written before the index gets it from `gitbus archive --reindex`.
 */
async function indexCompleteMark(store: ObjectStore, commit: string | null): Promise<FileChange[]> {
  const root = commit ? await store.readTree(await store.readCommitTree(commit)) : [];
  if (root.some((e) => e.type === 'tree' && ARCHIVE_MONTH_RE.test(e.path))) return [];
  return [{ path: `${ARCHIVE_INDEX_FOLDER}/${ARCHIVE_INDEX_COMPLETE}`, content: ARCHIVE_INDEX_COMPLETE_TEXT }];
}

/** Every task file of a snapshot and its sidecar, by task, then by path, with its blob. */
async function liveTaskFiles(snap: Snapshot): Promise<Map<string, Map<string, string>>> {
  const sidecars = snap.commit ? await taskSidecars(snap.store, await snap.store.readCommitTree(snap.commit)) : new Map<string, FileRef>();
  const out = new Map<string, Map<string, string>>();
  for (const [id, t] of snap.index.tasks) {
    const files = new Map<string, string>();
    for (const r of [t.handoff, ...t.claims.values(), ...t.releases.values(), t.cancel, t.response, ...(t.deliveries?.values() ?? [])]) {
      if (!r) continue;
      files.set(r.path, r.oid);
      const sig = sidecars.get(r.path);
      if (sig) files.set(sig.path, sig.oid);
    }
    out.set(id, files);
  }
  return out;
}
