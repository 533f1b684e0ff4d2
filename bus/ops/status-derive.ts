import type { FileProblem } from '../../schemas/errors.js';
import { LIVE_FOLDERS } from '../../schemas/layout.js';
import type { BusContext } from '../context.js';
import { changedIdsBetween } from '../model/changed-ids.js';
import { queueKeyOf, sortQueue } from '../model/planner.js';
import { liveFolderTrees } from '../model/live-folders.js';
import { flatProblems, taskFilesProblems } from '../model/snapshot-problems.js';
import type { Snapshot } from '../model/snapshot.js';
import type { TaskState } from '../model/types.js';
import type { ObjectStore } from '../store/objects.js';
import { archivedStates } from './archived-trust.js';
import { claimHolders } from './claim-holders.js';
import { archiveAsker, countStates, firstPerState, sparePerState, type StatusCore, type StatusTask } from './status-core.js';
import { noTakerOf, setNoTaker, takerCards } from './status-no-taker.js';
import { DIGEST_MIN_TASKS, loadNewestStatusDigest, saveStatusDelta, saveStatusDigest, type BaseEntry, type DigestBase } from './status-digest.js';
import { DIGEST_PER_STATE, orderRow, summaryLine, summaryPieces, type DeriveFacts, type StatusDigest, type SummaryLine } from './status-digest-file.js';
import { dependentsOf, mergeByTask, mergeQueue } from './status-merge.js';
import { summarize, type TaskSummary } from './task-summary.js';

/**
 * A status of a commit that has no digest, derived from the newest digest of another commit this node has
 * (docs/ARCHITECTURE.md "The status digest"): the live folders of both commits compared by name, and only the tasks
 * whose files differ, and those that name one of them as a dependency, worked out again; every other task's
 * summary, place in the queue and problems are the earlier digest's. On a busy fleet `main` moves at nearly every
 * command, a task or two at a time: with 2,000 live tasks a status worked out in full read and summarized all of
 * them after every push of another node (issue 14).
 *
 * What the derivation relies on: a task's view is worked out from its own files and its dependencies' states
 * alone, and its problems from its own files; the settings (compared), the names outside tasks, the cards and the
 * claim holders are worked out afresh. A summary also says why no node can take a pending task (`noTaker`), which
 * the cards decide: when they judge otherwise than the earlier digest's, every summary is judged again. Null (status
 * works it out in full) when there is no earlier digest of this remote, the settings differ, a listing cannot be
 * compared by name, or too much changed for a derivation to pay;
 * `known` when a dependency the archive did not know then is archived now (the full status reuses what it asked).
 */
