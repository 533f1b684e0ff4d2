import type { FileProblem } from '../../schemas/errors.js';
import type { ResolvedSettings } from '../../schemas/settings.js';
import type { BusContext } from '../context.js';
import type { Snapshot, NodeView } from '../model/snapshot.js';
import { eligibility, sortQueue } from '../model/planner.js';
import type { TaskView } from '../model/task-view.js';
import { isFinal, type ForgedFile, type SettingOverride, type TaskState } from '../model/types.js';
import { MAIN } from '../repo.js';
import { outageCode } from '../remote-failure.js';
import { listQueue, type QueueEntry } from '../queue.js';
import { archivedStates } from './archived-trust.js';
import { readObservations, updateObservations } from '../liveness-store.js';
import { leftNote, type LeftNote } from '../left-home.js';
import { cardlessNodes, HEARTBEAT_PREFIX, withoutNodes, type BeatFacts, type ShownLiveness } from '../model/liveness.js';
import { type FleetReport } from '../model/budget.js';
import { budgetReport, isLocalRemote } from './budget-report.js';
import { claimHolders } from './claim-holders.js';
import { heartbeatRefProblem, type BeatDelivering, type BeatDetails } from './heartbeat.js';
import { currentBeats } from './beat-cache.js';
import { nodeLiveness } from './node-liveness.js';
import { readProgress, type Progress } from '../progress.js';
import { spendToday, type NodeSpend } from '../spend-ledger.js';
import { addressedVerdicts, enforcedTrust, pinsTrust, trustedJudge, untrustedVerdict } from '../trust/enforce.js';
import { judgedHandoffVerdict } from '../trust/verify-verdicts.js';
import type { ShownTrust } from './query.js';
import { judgesTasks } from '../node-policy.js';
import { whyClaimNothing } from '../trust/node-files.js';
import type { EnforcedTrust } from '../trust/handoff-trust.js';
import { trustNotEnforced, type TrustNotEnforced } from '../trust/enforcing-nodes.js';
import type { HandoffFacts } from '../store/parse-cache-file.js';
import { markEndsRemoved } from '../trust/seen-ended.js';
import { localSnapshot, offlineFrom, snapshotOrLast, type Offline } from './query.js';
import { DIGEST_MIN_TASKS, loadStatusDigest, loadStatusPayload, saveStatusDigest } from './status-digest.js';
import { tasksJsonOf, tasksJsonOfPayload } from './status-tasks-json.js';
import { noTakerOf, setNoTaker, setTakersDown, takerCards, takersDownLines, takersDownOf } from './status-no-taker.js';
import { isDown, type NodeDown } from '../model/takers-down.js';
import { archiveAsker, countStates, firstPerState, sparePerState, type StatusCore, type StatusTask } from './status-core.js';
import { derivedCore } from './status-derive.js';
import { flatProblems } from '../model/snapshot-problems.js';
import { DIGEST_PER_STATE, orderRow, summaryLine } from './status-digest-file.js';
import { summarize, type TaskSummary } from './task-summary.js';

/*
 * `gitbus status` (and the MCP and web views' status): a core worked out of one commit of main, or read from its
 * digest (status-digest.ts), and what is of the moment added to it (docs/ARCHITECTURE.md "The status digest").
 */

