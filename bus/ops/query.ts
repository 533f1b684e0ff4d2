import { UnknownTaskError } from '../errors.js';
import { readBeat, type BeatDelivering } from './heartbeat.js';
import type { BusContext } from '../context.js';
import type { Snapshot } from '../model/snapshot.js';
import { readTrustedSnapshot } from '../trust/node-files.js';
import type { TaskView } from '../model/task-view.js';
import { filesInShowOrder } from '../model/task-file-order.js';
import type { ForgedFile, ShownState } from '../model/types.js';
import { queuedDispatch } from '../queue.js';
import { MAIN } from '../repo.js';
import type { ObjectStore } from '../store/objects.js';
import { MAX_FILE_BYTES } from '../../schemas/field-limits.js';
import { outageCode } from '../remote-failure.js';
import { firstLine, type FileProblem } from '../../schemas/errors.js';
import { liveTaskId } from './archive-lookup.js';
import { defaultBranch, type ProjectReport } from '../../schemas/project.js';
import { summarize, type TaskSummary } from './task-summary.js';
import { archivedName, archivedTaskFiles, archivedView } from './archived-view.js';
import { findCounted } from './archived-trust.js';
import { fetchCommand } from '../project/fetch-command.js';
import { branchWarningsOfBody, resultsRemote } from './branch-remote.js';
import { enforcedTrust } from '../trust/enforce.js';
import { taskProblems } from '../model/snapshot-problems.js';
import { archivedTaskHandoffVerdict, liveHandoffVerdict, type TrustVerdict } from '../trust/verify-verdicts.js';

/** Reads the current state of main (fetching only if the remote moved). */
export async function currentSnapshot(ctx: BusContext): Promise<Snapshot> {
  return readTrustedSnapshot(ctx, await ctx.repo.sync(MAIN));
}

/** Why what is shown may be old: the remote could not be reached, and when this node last heard from it. */
export interface Offline {
  code: string;
  reason: string;
  /** When any process of this node last listed the remote; null if never. */
  lastContact: string | null;
}

/**
 * The current state of main, or, when the remote cannot be reached, the last state this node knew with the
 * reason and its age: reading commands show that with a warning instead of failing (seed 001's laptop off the VPN).
 */
export async function snapshotOrLast(ctx: BusContext, synced?: string | null): Promise<{ snap: Snapshot; offline: Offline | null }> {
  try {
    return { snap: synced !== undefined ? await readTrustedSnapshot(ctx, synced) : await currentSnapshot(ctx), offline: null };
  } catch (err) {
    const code = outageCode(err);
    if (code === null) throw err;
    return { snap: await localSnapshot(ctx), offline: offlineFrom(ctx, code, err) };
  }
}

export function offlineFrom(ctx: BusContext, code: string, err: unknown): Offline {
  return { code, reason: firstLine(err), lastContact: ctx.repo.lastContact()?.toISOString() ?? null };
}

/**
 * main as this node last synced or pushed it, without asking the remote. `reuse` is returned when it is of that
 * commit. For decisions that only peek (bus/cas.ts, TransactOptions.peek).
 */
export async function localSnapshot(ctx: BusContext, reuse?: Snapshot | null): Promise<Snapshot> {
  const head = await ctx.repo.localHead(MAIN);
  return reuse && reuse.commit === head ? reuse : readTrustedSnapshot(ctx, head);
}

export interface ShownTask {
  id: string;
  /** `queued`: dispatched on this node while the remote was away; `files` is the handoff it will send. */
  state: ShownState;
  /** The archive month (yyyy-mm) when the task has left main. */
  archived: string | null;
  /** As `status --json` lists a task; an archived one's made from its archived files. Null for a queued dispatch. */
  summary: TaskSummary | null;
  /**
   * The task's files as the bus holds them. `notShown`: the file was not read (above the size limit, or not a file
   * at all), and `text` is gitbus's own note of why, not anyone's words.
   */
  files: ShownFile[];
  /** Files of the task forged in a node's name, which this node ignores (not in `files`). */
  forged: ForgedFile[];
  /** Set when the remote could not be reached and this is what the node last knew. */
  offline: Offline | null;
  /** A project task's branch: where its results are (or will be) and how to fetch them. */
  branch?: ShownBranch;
  /**
   * On a node that pinned the trust root (none elsewhere): the trust version it enforces, and its verdict on the
   * task's handoff as `gitbus verify` gives it (bus/trust/verify-verdicts.ts): signed by whom, or unsigned, forged or
   * refused and why, and whether this node would run it. Absent too for a queued dispatch and a task with no handoff.
   */
  trust?: ShownTrust;
  /**
   * A claimed task whose run ended on its holder, its result held there for the project remote, as the holder's
   * heartbeat says (docs/PROTOCOL.md §5a `delivering`): since when and why. Words only: the state stays `claimed`.
   */
  delivering?: BeatDelivering;
}

export type ShownTrust = { version: number } & TrustVerdict;

export interface ShownFile {
  path: string;
  text: string;
  notShown?: true;
}

export interface ShownBranch {
  repo: string;
  branch: string;
  /** null while the task has not ended. */
  pushed: boolean | null;
  report?: ProjectReport;
  /**
   * When the response went out saying the branch was not pushed and its node said since that the remote took it
   * (docs/PROTOCOL.md §3a, "A push that lands later"): when, and the file that says so. `report` already reads so.
   */
  delivered?: { at: string; path: string };
  /** The command that fetches the results: from the project's URL the response gives when `repo` is a node.yaml project name. */
  fetch: string;
  /** What the response's Branch section warns of about the branch (branchWarningsOfBody): absent when nothing. */
  warnings?: string[];
}