export async function derivedCore(ctx: BusContext, snap: Snapshot, per: number | undefined, asPayload = false): Promise<{ core: StatusCore } | { known: ReadonlyMap<string, TaskState> } | null> {
  if (snap.commit === null) return null;
  const base = loadNewestStatusDigest(ctx.repo.gitdir, snap.commit);
  const remote = ctx.repo.transport.display;
  if (!base || base.remote !== remote || JSON.stringify(base.digest.settings) !== JSON.stringify(snap.settings)) return null;
  const before = await liveFolders(snap.store, base.digest.commit);
  if (!before) return null;
  // Only the tasks that changed are read: the handoffs folder is looked up in its bytes, not indexed whole.
  snap.useLean();
  // The earlier summaries say which pending tasks no node can take by the earlier cards: judged again, every one, when
  // the cards judge otherwise now (a node joined, left, or changed its labels, runners or policy).
  const nodes = await snap.nodes();
  const cards = takerCards(nodes, snap.forged);
  const rejudge = JSON.stringify(cards) !== JSON.stringify(takerCards(base.digest.nodes, []));
  const changed = new Set<string>();
  for (const folder of LIVE_FOLDERS) {
    // Cards are read afresh; they decide nothing of a task's view.
    if (folder === 'nodes') continue;
    const now = snap.liveFolder(folder);
    const was = before.get(folder);
    if (now?.tree === was) continue;
    const ids = await changedIdsBetween(snap.store, folder, was ?? null, now);
    if (!ids) return null;
    for (const id of ids) changed.add(id);
  }
  const drop = new Set([...changed, ...dependentsOf(base.deps, changed)]);
  const redo = [...drop].filter((id) => snap.has(id));
  // A change of a good part of the bus (a bulk dispatch, an archive run) is read in bulk, as status always did.
  if (redo.length > Math.max(MAX_FEW, snap.taskCount() / 4)) return null;

  // A dependency the archive did not know then may have been archived since: asked again, as coreOfDigest asks.
  const baseFound = new Map(base.digest.external.found);
  const unknown = base.digest.external.asked.filter((id) => !baseFound.has(id) && !snap.has(id));
  if (unknown.length > 0) {
    const known = await archivedStates(ctx, unknown);
    if (known.size > 0) return { known };
  }
  const archive = archiveAsker(ctx, baseFound);
  const few = redo.length <= MAX_FEW;
  const views = sortQueue(await snap.rowViews(redo, archive.external, few));
  // Many read through the parse cache's files: what they parsed anew is written back, as a full status does.
  if (!few) snap.saveParsed();
  const maxAttempts = snap.settings.maxAttempts;
  // The earlier tasks as their order rows and where their summaries are; those listed are parsed, no other.
  const earlier: Entry[] = base.entries;
  const why = noTakerOf(cards);
  const fresh = views.map((v): Entry => {
    const summary: StatusTask = summarize(v, maxAttempts);
    setNoTaker(summary, why);
    return { row: orderRow(summary), summary };
  });
  const merged = mergeQueue(earlier, drop, fresh, (e) => queueKeyOf(e.row[2], e.row[3], e.row[0]), (e) => e.row[0]);
  // Every live task has a view, and only those: anything else means the two digests do not describe what the
  // comparison thought (worked out in full rather than shown wrong).
  if (merged.length !== snap.taskCount()) return null;
  // A task that is the full digest's may have its summary at hand; any other's is a line of the delta's own.
  const summaryOf = (e: Entry): TaskSummary | null => {
    if (e.summary) return e.summary;
    const known = e.root === undefined ? undefined : base.known.get(e.row[0]);
    if (known) return (e.summary = known);
    const line = e.line ?? (e.root === undefined ? undefined : base.rootLines()?.[e.root]);
    return line ? (e.summary = JSON.parse(line.toString('utf8')) as TaskSummary) : null;
  };
  if (rejudge) {
    // Every summary parsed and made this digest's own: it is written in full (saveDerived), a rare cost.
    for (const e of merged) {
      const t = summaryOf(e);
      if (!t) return null;
      setNoTaker(t, why);
      delete e.root;
      delete e.line;
    }
  }
  const rows = merged.map((e) => ({ state: e.row[1], e }));
  const listed = (per: number | undefined): TaskSummary[] | null => {
    const out: TaskSummary[] = [];
    for (const r of firstPerState(rows, per)) {
      const t = summaryOf(r.e);
      if (!t) return null;
      out.push(t);
    }
    return out;
  };
  // `status --json` writes every task's summary as its digest line is (status-tasks-json.ts): none is parsed.
  const asLines = asPayload && per === undefined ? linesOf(base, merged) : null;
  const tasks = asLines ? [] : listed(per);
  if (!tasks || (asPayload && per === undefined && !asLines)) return null;

  const redone = new Set(redo);
  const freshDeps = new Map<string, string[]>();
  for (const v of views) if (v.handoff?.after?.length) freshDeps.set(v.id, [...v.handoff.after]);
  const baseDeps = new Map(base.deps);
  const deps = mergeByTask(snap.inIndexOrder([...baseDeps.keys(), ...freshDeps.keys()]), baseDeps, redone, freshDeps);
  const freshProblems = new Map<string, FileProblem[]>();
  for (const id of changed) {
    const files = snap.filesOf(id);
    if (!files) continue;
    const out: FileProblem[] = [];
    await taskFilesProblems(snap, files, undefined, out);
    if (out.length > 0) freshProblems.set(id, out);
  }
  // A dependent's own files did not change: its problems are the earlier digest's.
  const baseProblems = new Map(base.taskProblems);
  const taskProblems = mergeByTask(snap.inIndexOrder([...baseProblems.keys(), ...freshProblems.keys()]), baseProblems, changed, freshProblems);
  const problems = flatProblems({ layout: [...snap.layoutProblems(), ...snap.settingsProblems], tasks: taskProblems, nodes: nodes.flatMap((n) => n.problems) });
  const holders = await claimHolders(snap);
  const counts = countStates(rows);

  // The dependencies not live now, with what the archive said of them then or now: the digest a full status writes.
  const missing = new Set<string>();
  for (const [, after] of deps) for (const d of after) if (!snap.has(d)) missing.add(d);
  const foundNow = new Map([...baseFound, ...archive.found]);
  const external = { asked: [...missing], found: [...missing].flatMap((id): [string, TaskState][] => (foundNow.has(id) ? [[id, foundNow.get(id) as TaskState]] : [])) };
  const top = listed(DIGEST_PER_STATE);
  if (top && merged.length >= DIGEST_MIN_TASKS) {
    const digest: StatusDigest = { commit: snap.commit, settings: snap.settings, nodes, counts, top, problems, holders: [...holders].map(([n, ids]) => [n, [...ids]]), external };
    saveDerived(ctx.repo.gitdir, base, digest, merged, summaryOf, { remote, deps, taskProblems });
  }
  return { core: { head: snap.commit, settings: snap.settings, settingsOverridden: [], nodes, tasks, ...(asLines ? { payload: summaryPieces(asLines) } : {}), ...(per !== undefined ? { perState: per } : {}), counts, trust: null, problems, forged: [], holders } };
}