export interface BusStatus {
  node: string;
  /** This home's node left the bus (`gitbus leave`): when, and from which bus; null while it is a node of it. */
  left: LeftNote | null;
  remote: string;
  head: string | null;
  /** The settings this node acts on: gitbus.yaml's, with what its trust version fixes in their place (§12). */
  settings: ResolvedSettings;
  /** Settings whose gitbus.yaml value this node does not use because its trust version says otherwise (also in problems). */
  settingsOverridden: SettingOverride[];
  /** Each node with its liveness as this node observes it (docs/PROTOCOL.md §5a). */
  nodes: (NodeView & NodeLiveness)[];
  /**
   * Nodes with a heartbeat ref and no card on main: taken off the bus while a watcher ran (`gitbus leave --force`),
   * or their card was removed by hand. Their watcher may still claim; `gitbus leave --node NAME` removes the beat.
   */
  cardless: ({ node: string } & NodeLiveness)[];
  /**
   * `refusedHere`: why this node's policy (node.yaml `policy:`) refuses a pending or blocked task it could otherwise
   * take; `noTaker`: why no node's watcher takes a pending task: no node's card lets it, or it is a manual task
   * (bus/model/planner.ts noTaker); `takersDown`: why a pending task that cards let nodes take waits all the same,
   * every such node being stopped, silent or without a watcher now (bus/model/takers-down.ts).
   */
  /**
   * `untrusted`: why this node would not run the task's handoff, as a line; `trustVerdict`, with it: that verdict as
   * `show --json` gives it (`trust`: the same code, bus/trust/verify-verdicts.ts), with the fix and whether the task is
   * this node's to run at all.
   */
  /**
   * `delivering`: a claimed task whose run ended on its holder, and whose result waits there for the project remote
   * (the holder's heartbeat says so, docs/PROTOCOL.md §5a): since when and why. It stays `claimed`.
   */
  tasks: StatusTask[];
  /** The first tasks of each state only (StatusOptions.perState), when set: `counts` has how many there are. */
  perState?: number;
  /** The trust version this node enforces on handoffs (it pinned the bus's trust root), or null: it acts on any handoff. */
  trust: { version: number } | null;
  /**
   * On a bus with a trust root: the nodes that do not enforce it (their cards say they pinned none, or another root),
   * which run any handoff, signed or not, and the fix; null when there are none or the bus has no root.
   */
  trustNotEnforced: TrustNotEnforced | null;
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
  const at = await statusCore(ctx, options, false);
  const { status, fill } = await statusOf(ctx, at);
  status.tasks = at.core.tasks.map(fill);
  return status;
}

/** `status --json`'s status: `tasks` left empty, and every task in queue order as the JSON text of that array. */
export interface BusStatusJson {
  status: BusStatus;
  /**
   * One task a line, indented as the array's place in `status --json` (status-digest-file.ts summaryPieces), in
   * pieces to be written one after the other (not copied into one: 2.5 MB at 5,000 tasks).
   */
  tasksJson: Buffer[];
}

/**
 * The status with every task as JSON text: from a digest, its summaries payload as it is, with the tasks of the
 * moment (claimed, cancelling) filled in (status-tasks-json.ts); else each task as busStatus lists it.
 */
export async function busStatusJson(ctx: BusContext): Promise<BusStatusJson> {
  const at = await statusCore(ctx, {}, true);
  const { status, fill } = await statusOf(ctx, at);
  const payload = at.core.payload;
  // A pending task waiting on nodes that are down is said of the moment: its line too is filled in.
  const also = payload ? takersDownLines(takerCards(at.core.nodes, at.core.forged), new Set(status.nodes.filter((n) => isDown(n.liveness)).map((n) => n.node))) : undefined;
  return { status, tasksJson: payload ? tasksJsonOfPayload(payload, fill, also) : tasksJsonOf(at.core.tasks.map(fill)) };
}

/**
 * The core of this node's status: from the digest of main's commit, derived from an earlier commit's, or worked
 * out in full. `asPayload`: every task's summary in a digest's payload rather than parsed, where a digest has them.
 */
async function statusCore(ctx: BusContext, options: StatusOptions, asPayload: boolean): Promise<{ core: StatusCore; offline: Offline | null }> {
  const per = options.perState;
  // A node that judges handoffs (a pinned trust root, a policy) decides with its own files and clock: it works its
  // status out in full every time. Any other reads the digest of the commit it was last worked out for.
  const digestible = !judgesTasks(ctx.config) && !pinsTrust(ctx.paths.home) && (per === undefined || per <= DIGEST_PER_STATE);
  if (!digestible) return coreOfSnapshot(ctx, options, await snapshotOrLast(ctx));
  const pre = await headOrLast(ctx);
  const looked = !pre.offline && pre.head !== null ? await coreOfDigest(ctx, pre.head, per, asPayload) : undefined;
  if (looked?.core) return { core: looked.core, offline: null };
  const at = pre.offline ? { snap: await localSnapshot(ctx), offline: pre.offline } : await snapshotOrLast(ctx, pre.head);
  // No digest of this commit: one derived from an earlier commit's works out only the tasks that changed since.
  let known = looked?.known;
  if (!looked && !at.offline) {
    const derived = await derivedCore(ctx, at.snap, per, asPayload);
    if (derived && 'core' in derived) return { core: derived.core, offline: null };
    known = derived?.known;
  }
  return coreOfSnapshot(ctx, options, at, true, known);
}

/**
 * Works out the status of the node's main as it is in its clone and writes its digest, without asking the remote
 * anything but the archive: what join leaves behind, so that the node's first status reads it.
 */
