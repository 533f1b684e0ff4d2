import type { FileProblem } from '../../schemas/errors.js';
import type { ResolvedSettings } from '../../schemas/settings.js';
import { UnknownTaskError } from '../errors.js';
import type { BusContext } from '../context.js';
import type { Snapshot, NodeView } from '../model/snapshot.js';
import { readTrustedSnapshot } from '../trust/node-files.js';
import { resolveTaskId } from '../model/resolve-id.js';
import { eligibility, sortQueue } from '../model/planner.js';
import type { TaskView } from '../model/task-view.js';
import { isFinal, type ForgedFile, type SettingOverride, type TaskState } from '../model/types.js';
import { MAIN } from '../repo.js';
import { outageCode } from '../remote-failure.js';
import { firstLine } from '../../schemas/errors.js';
import { listQueue, type QueueEntry } from '../queue.js';
import { archivedStates, findArchived } from './archive-lookup.js';
import { readObservations, updateObservations } from '../liveness-store.js';
import { shownLiveness, type BeatFacts, type ShownLiveness } from '../model/liveness.js';
import { budgetOf, presenceMs, type FleetReport } from '../model/budget.js';
import { budgetReport, isLocalRemote } from './budget-report.js';
import { claimHolders } from './claim-holders.js';
import { readBeat } from './heartbeat.js';
import { defaultBranch, type ProjectReport } from '../../schemas/project.js';
import type { ClaudeReport } from '../../schemas/response.js';
import { readProgress, type Progress } from '../progress.js';
import { spendToday, type NodeSpend } from '../spend-ledger.js';
import type { BeatDetails } from './heartbeat.js';
import { enforcedTrust, handoffVerdicts, trustedJudge } from '../trust/enforce.js';
import type { EnforcedTrust } from '../trust/handoff-trust.js';
import type { HandoffFacts } from '../store/parse-cache-file.js';
import { markEndsRemoved } from '../trust/seen-ended.js';

/** A task as scripts see it in --json output: plain data, no Maps. */
export interface TaskSummary {
  id: string;
  state: TaskState;
  title: string | null;
  from: string | null;
  created: string | null;
  to: string | null;
  labels: string[];
  runner: string | null;
  priority: number;
  attempts: number;
  claim: { attempt: number; node: string | null } | null;
  response: { status: string; node: string; finished: string } | null;
  waitingFor: string[];
  /** The dependencies it waits for and their states; one that ended without success dooms it (PROTOCOL.md §4). */
  waitingOn: { id: string; state: string }[];
  problems: FileProblem[];
  /** A project task's result branch (the response's, else the handoff's), and its fan-out. */
  branch: string | null;
  group: string | null;
  /** A claude task's facts from its response: session, cost, turns, model, how it ended (null before it ends, or for other runners). */
  claude: ClaudeReport | null;
  /** The latest progress its agent posted (`gitbus progress`), while it runs: from this node's home or the holder's heartbeat. */
  progress: Progress | null;
}