/**
 * Writes the derived digest: as a delta on the earlier one's full digest while the tasks whose summaries are not
 * that digest's stay few (a few hundred bytes a task), else in full, which the deltas after it are written on.
 */
function saveDerived(gitdir: string, base: DigestBase, digest: StatusDigest, merged: readonly Entry[], summaryOf: (e: Entry) => TaskSummary | null, facts: Pick<DeriveFacts, 'remote' | 'deps' | 'taskProblems'>): void {
  const own = merged.filter((e) => e.root === undefined);
  if (own.length <= Math.max(MAX_DELTA, merged.length / 16)) {
    const kept = new Uint8Array(base.rootOrder.length);
    for (const e of merged) if (e.root !== undefined) kept[e.root] = 1;
    const drop = base.rootOrder.flatMap((row, i) => (kept[i] ? [] : [row[0]]));
    saveStatusDelta(gitdir, digest, base.root, merged.length, { ...facts, drop, fresh: own.map((e) => e.row) }, own.map((e) => e.line ?? summaryLine(e.summary as TaskSummary)));
    return;
  }
  const lines = linesOf(base, merged);
  // The earlier summaries cannot be read (a damaged file): nothing is written, and the next status works it out.
  if (!lines) return;
  const spare: TaskSummary[] = [];
  for (const r of sparePerState(merged.map((e) => ({ state: e.row[1], e })))) {
    const t = summaryOf(r.e);
    if (!t) return;
    spare.push(t);
  }
  saveStatusDigest(gitdir, digest, lines, { ...facts, order: merged.map((e) => e.row), spare });
}

/** Every merged task's summary line: its base's, a delta's own, or its new summary's; null when a base's cannot be read. */
function linesOf(base: DigestBase, merged: readonly Entry[]): SummaryLine[] | null {
  const rootLines = base.rootLines();
  const lines: SummaryLine[] = [];
  for (const e of merged) {
    const line = e.line ?? (e.root !== undefined ? rootLines?.[e.root] : summaryLine(e.summary as TaskSummary));
    if (!line) return null;
    lines.push(line);
  }
  return lines;
}

/** A task of the merged queue: its order row, and where its summary is (an earlier digest's, or worked out now). */
interface Entry extends BaseEntry {
  summary?: TaskSummary;
}

/** At most this many tasks worked out again are parsed from their blobs; more read the parse cache's facts. */
const MAX_FEW = 32;

/**
 * A derived digest is written as a delta while at most this many tasks, or a sixteenth of them, are not its base's
 * (each delta holds all those, a full digest every task): at 5,000 tasks a full digest is written about once per 300
 * tasks changed.
 */
const MAX_DELTA = 8;

/**
 * The live folders' tree oids of `commit` in the clone, by the rule a snapshot reads them by (live-folders.ts); null
 * when its root is not here or cannot be read (then status works it out in full: nothing is fetched to compare with).
 */
async function liveFolders(store: ObjectStore, commit: string): Promise<Map<string, string> | null> {
  if (!store.readTreeHere || !store.readCommitTreeHere) return null;
  const root = await store.readCommitTreeHere(commit);
  const entries = root === null ? null : await store.readTreeHere(root);
  return entries ? liveFolderTrees(entries) : null;
}