export async function warmStatusDigest(ctx: BusContext): Promise<void> {
  if (judgesTasks(ctx.config) || pinsTrust(ctx.paths.home)) return;
  await coreOfSnapshot(ctx, { perState: DIGEST_PER_STATE }, { snap: await localSnapshot(ctx), offline: null }, true);
}

/**
 * The current head of main (fetching only if the remote moved), or, when the remote cannot be reached, the last
 * one this node knew with the reason: snapshotOrLast's first half, for status to look for its digest in between.
 */
async function headOrLast(ctx: BusContext): Promise<{ head: string | null; offline: Offline | null }> {
  try {
    return { head: await ctx.repo.sync(MAIN), offline: null };
  } catch (err) {
    const code = outageCode(err);
    if (code === null) throw err;
    return { head: await ctx.repo.localHead(MAIN), offline: offlineFrom(ctx, code, err) };
  }
}

/**
 * The core from the digest of `head` (status-digest.ts); or, when there is none this status can use, what it
 * learnt of the archive on the way (dependencies archived since the digest was written), for the full path to reuse.
 */
async function coreOfDigest(ctx: BusContext, head: string, per: number | undefined, asPayload: boolean): Promise<{ core: StatusCore } | { core?: undefined; known: ReadonlyMap<string, TaskState> } | undefined> {
  const whole = asPayload && per === undefined ? loadStatusPayload(ctx.repo.gitdir, head) : null;
  const loaded = whole ?? loadStatusDigest(ctx.repo.gitdir, head, per === undefined);
  if (!loaded) return undefined;
  const d = loaded.digest;
  const tasks = whole ? [] : per === undefined ? ('all' in loaded ? loaded.all : null) : firstPerState(d.top, per);
  if (!tasks) return undefined;
  // A dependency the archive did not know then may have been archived since: asked again, as a full status would.
  const found = new Set(d.external.found.map(([id]) => id));
  const unknown = d.external.asked.filter((id) => !found.has(id));
  if (unknown.length > 0) {
    const known = await archivedStates(ctx, unknown);
    if (known.size > 0) return { known };
  }
  return { core: { head, settings: d.settings, settingsOverridden: [], nodes: d.nodes, tasks, ...(whole ? { payload: whole.payload } : {}), ...(per !== undefined ? { perState: per } : {}), counts: d.counts, trust: null, problems: d.problems, forged: [], holders: new Map(d.holders) } };
}

/**
 * The core worked out from a snapshot; with `digest`, written down for the next status of the same commit. `known`:
 * archived states already asked in this status, not asked twice.
 */
async function coreOfSnapshot(ctx: BusContext, options: StatusOptions, at: { snap: Snapshot; offline: Offline | null }, digest = false, known: ReadonlyMap<string, TaskState> = new Map()): Promise<{ core: StatusCore; offline: Offline | null }> {
  const { snap, offline } = at;
  const nodes = await snap.nodes();
  const holders = await claimHolders(snap);
  // Dependencies that left main count with their archived state, as they do for claims.
  const archive = offline ? undefined : archiveAsker(ctx, known);
  const external = archive?.external;
  // On a bus whose trust root this node pinned: which live tasks it would refuse as untrusted, and why.
  const trust = await enforcedTrust(snap, ctx.paths.home, ctx.config);
  // Trust verdicts and a node policy judge whole handoffs; without either, the tasks are listed from their
  // handoffs' facts (Snapshot.rowViews), which is what keeps status cheap with thousands pending.
  const whole = trust !== null || judgesTasks(ctx.config);
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
  const counts = countStates(views);
  const per = options.perState;
  const tasks = firstPerState(views, per).map((v) => {
    const j = judged.get(v.id);
    return { ...summarize(v, snap.settings.maxAttempts), ...(j?.refusedHere ? { refusedHere: j.refusedHere } : {}), ...(j?.untrusted ? { untrusted: j.untrusted, ...(j.trustVerdict ? { trustVerdict: j.trustVerdict } : {}) } : {}) };
  });
  const parts = await snap.problemParts();
  const problems = flatProblems(parts);
  if (digest && !whole && archive && snap.commit !== null && views.length >= DIGEST_MIN_TASKS) {
    const all = per === undefined ? tasks : views.map((v) => summarize(v, snap.settings.maxAttempts));
    // A digest's summaries carry what its commit decides of them, so that `status --json` writes them as they are.
    const why = noTakerOf(takerCards(nodes, snap.forged));
    for (const t of all) setNoTaker(t, why);
    const deps = views.flatMap((v): [string, string[]][] => (v.handoff?.after?.length ? [[v.id, [...v.handoff.after]]] : []));
    saveStatusDigest(ctx.repo.gitdir, { commit: snap.commit, settings: snap.settings, nodes, counts, top: firstPerState(all, DIGEST_PER_STATE), problems, holders: [...holders].map(([n, ids]) => [n, [...ids]]), external: { asked: archive.asked, found: archive.found } }, all.map(summaryLine), { remote: ctx.repo.transport.display, order: all.map(orderRow), deps, taskProblems: parts.tasks, spare: sparePerState(all) });
  }
  const core: StatusCore = { head: snap.commit, settings: snap.settings, settingsOverridden: snap.settingsOverridden, nodes, tasks, ...(per !== undefined ? { perState: per } : {}), counts, trust: trust ? { version: trust.accepted.version } : null, problems, forged: snap.forged, holders };
  return { core, offline };
}

