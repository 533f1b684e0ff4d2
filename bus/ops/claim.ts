import { renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import type { Claim } from '../../schemas/claim.js';
import { type Handoff } from '../../schemas/handoff.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import { nodeCrypto } from '../../schemas/node-crypto.js';
import { InvalidTaskError, NotClaimableError, NothingClaimableError, TaskStateError } from '../errors.js';
import { transact, type Decision, type TransactOptions, type TransactStats } from '../cas.js';
import type { BusContext } from '../context.js';
import { openAttempt } from '../model/index-tree.js';
import { claimQueue, eligibility, holderText, mayEverClaim, pickManyFromQueue, sortQueue, spreadQueue, type NodeFacts } from '../model/planner.js';
import type { FileChange } from '../store/objects.js';
import type { PolicyVerdict } from '../model/node-policy.js';
import { policyJudge, type SignerOf } from '../node-policy.js';
import { markEndsRemoved } from '../trust/seen-ended.js';
import { enforcedTrust, handoffVerdicts, replayed, trustedJudge, untrustedVerdict } from '../trust/enforce.js';
import { holdersToTakeOver, whyClaimNothing } from '../trust/node-files.js';
import { resolveTaskIdBeyond } from '../model/resolve-id.js';
import type { Snapshot } from '../model/snapshot.js';
import type { TaskView } from '../model/task-view.js';
import type { TaskFiles } from '../model/types.js';
import { archivedIdCheck, findArchived } from './archive-lookup.js';
import { archivedStates } from './archived-trust.js';
import { updateObservations } from '../liveness-store.js';
import { claimHolders } from './claim-holders.js';
import { livenessOf } from '../model/liveness.js';
import { refuseIfArchived } from './archived-refusal.js';
import { readBeatRef } from './heartbeat.js';

/**
 * `answerRefusals` (the watcher): a task addressed to this node that its policy refuses is claimed, to be answered
 * `failed` with the reason (ClaimResult.policy); without it such a task is skipped, or refused when named by id.
 */
export type ClaimTarget = { id: string } | { next: true; runners?: readonly string[]; answerRefusals?: boolean };

export interface ClaimOptions extends Pick<TransactOptions, 'peek' | 'beforeWrite'> {
  /** Who signed a task (signature verification); by default none did, so a policy naming `signers` refuses every task. */
  signerOf?: SignerOf;
  /**
   * Called for each race this claim lost: `rejected`, its push was refused because main had moved; `taken`, a
   * decision read again from the remote found nothing left of what an earlier decision of this claim picked.
   */
  onLostRace?: (why: LostRace) => void;
}

/** How a claim lost a race to another node (ClaimOptions.onLostRace). */
export type LostRace = 'rejected' | 'taken';

export interface ClaimResult {
  id: string;
  attempt: number;
  node: string;
  title: string;
  /** The claimed task's handoff, so that whoever claimed can run it without another read. */
  handoff: Handoff;
  body: string;
  /** The attempt this claim took over from a node that went silent, if it did. */
  reclaimed: { attempt: number; node: string } | null;
  /** The claude session this attempt runs in, recorded in the claim before the run starts. */
  session?: string;
  /**
   * This node's policy on the task (node.yaml `policy:`), when it has one: the caps to apply to the run, or, for a
   * task addressed to it that the policy refuses (claimed with `answerRefusals`), why nothing may run.
   */
  policy?: PolicyVerdict;
}

/** `opts.peek`: decide from a snapshot already read first; only a claim that would be made syncs (bus/cas.ts). */
export async function claim(ctx: BusContext, target: ClaimTarget, now = () => new Date(), opts: ClaimOptions = {}): Promise<ClaimResult & TransactStats> {
  const r = await claimInOneCommit(ctx, target, { max: 1 }, now, opts).catch((err: unknown) => ('id' in target ? refuseIfArchived(ctx, target.id, err, 'claim it') : Promise.reject(err)));
  const first = r.claims[0];
  if (!first) throw new Error('unreachable: a claim decided nothing and did not throw');
  return { ...first, attempts: r.attempts, commit: r.commit };
}

/** How many tasks one claim may take: at most `max`, and at most `perRunner[r]` of runner r. */
export interface BatchLimits {
  max: number;
  perRunner?: Partial<Record<string, number>>;
  /**
   * Try the queue in this node's own spread order (bus/model/planner.ts spreadQueue) instead of strictly from its
   * head: watchers woken by one change then mostly pick different tasks, and a retry after a lost race usually
   * finds its picks still free. Priority order holds; FIFO holds up to the spread window.
   */
  spread?: boolean;
  /**
   * Which of the node's claimable tasks (its queue, best first) it may claim now; the rest are left for nodes
   * ranked before it (the watcher's rendezvous ranking, bus/model/claim-rank.ts). `pending`: every pending task
   * of the snapshot in queue order, whoever may claim it (the ranking orders the fleet's claimers by them).
   * Applied at every decision of the compare-and-swap that picks anew, retries too, before the picks (a round that
   * keeps its last picks, keptPicks, does not rank them again). Absent: all of them.
   */
  ready?: (queue: readonly TaskView[], snap: Snapshot, pending: readonly TaskView[]) => Promise<readonly TaskView[]>;
}

/**
 * Claims up to `limits.max` claimable tasks in ONE commit (docs/PROTOCOL.md §5, "Claiming several at once"): a
 * watcher with free slots fills them with one push instead of one per task. The batch is decided from one snapshot
 * and pushed as one commit, so it is won or lost as a whole; a lost race decides again from the new state.
 */
export async function claimBatch(ctx: BusContext, target: Extract<ClaimTarget, { next: true }>, limits: BatchLimits, now = () => new Date(), opts: ClaimOptions = {}): Promise<{ claims: ClaimResult[] } & TransactStats> {
  return claimInOneCommit(ctx, target, limits, now, opts);
}

async function claimInOneCommit(ctx: BusContext, target: ClaimTarget, limits: BatchLimits, now: () => Date, opts: ClaimOptions): Promise<{ claims: ClaimResult[] } & TransactStats> {
  const decide = claimDecider(ctx, target, limits, now, opts);
  const { peek, onLostRace } = opts;
  return transact(ctx, 'claim', decide, { ...(peek ? { peek } : {}), ...(opts.beforeWrite ? { beforeWrite: opts.beforeWrite } : {}), ...(onLostRace ? { onRetry: () => onLostRace('rejected') } : {}) });
}

/**
 * A claim's decision from one snapshot, for a compare-and-swap loop: claimBatch's own, or the one that answers
 * this node's results and claims its next tasks in one commit (bus/ops/respond-and-claim.ts). Throws as a claim
 * does (NothingClaimableError when nothing may be claimed); `opts.onLostRace('taken')` when a later decision finds
 * nothing left of what an earlier one picked.
 */
export function claimDecider(ctx: BusContext, target: ClaimTarget, limits: BatchLimits, now: () => Date, opts: Pick<ClaimOptions, 'signerOf' | 'onLostRace'> = {}): (snap: Snapshot, round: number) => Promise<Decision<{ claims: ClaimResult[] }>> {
  const untrustedJudge = policyJudge(ctx.paths.home, ctx.config, opts.signerOf);
  /** Whether an earlier decision of this claim's compare-and-swap (its peek, or a round whose push was refused) picked something. */
  let pickedBefore = false;
  /** What the last decision that picked anything picked (ids), for the next round to keep while it may (keptPicks). */
  let lastPicks: string[] = [];
  const { onLostRace } = opts;
  const decide = async (snap: Snapshot, round: number): Promise<Decision<{ claims: ClaimResult[] }>> => {
    // On a bus whose trust root this node pinned, only handoffs signed by an allowed signer are acted on.
    const trust = await enforcedTrust(snap, ctx.paths.home, ctx.config);
    const target_ = { name: ctx.config.node, labels: ctx.config.labels };
    // A node whose own key the accepted version does not list (on a bus that refuses unlisted nodes), or lists
    // another key for, writes nothing: its claim would be ignored as forged and the task run again elsewhere.
    const claimNothing = trust !== null ? whyClaimNothing(ctx.paths.home, ctx.config.node, trust.accepted) : null;
    const judgeFor = async (ids: string[]) => {
      if (!trust) return untrustedJudge;
      if (claimNothing) {
        const v = untrustedVerdict({ trusted: false, ...claimNothing });
        return () => v;
      }
      const verdicts = await handoffVerdicts(snap, trust, ids, target_);
      // Replay: a signed handoff of a task that already ended and left main, pushed back under its own id; then a
      // task this node saw end, cancelled or claimed whose end, cancel or claim was deleted since. Any archived
      // folder of the id counts, whether or not its end counts here (archivedStates drops those, for `after`):
      // deleting an archived response's signature must not make its handoff runnable again.
      const trusted = ids.filter((id) => verdicts.get(id)?.trusted);
      for (const [id, entry] of await findArchived(ctx, trusted)) verdicts.set(id, replayed(id, entry.month, entry.state));
      await markEndsRemoved(ctx.paths.home, snap, verdicts);
      return trustedJudge(ctx.paths.home, ctx.config, verdicts);
    };
    let judge = untrustedJudge;
    // The task named, or those the kept answer names and those changed since, are looked up, not every live task
    // indexed (a command in a process of its own, right after another node's push: issue 14).
    snap.useLean(true);
    // A round after one that picked (its push refused, or its peek's main moved) first tries the same tasks again,
    // reading only them: still pending, this node may still claim them. Those are claimed as they are, without the
    // holders' liveness, every live task's view or the ranking, so the round's window (from reading main to the push)
    // stays short on a busy bus. Anything else (one of them taken, blocked, refused now) decides anew below.
    const kept = 'next' in target && lastPicks.length > 0 ? await keptPicks(snap, lastPicks, judgeFor, (judge) => nextFacts(target, judge, claimNothing === null)) : null;
    if (kept) {
      // What main's moves and the heartbeats say is still folded in (doctor's observed pushes count every move),
      // without the claim holders a takeover needs, which a kept pick is not.
      updateObservations(ctx.paths.home, ctx.repo.lastRefs, ctx.repo.listedAt, snap.settings.leaseMs);
      judge = kept.judge;
      return claimsOf(snap, kept.views, new Set(), judge);
    }
    const expired = holdersToTakeOver(trust, ctx.config.node, await expiredHolders(ctx, snap));
    let picked: TaskView[];
    if ('id' in target) {
      const id = await resolveTaskIdBeyond(snap, target.id, archivedIdCheck(ctx));
      judge = await judgeFor([id]);
      const who: NodeFacts = { node: ctx.config.node, labels: ctx.config.labels, ...(judge ? { policy: judge } : {}) };
      const view = reclaimable(await viewWithDeps(ctx, snap, id), expired);
      picked = [view];
      const e = eligibility(view, who, snap.settings.maxAttempts);
      if (!e.ok) {
        if (view.state === 'invalid') throw new InvalidTaskError(id, view.problems);
        if (view.state === 'claimed' || view.state === 'cancelling') throw new TaskStateError(id, holderText(view), 'claim it', e.fix, { holder: view.claim?.node ?? null });
        throw new NotClaimableError(id, e.reason, e.fix);
      }
    } else {
      // Names alone rule out most tasks; parse only the handoffs that could be claimable. Of those, a task addressed
      // to another node, or needing a label or runner this node lacks, is never claimable here whatever its state:
      // its handoff rules it out before its view (and its dependencies, and its trust verdict) is worked out.
      const self = { node: ctx.config.node, labels: ctx.config.labels, ...(target.runners ? { runners: target.runners } : {}) };
      const forThisNode = await snap.handoffIdsWhere(`claim ${JSON.stringify([self.node, self.labels, self.runners ?? null])}`, (h) => mayEverClaim(h, self), true);
      const open = (f: TaskFiles | undefined) => openToClaim(f, expired.size > 0);
      const possible = forThisNode.filter((id) => open(snap.filesOf(id)));
      const views = (await snap.viewsOf(possible, (missing) => archivedStates(ctx, missing))).map((v) => reclaimable(v, expired));
      snap.saveParsed();
      judge = await judgeFor(views.map((v) => v.id));
      const facts = nextFacts(target, judge, claimNothing === null);
      const eligible = claimQueue(views, facts, snap.settings.maxAttempts);
      const queue = limits.ready ? [...(await limits.ready(eligible, snap, sortQueue(views.filter((v) => v.state === 'pending'))))] : eligible;
      // A spread order is this node's own and the same at every round: a retry takes its next preference as it is.
      picked = limits.spread ? pickManyFromQueue(spreadQueue(queue, ctx.config.node), 1, limits.max, limits.perRunner) : pickManyFromQueue(queue, round, limits.max, limits.perRunner);
      if (picked.length === 0) {
        if (pickedBefore) onLostRace?.('taken');
        const refused = judge ? views.flatMap((v) => {
          const e = eligibility(v, facts, snap.settings.maxAttempts);
          return e.refusedByPolicy ? [{ id: v.id, reason: e.reason, fix: e.fix }] : [];
        }) : [];
        // Every live candidate is counted, including those ruled out by their handoff (only on this path): all live
        // tasks but those a response, a cancel or an open claim closes, which only tasks with such files can be.
        let candidates = snap.taskCount();
        for (const f of snap.filesWith(['responses', 'cancels', 'claims'])) if (!open(f)) candidates--;
        throw new NothingClaimableError(ctx.config.node, candidates, refused);
      }
    }
    return claimsOf(snap, picked, expired, judge);
  };
  /** The claims of `picked`, in one commit; remembered for the next round (keptPicks). */
  const claimsOf = (snap: Snapshot, picked: readonly TaskView[], expired: ReadonlySet<string>, judge: ReturnType<typeof policyJudge>): Decision<{ claims: ClaimResult[] }> => {
    pickedBefore = true;
    lastPicks = picked.map((v) => v.id);
    const claims: ClaimResult[] = [];
    const changes: FileChange[] = [];
    for (const view of picked) {
      const made = claimOf(ctx, snap, view, expired, judge, now);
      claims.push(made.result);
      changes.push(made.change);
    }
    const what = claims.length === 1 ? `${claims[0]?.id ?? ''} attempt ${claims[0]?.attempt ?? 0}` : `${claims.length} tasks`;
    return {
      result: { claims },
      commit: { changes, message: `gitbus: claim ${what} by ${ctx.config.node}${claims.length > 1 ? `\n\n${claims.map((c) => `${c.id} attempt ${c.attempt}`).join('\n')}` : ''}` },
    };
  };
  /** This node as a decision of its next tasks judges it; `mayAnswerRefusals`: its key is one the trust version lists. */
  const nextFacts = (target: Extract<ClaimTarget, { next: true }>, judge: ReturnType<typeof policyJudge>, mayAnswerRefusals: boolean): NodeFacts => ({
    node: ctx.config.node,
    labels: ctx.config.labels,
    ...(judge ? { policy: judge } : {}),
    ...(target.runners ? { runners: target.runners } : {}),
    ...(target.answerRefusals && mayAnswerRefusals ? { answerRefusals: true } : {}),
  });
  /**
   * The views of `ids` when every one is still pending and claimable here in `snap` (eligibility, as claimQueue
   * judges the whole queue: state, dependencies, attempts, labels and runners, this node's policy and trust), else
   * null. A task that was claimed by a node gone silent is not kept: its takeover needs the holders' liveness.
   */
  const keptPicks = async (snap: Snapshot, ids: readonly string[], judgeFor: (ids: string[]) => Promise<ReturnType<typeof policyJudge>>, factsOf: (judge: ReturnType<typeof policyJudge>) => NodeFacts): Promise<{ views: TaskView[]; judge: ReturnType<typeof policyJudge> } | null> => {
    if (!ids.every((id) => openToClaim(snap.filesOf(id), false))) return null;
    const views = await snap.viewsOf([...ids], (missing) => archivedStates(ctx, missing));
    if (views.length !== ids.length) return null;
    const judge = await judgeFor([...ids]);
    const facts = factsOf(judge);
    return views.every((v) => v.state === 'pending' && eligibility(v, facts, snap.settings.maxAttempts).ok) ? { views, judge } : null;
  };
  return decide;
}

/**
 * Whether a task's files leave it open to a claim: neither answered nor cancelled, and no open attempt, unless
 * `takeovers` (a holder gone silent, whose claim the next one takes over).
 */
function openToClaim(f: TaskFiles | undefined, takeovers: boolean): boolean {
  return f !== undefined && !f.response && !f.cancel && (openAttempt(f) === null || takeovers);
}

/** The claim file of one picked task and what its claimer needs to run it. */
function claimOf(ctx: BusContext, snap: Snapshot, view: TaskView, expired: ReadonlySet<string>, judge: ReturnType<typeof policyJudge>, now: () => Date): { result: ClaimResult; change: FileChange } {
  // Past every claim file, forged ones too: their paths are taken (bus/trust/node-files.ts). And never a number a
  // release names: one written by hand for an attempt nobody claimed would give back the claim made at its number as
  // soon as made, and the task would run again and again (PROTOCOL.md §4). Only such numbers are skipped, not all
  // up to the highest release: attempts count towards maxAttempts.
  let attempt = Math.max(view.attempts, view.files.takenAttempt ?? 0) + 1;
  while (view.files.releases.has(attempt)) attempt++;
  const data: Claim = { id: view.id, attempt, node: ctx.config.node, claimed: now().toISOString(), by: ctx.actor };
  const previous = view.claim;
  if (previous?.node && expired.has(previous.node)) {
    data.reclaims = { attempt: previous.attempt, node: previous.node, reason: `node ${previous.node} was silent for longer than the lease (${snap.settings.leaseMs / 1000}s)` };
  }
  const session = sessionFor(view.handoff);
  if (session !== undefined) data.session = session;
  const path = pathFor({ kind: 'claim', id: view.id, attempt });
  const policy = judge && view.handoff ? judge(view.handoff, view.id) : undefined;
  return {
    result: { id: view.id, attempt, node: ctx.config.node, title: view.handoff?.title ?? '', handoff: view.handoff as Handoff, body: view.handoffBody ?? '', reclaimed: data.reclaims ? { attempt: data.reclaims.attempt, node: data.reclaims.node } : null, ...(session !== undefined ? { session } : {}), ...(policy ? { policy } : {}) },
    change: { path, content: renderBusFile('claim', data, '') },
  };
}

/**
 * A claude task's session (headless or interactive), chosen before it runs so that the bus knows it from the claim
 * on: the session the handoff resumes, else a new one (claude's --session-id takes a UUID).
 */
function sessionFor(h: Handoff | undefined): string | undefined {
  if (!h || effectiveRunner(h) !== 'claude') return undefined;
  return h.claude?.resume ?? nodeCrypto().randomUUID();
}

/**
 * Nodes whose claims have expired: they published heartbeats, and this node has watched their heartbeat stand
 * still for longer than the lease, by its own clock (a gap in its own listings restarts that clock). A holder whose
 * heartbeat ref holds no commit is not among them (docs/PROTOCOL.md §5a). Updates what this node has observed.
 */
export async function expiredHolders(ctx: BusContext, snap: Snapshot): Promise<Set<string>> {
  const leaseMs = snap.settings.leaseMs;
  // With who holds what: a claim seen after an old presence beat restarts that node's clock (liveness.ts silenceFrom).
  const holders = await claimHolders(snap);
  const obs = updateObservations(ctx.paths.home, ctx.repo.lastRefs, ctx.repo.listedAt, leaseMs, holders);
  const out = new Set<string>();
  for (const node of Object.keys(obs.nodes)) {
    if (node === ctx.config.node || livenessOf(obs, node, leaseMs) !== 'silent') continue;
    // The listing does not say what a ref holds. One that holds no commit (an annotated tag pushed by hand) is no
    // heartbeat, and status shows its node as one that never beat: unleased, so nobody takes its claims over. Only
    // a silent holder is read, so a live fleet costs no fetch here.
    if (holders.has(node) && (await readBeatRef(ctx, node)).notACommit !== undefined) continue;
    out.add(node);
  }
  return out;
}

/** A claimed task whose holder has expired counts as pending for the planner; its next claim reclaims it. */
function reclaimable(view: TaskView, expired: ReadonlySet<string>): TaskView {
  if (view.state === 'claimed' && view.claim?.node && expired.has(view.claim.node)) return { ...view, state: 'pending' };
  return view;
}

async function viewWithDeps(ctx: BusContext, snap: Snapshot, id: string): Promise<TaskView> {
  // As a few views are read: its files parsed from their blobs, not the parse cache of every live task loaded.
  const [v] = await snap.viewsOf([id], (missing) => archivedStates(ctx, missing));
  if (!v) throw new Error(`unreachable: ${id} resolved but has no view`);
  return v;
}