/** Where a project task's results are, from its response, or, before it ends, from its handoff. Pure. */
export function shownBranch(view: Pick<TaskView, 'id' | 'handoff' | 'response' | 'responseBody' | 'delivery'>): ShownBranch | undefined {
  const report = view.response?.project;
  const repo = report?.repo ?? view.handoff?.repo;
  if (repo === undefined) return undefined;
  const branch = report?.branch ?? view.handoff?.branch ?? defaultBranch(view.id);
  // From the remote the response's own commands fetch from: a project name is a URL on the node that ran it.
  const delivered = view.delivery ? { delivered: { at: view.delivery.delivered, path: view.delivery.path } } : {};
  const warnings = report ? branchWarningsOfBody(view.responseBody) : [];
  return { repo, branch, pushed: report ? report.pushed : null, ...(report ? { report } : {}), ...delivered, fetch: fetchCommand(resultsRemote(repo, report, view.responseBody, view.delivery?.url), branch), ...(warnings.length > 0 ? { warnings } : {}) };
}

/** One task's handoff, claims, releases, cancel and response, live or archived. */
export async function showTask(ctx: BusContext, ref: string): Promise<ShownTask> {
  const { snap, offline } = await snapshotOrLast(ctx);
  // One task is shown: looked up, not every live task indexed, and its files parsed from their blobs, not the parse
  // cache of every live task loaded (issue 14).
  snap.useLean(true);
  const id = await liveTaskId(ctx, snap, ref, offline !== null);
  if (id) {
    const [view] = await snap.viewsOf([id]);
    if (!view) throw new UnknownTaskError(ref);
    const files: ShownTask['files'] = [];
    // An entry that is not a file is shown by what it is, never read.
    for (const r of filesInShowOrder(view.files)) files.push(r.notAFile ? { path: r.path, text: `(not shown: ${r.notAFile.reason})\n`, notShown: true } : await shownFile(snap.store, r.path, r.oid));
    const branch = shownBranch(view);
    const trust = await enforcedTrust(snap, ctx.paths.home, ctx.config);
    const verdict = trust && view.files.handoff ? { version: trust.accepted.version, ...(await liveHandoffVerdict(ctx, snap, trust, id, offline !== null)) } : null;
    // Read only of the node the bus says holds the claim, for that attempt: another node's beat changes nothing here.
    const beat = view.state === 'claimed' && view.claim?.node && !offline ? await readBeat(ctx, view.claim.node) : null;
    const delivering = view.claim ? beat?.delivering[`${id}.${view.claim.attempt}`] : undefined;
    // As lint says them: every claim and release of the task, not only the open attempt's (the view's problems).
    const summary = { ...summarize(view, snap.settings.maxAttempts), problems: unique([...view.problems, ...(await taskProblems(snap, id))]) };
    return { id, state: view.state, archived: null, summary, files, forged: snap.forged.filter((x) => x.id === id), offline, ...(branch ? { branch } : {}), ...(verdict ? { trust: verdict } : {}), ...(delivering ? { delivering } : {}) };
  }
  // Before the archive, which needs the remote: a dispatch queued here is what the dispatcher asks about next.
  const queued = queuedDispatch(ctx.paths.home, ref);
  if (queued) return { id: queued.id, state: 'queued', archived: null, summary: null, files: [{ path: queued.path, text: queued.text }], forged: [], offline };
  // As a live task's: files forged in a node's name are listed apart, and a forged end is no end.
  const found = (await findCounted(ctx, [ref], { thorough: true })).get(ref);
  if (!found) throw new UnknownTaskError(ref);
  const { entry, forged } = found;
  // In a live task's order; after them what the archive's layout does not name (a file someone added), by name.
  const placed = filesInShowOrder(archivedTaskFiles(ref, entry)).map(archivedName);
  const names = [...placed, ...[...entry.files.keys()].filter((n) => !placed.includes(n)).sort()];
  const files: ShownTask['files'] = [];
  for (const name of names) files.push(await shownFile(snap.store, `archive:${entry.month}/${ref}/${name}`, entry.files.get(name) as string));
  const view = await archivedView(snap.store, ref, entry);
  const branch = shownBranch(view);
  const trust = await enforcedTrust(snap, ctx.paths.home, ctx.config);
  const verdict = trust ? await archivedTaskHandoffVerdict(ctx, snap, trust, ref, entry, new Date()) : null;
  return { id: ref, state: entry.state, archived: entry.month, summary: summarize(view, snap.settings.maxAttempts), files, forged, offline: null, ...(branch ? { branch } : {}), ...(trust && verdict ? { trust: { version: trust.accepted.version, ...verdict } } : {}) };
}

/** Each problem once, in order: the same file's problem may come from the view and from lint's look at it. */
function unique(problems: FileProblem[]): FileProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\0${p.field}\0${p.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * A task file as `show` and the web view show it: one above the size limit is not read (docs/PROTOCOL.md §3),
 * only said to be there, as an entry that is not a file is.
 */
async function shownFile(store: ObjectStore, path: string, oid: string): Promise<ShownFile> {
  const content = await store.readBlobUpTo(oid, MAX_FILE_BYTES);
  if (typeof content === 'number') return { path, text: `(not shown: the file is ${content} bytes, more than the limit of 256 KiB)\n`, notShown: true };
  return { path, text: new TextDecoder().decode(content) };
}