export function summarize(v: TaskView<HandoffFacts>): TaskSummary {
  const h = v.handoff;
  return {
    id: v.id,
    state: v.state,
    title: h?.title ?? null,
    from: h?.from ?? null,
    created: h?.created ?? null,
    to: h?.to ?? null,
    labels: h?.labels ?? [],
    runner: h ? (h.runner ?? (h.command ? 'shell' : 'manual')) : null,
    priority: h?.priority ?? 0,
    attempts: v.attempts,
    claim: v.claim ? { attempt: v.claim.attempt, node: v.claim.node } : null,
    response: v.response ? { status: v.response.status, node: v.response.node, finished: v.response.finished } : null,
    waitingFor: v.waitingFor,
    waitingOn: v.waitingOn,
    problems: v.problems,
    branch: v.response?.project?.branch ?? (h?.repo !== undefined ? (h.branch ?? defaultBranch(v.id)) : null),
    group: h?.group ?? null,
    claude: v.response?.claude ?? null,
    progress: null,
  };
}

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
export async function snapshotOrLast(ctx: BusContext): Promise<{ snap: Snapshot; offline: Offline | null }> {
  try {
    return { snap: await currentSnapshot(ctx), offline: null };
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

export interface BusStatus {
  node: string;
  remote: string;
  head: string | null;
  /** The settings this node acts on: gitbus.yaml's, with what its trust version fixes in their place (§12). */
  settings: ResolvedSettings;
  /** Settings whose gitbus.yaml value this node does not use because its trust version says otherwise (also in problems). */
  settingsOverridden: SettingOverride[];
  /** Each node with its liveness as this node observes it (docs/PROTOCOL.md §5a). */
  nodes: (NodeView & NodeLiveness)[];
  /** `refusedHere`: why this node's policy (node.yaml `policy:`) refuses a pending or blocked task it could otherwise take. */
  tasks: (TaskSummary & { refusedHere?: string; untrusted?: string })[];
  /** The first tasks of each state only (StatusOptions.perState), when set: `counts` has how many there are. */
  perState?: number;
  /** The trust version this node enforces on handoffs (it pinned the bus's trust root), or null: it acts on any handoff. */
  trust: { version: number } | null;
  counts: Partial<Record<TaskState, number>>;
  problems: FileProblem[];
  /** Claims, releases, responses and node cards forged in a node's name, which this node ignores (trust enforced). */
  forged: ForgedFile[];
  /** Set when the remote could not be reached and this is what the node last knew. */
  offline: Offline | null;
  /** Dispatches and cancels made on this node that the remote has not accepted yet (bus/queue.ts). */
  queued: { kind: QueueEntry['kind']; id: string; title?: string; queuedAt: string }[];
  /** The fleet's heartbeat pushes and polling reads against the bus's budget (bus/ops/budget-report.ts). */
  budget: FleetReport;
}

export interface NodeLiveness {
  /** `stopped`: its watcher shut down cleanly; `silent`: its heartbeat is older than the lease; `unleased`: no watcher ever ran. */
  liveness: ShownLiveness;
  /** Its last heartbeat, as this node knows it (null when it has none). */
  heartbeat: { at: string; ageMs: number; stopped: boolean } | null;
  /**
   * What its claude runs spent today (UTC) against its daily cap: this node's from its own ledger, another's from
   * its heartbeat (null when it runs no claude tasks, or its heartbeat is of another day or says nothing).
   */
  spend: NodeSpend | null;
}

export interface StatusOptions {
  /**
   * List at most this many tasks per state (the first in queue order); `counts` still counts them all. What a
   * person reads: with 5,000 pending tasks, summarizing all of them was a good part of what status cost.
   */
  perState?: number;
}

export async function busStatus(ctx: BusContext, options: StatusOptions = {}): Promise<BusStatus> {
  const { snap, offline } = await snapshotOrLast(ctx);
  const nodeViews = await snap.nodes();
  const leaseMs = snap.settings.leaseMs;
  // While the remote cannot be reached, what this node saw last is shown as it was; nothing more is asked of it.
  const obs = offline ? readObservations(ctx.paths.home) : updateObservations(ctx.paths.home, ctx.repo.lastRefs, ctx.repo.listedAt, leaseMs, await claimHolders(snap));
  const beats = new Map<string, (BeatFacts & Partial<BeatDetails>) | null>();
  if (!offline) for (const n of new Set([...nodeViews.map((v) => v.node), ...Object.keys(obs.nodes)])) if (obs.nodes[n]) beats.set(n, await readBeat(ctx, n));
  const now = Date.now();
  const liveness = (node: string): NodeLiveness => {
    const beat = beats.get(node) ?? null;
    // A node that finished its work last beat at its holding cadence; idle, it next beats at the fleet's presence.
    const idleEvery = typeof beat?.everyMs === 'number' ? { ...beat, everyMs: Math.max(beat.everyMs, presenceMs(snap.settings, budgetOf(snap.settings, isLocalRemote(ctx)), Object.keys(obs.nodes).length)) } : beat;
    const { liveness: l, beatAt } = shownLiveness(obs, node, idleEvery, leaseMs, now);
    return { liveness: l, heartbeat: beatAt === null ? null : { at: new Date(beatAt).toISOString(), ageMs: Math.max(0, now - beatAt), stopped: l === 'stopped' }, spend: nodeSpend(node) };
  };
  const today = new Date(now).toISOString().slice(0, 10);
  const nodeSpend = (node: string): NodeSpend | null => {
    if (node === ctx.config.node) return ctx.config.runners.includes('claude') || ctx.config.claude?.maxSpendUsdPerDay !== undefined ? spendToday(ctx.paths.home, ctx.config.claude?.maxSpendUsdPerDay, new Date(now)) : null;
    const s = beats.get(node)?.spend ?? null;
    // A beat from an earlier day says nothing of today: what it spent then does not count against today's cap.
    return s && s.day === today ? s : s ? { ...s, day: today, spentUsd: 0 } : null;
  };
  /** A claimed task's latest progress: this node's own file, else what the holder's heartbeat carries. */
  const progressOf = (t: TaskSummary): Progress | null => {
    if (!t.claim?.node || (t.state !== 'claimed' && t.state !== 'cancelling')) return null;
    if (t.claim.node === ctx.config.node) return readProgress(ctx.paths.home, t.id, t.claim.attempt);
    return beats.get(t.claim.node)?.progress?.[`${t.id}.${t.claim.attempt}`] ?? null;
  };
  // Dependencies that left main count with their archived state, as they do for claims.
  const external = offline ? undefined : (missing: string[]) => archivedStates(ctx, missing);
  // On a bus whose trust root this node pinned: which live tasks it would refuse as untrusted, and why.
  const trust = await enforcedTrust(snap, ctx.paths.home, ctx.config);
  // Trust verdicts and a node policy judge whole handoffs; without either, the tasks are listed from their
  // handoffs' facts (Snapshot.rowViews), which is what keeps status cheap with thousands pending.
  const whole = trust !== null || ctx.config.policy !== undefined;
  let views: TaskView<HandoffFacts>[];
  let judged = new Map<string, Judged>();
  if (whole) {
    const full = sortQueue(await snap.viewsOf(snap.ids(), external));
    snap.saveParsed();
    judged = await judgeHandoffs(ctx, snap, trust, full);
    views = full;
  } else {
    views = sortQueue(await snap.rowViews(snap.ids(), external));
    snap.saveParsed();
  }
  const counts: Partial<Record<TaskState, number>> = {};
  for (const v of views) counts[v.state] = (counts[v.state] ?? 0) + 1;
  const per = options.perState;
  const shown = new Map<TaskState, number>();
  const listed = per === undefined ? views : views.filter((v) => {
    const n = (shown.get(v.state) ?? 0) + 1;
    shown.set(v.state, n);
    return n <= per;
  });
  return {
    node: ctx.config.node,
    remote: ctx.repo.transport.display,
    head: snap.commit,
    settings: snap.settings,
    settingsOverridden: snap.settingsOverridden,
    nodes: nodeViews.map((n) => ({ ...n, ...liveness(n.node) })),
    ...(per !== undefined ? { perState: per } : {}),
    tasks: listed.map((v) => {
      const t = summarize(v);
      const j = judged.get(v.id);
      return { ...t, progress: progressOf(t), ...(j?.refusedHere ? { refusedHere: j.refusedHere } : {}), ...(j?.untrusted ? { untrusted: j.untrusted } : {}) };
    }),
    counts,
    trust: trust ? { version: trust.accepted.version } : null,
    problems: await snap.allProblems(),
    forged: snap.forged,
    offline,
    queued: listQueue(ctx.paths.home).map((e) => ({ kind: e.kind, id: e.id, ...(e.kind === 'dispatch' ? { title: e.title } : {}), queuedAt: e.queuedAt })),
    budget: budgetReport(snap.settings, isLocalRemote(ctx), obs, offline ? null : beats, now),
  };
}

/** Why this node would not take a task it could otherwise: a trust verdict, or its policy (node.yaml `policy:`). */
interface Judged {
  untrusted?: string;
  refusedHere?: string;
}

/** The tasks this node's trust or policy turns down, with why (full views: a verdict reads the whole handoff). */
async function judgeHandoffs(ctx: BusContext, snap: Snapshot, trust: EnforcedTrust | null, views: TaskView[]): Promise<Map<string, Judged>> {
  const verdicts = trust ? await handoffVerdicts(snap, trust, views.filter((v) => !isFinal(v.state)).map((v) => v.id), { name: ctx.config.node, labels: ctx.config.labels }) : null;
  if (verdicts) markEndsRemoved(ctx.paths.home, snap, verdicts);
  const judge = trustedJudge(ctx.paths.home, ctx.config, verdicts);
  // What keeps this node's watcher from a pending task it could otherwise take (runner, labels, address).
  const me = { node: ctx.config.node, labels: ctx.config.labels, runners: ctx.config.runners, ...(judge ? { policy: judge } : {}) };
  const refusedHere = (v: TaskView): string | undefined => {
    if (!judge || v.state !== 'pending' || !v.handoff) return undefined;
    if (v.handoff.to === ctx.config.node) {
      const verdict = judge(v.handoff, v.id);
      return verdict.ok ? undefined : `${verdict.reason} (addressed to this node: its watcher answers it failed)`;
    }
    const e = eligibility(v, me, snap.settings.maxAttempts);
    return e.refusedByPolicy ? e.reason.replace(/^this node's policy refuses it: /, '') : undefined;
  };
  const out = new Map<string, Judged>();
  for (const v of views) {
    const t = verdicts?.get(v.id);
    const untrusted = t && !t.trusted ? t.reason : undefined;
    const refused = untrusted ? undefined : refusedHere(v);
    if (untrusted || refused) out.set(v.id, { ...(untrusted ? { untrusted } : {}), ...(refused ? { refusedHere: refused } : {}) });
  }
  return out;
}

export interface ShownTask {
  id: string;
  state: TaskState;
  /** The archive month (yyyy-mm) when the task has left main. */
  archived: string | null;
  summary: TaskSummary | null;
  files: { path: string; text: string }[];
  /** Files of the task forged in a node's name, which this node ignores (not in `files`). */
  forged: ForgedFile[];
  /** Set when the remote could not be reached and this is what the node last knew. */
  offline: Offline | null;
  /** A project task's branch: where its results are (or will be) and how to fetch them. */
  branch?: ShownBranch;
}

export interface ShownBranch {
  repo: string;
  branch: string;
  /** null while the task has not ended. */
  pushed: boolean | null;
  report?: ProjectReport;
  /** The command that fetches the results. */
  fetch: string;
}

/** Where a project task's results are, from its response, or, before it ends, from its handoff. Pure. */
export function shownBranch(view: Pick<TaskView, 'id' | 'handoff' | 'response'>): ShownBranch | undefined {
  const report = view.response?.project;
  const repo = report?.repo ?? view.handoff?.repo;
  if (repo === undefined) return undefined;
  const branch = report?.branch ?? view.handoff?.branch ?? defaultBranch(view.id);
  return { repo, branch, pushed: report ? report.pushed : null, ...(report ? { report } : {}), fetch: `git fetch ${repo} ${branch}` };
}

/** One task's handoff, claims, releases, cancel and response, live or archived. */
export async function showTask(ctx: BusContext, ref: string): Promise<ShownTask> {
  const { snap, offline } = await snapshotOrLast(ctx);
  let id: string | null = null;
  try {
    id = resolveTaskId(snap.ids(), ref);
  } catch (err) {
    if (!(err instanceof UnknownTaskError) || (err.data['candidates'] as string[]).length > 1) throw err;
  }
  const decoder = new TextDecoder();
  if (id) {
    const view = await snap.view(id);
    if (!view) throw new UnknownTaskError(ref);
    const f = view.files;
    const refs = [f.handoff, ...[...f.claims.entries()].sort((a, b) => a[0] - b[0]).flatMap(([n, c]) => [c, f.releases.get(n)]), f.cancel, f.response];
    const files: ShownTask['files'] = [];
    for (const r of refs) if (r) files.push({ path: r.path, text: decoder.decode(await snap.store.readBlob(r.oid)) });
    const branch = shownBranch(view);
    return { id, state: view.state, archived: null, summary: summarize(view), files, forged: snap.forged.filter((x) => x.id === id), offline, ...(branch ? { branch } : {}) };
  }
  const found = await findArchived(ctx, [ref], { thorough: true });
  const entry = found.get(ref);
  if (!entry) throw new UnknownTaskError(ref);
  const order = (name: string) => (name === 'handoff.md' ? 0 : name === 'cancel.md' ? 2 : name === 'response.md' ? 3 : 1);
  const names = [...entry.files.keys()].sort((a, b) => order(a) - order(b) || (a < b ? -1 : 1));
  const files: ShownTask['files'] = [];
  for (const name of names) files.push({ path: `archive:${entry.month}/${ref}/${name}`, text: decoder.decode(await snap.store.readBlob(entry.files.get(name) as string)) });
  return { id: ref, state: entry.state, archived: entry.month, summary: null, files, forged: [], offline: null };
}