/**
 * A status from its core: liveness, spend, the queue and the budget, as of now; its `tasks` left empty, for the
 * caller to list with `fill` (each task's progress, delivering and no-taker, as of now) or as their JSON text.
 */
async function statusOf(ctx: BusContext, { core, offline }: { core: StatusCore; offline: Offline | null }): Promise<{ status: BusStatus; fill: (t: StatusTask) => StatusTask }> {
  const settings = core.settings;
  const leaseMs = settings.leaseMs;
  // While the remote cannot be reached, what this node saw last is shown as it was; nothing more is asked of it.
  const observed = offline ? readObservations(ctx.paths.home) : updateObservations(ctx.paths.home, ctx.repo.lastRefs, ctx.repo.listedAt, leaseMs, core.holders);
  const beats = new Map<string, (BeatFacts & Partial<BeatDetails>) | null>();
  // A heartbeat ref that holds no commit (a tag pushed there) is no heartbeat: the node is shown as one that never beat.
  const notBeats: FileProblem[] = [];
  if (!offline) {
    const beating = [...new Set([...core.nodes.map((v) => v.node), ...Object.keys(observed.nodes)])].filter((n) => observed.nodes[n] !== undefined);
    for (const [n, read] of await currentBeats(ctx, beating)) {
      if ('notACommit' in read) notBeats.push(heartbeatRefProblem(n, read.notACommit));
      else beats.set(n, read.beat);
    }
  }
  const obs = withoutNodes(observed, notBeats.map((p) => p.path.slice(HEARTBEAT_PREFIX.length)));
  const now = Date.now();
  const liveness = (node: string): NodeLiveness => {
    const { liveness: l, beatAt } = nodeLiveness(obs, node, beats.get(node) ?? null, settings, isLocalRemote(ctx), now);
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
  /** A claimed task's result held by its holder for the project remote, as the holder's own heartbeat says: only its own claims. */
  const deliveringOf = (t: TaskSummary): BeatDelivering | undefined => (t.state === 'claimed' && t.claim?.node ? beats.get(t.claim.node)?.delivering?.[`${t.id}.${t.claim.attempt}`] : undefined);
  const cards = takerCards(core.nodes, core.forged);
  const whyNoTaker = noTakerOf(cards);
  const nodes = core.nodes.map((n) => ({ ...n, ...liveness(n.node) }));
  // The nodes that run no watcher now: a task only they may take waits for them (bus/model/takers-down.ts).
  const down = new Map(nodes.flatMap((n): [string, NodeDown][] => (isDown(n.liveness) ? [[n.node, { liveness: n.liveness, beatAt: n.heartbeat ? now - n.heartbeat.ageMs : null }]] : [])));
  const whyDown = takersDownOf(cards, down, now);
  // The core's tasks are this status's own (read or worked out for it, and written to its digest before now), so
  // they are filled in as they are: a copy of each cost `status --json` ~20 ms and 3,000 page faults with 5,000
  // pending (issue 14). The fields end up where a copy put them.
  const fill = (t: StatusTask): StatusTask => {
    t.progress = progressOf(t);
    setNoTaker(t, whyNoTaker);
    const held = deliveringOf(t);
    if (held) t.delivering = held;
    setTakersDown(t, whyDown);
    return t;
  };
  const status: BusStatus = {
    node: ctx.config.node,
    left: leftNote(ctx.paths.home),
    remote: ctx.repo.transport.display,
    head: core.head,
    settings,
    settingsOverridden: core.settingsOverridden,
    nodes,
    // From the listing this status was read with (none while offline).
    // Only a ref that holds a heartbeat (a commit with a heartbeat.yaml) is a node beating; one at a blob is not.
    cardless: (offline ? [] : cardlessNodes(ctx.repo.lastRefs, core.nodes.map((n) => n.node), core.forged).filter((n) => beats.get(n))).map((node) => ({ node, ...liveness(node) })),
    ...(core.perState !== undefined ? { perState: core.perState } : {}),
    tasks: [],
    counts: core.counts,
    trust: core.trust,
    trustNotEnforced: await notEnforced(ctx, core),
    problems: notBeats.length > 0 ? [...core.problems, ...notBeats] : core.problems,
    forged: core.forged,
    offline,
    queued: listQueue(ctx.paths.home).map((e) => ({ kind: e.kind, id: e.id, ...(e.kind === 'dispatch' ? { title: e.title } : {}), queuedAt: e.queuedAt })),
    budget: budgetReport(settings, isLocalRemote(ctx), obs, offline ? null : beats, now),
  };
  return { status, fill };
}

/** statusOf's `trustNotEnforced`: a report, so a chain that cannot be read leaves it out (trust.root says why). */
async function notEnforced(ctx: BusContext, core: StatusCore): Promise<TrustNotEnforced | null> {
  if (core.head === null) return null;
  const r = await trustNotEnforced({ commit: core.head, store: ctx.repo.store }, ctx.paths.home, ctx.config.trust ?? {}, core.nodes, ctx.config.node).catch(() => null);
  return r && r.nodes.length > 0 ? r : null;
}

/** Why this node would not take a task it could otherwise: a trust verdict, or its policy (node.yaml `policy:`). */
interface Judged {
  untrusted?: string;
  trustVerdict?: ShownTrust;
  refusedHere?: string;
}

/** The tasks this node's trust or policy turns down, with why (full views: a verdict reads the whole handoff). */
async function judgeHandoffs(ctx: BusContext, snap: Snapshot, trust: EnforcedTrust | null, views: TaskView[]): Promise<Map<string, Judged>> {
  // A task addressed to another node is judged by the rules for that node, as show and verify judge it: whether it
  // is trusted is then the same on every node, not "untrusted" wherever the rules do not let it run.
  const live = views.filter((v) => !isFinal(v.state)).map((v) => ({ id: v.id, to: v.handoff?.to }));
  const verdicts = trust ? await addressedVerdicts(snap, trust, live, { name: ctx.config.node, labels: ctx.config.labels }) : null;
  if (verdicts) await markEndsRemoved(ctx.paths.home, snap, verdicts);
  const judge = trustedJudge(ctx.paths.home, ctx.config, verdicts);
  // What keeps this node's watcher from a pending task it could otherwise take (runner, labels, address).
  const me = { node: ctx.config.node, labels: ctx.config.labels, runners: ctx.config.runners, ...(judge ? { policy: judge } : {}) };
  // A node whose own key the version does not list for it claims nothing, and answers nothing (bus/ops/claim.ts).
  const claimNothing = trust ? whyClaimNothing(ctx.paths.home, ctx.config.node, trust.accepted) : null;
  const refused = claimNothing ? untrustedVerdict({ trusted: false, ...claimNothing }) : null;
  const refusedHere = (v: TaskView): string | undefined => {
    if (!judge || v.state !== 'pending' || !v.handoff) return undefined;
    if (claimNothing && refused) {
      const mine = v.handoff.to === ctx.config.node || eligibility(v, { ...me, policy: () => refused }, snap.settings.maxAttempts).refusedByPolicy;
      return mine ? `${claimNothing.reason}; this node claims nothing until then (${claimNothing.fix})` : undefined;
    }
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
    // Untrusted, the archive holds nothing the verdict needs (the replay check asks only of a trusted handoff).
    const trustVerdict = untrusted && trust && verdicts ? { version: trust.accepted.version, ...judgedHandoffVerdict(ctx, trust, v.id, v, verdicts, null, claimNothing) } : undefined;
    if (untrusted || refused) out.set(v.id, { ...(untrusted ? { untrusted } : {}), ...(trustVerdict ? { trustVerdict } : {}), ...(refused ? { refusedHere: refused } : {}) });
  }
  return out;
}
