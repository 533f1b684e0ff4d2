import type { Claim } from '../../schemas/claim.js';
import { type Handoff } from '../../schemas/handoff.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import { pushedNothing, type ProjectReport } from '../../schemas/project.js';
import { costCounts, type TaskResponse } from '../../schemas/response.js';
import type { BusContext } from '../context.js';
import { UnknownGroupError } from '../group-errors.js';
import type { Snapshot } from '../model/snapshot.js';
import { isFinal, type TaskState } from '../model/types.js';
import { archivedRuns, archivedStates, type ArchivedRun } from './archived-trust.js';
import { archivedFollowUps, liveFollowUpIds, type IntegrationRef } from './follow-ups.js';
import { resultsRemote } from './branch-remote.js';
import { runClaim } from '../model/resume-plan.js';
import { groupTaskIds } from './group-members.js';
import { dispatchedBefore, newestDispatched, resolvesIntegration, settlingFollowUp, unmergedBranches } from '../model/merged-branches.js';
import { movedSinceIntegration, type MovedSince } from './group-moved.js';
import { recordedGroup } from '../groups-ledger.js';
import { snapshotOrLast, type Offline } from './query.js';

/**
 * A fan-out at a glance (`gitbus group NAME`), what seed 003 kept by hand in sessions.json: per workstream its
 * state, node, attempt, claude session, cost and what it left on its branch; the integration task with its merges
 * and conflicts; and other tasks of the group (a `gitbus resolve` follow-up). Reads main; workstreams the archive
 * already took are found through the live integration task's `after` (by id, which is cheap), and a fan-out archived
 * whole through this home's note of it (bus/groups-ledger.ts), never by scanning the archive.
 */

export interface GroupTask {
  id: string;
  state: TaskState | 'unknown';
  title: string | null;
  /** The workstream's name; null for the integration task and other tasks of the group. */
  workstream: string | null;
  runner: string | null;
  /** Where its results are: the response's branch once it ended, else the handoff's. */
  branch: string | null;
  /**
   * The remote that branch is fetched from: the response's repo, else the handoff's, a node.yaml project name
   * replaced by the URL the response's Branch section gives for it (bus/ops/branch-remote.ts). Null without a repo.
   */
  remote: string | null;
  /** The node running it (open claim), or that ended it. */
  node: string | null;
  attempt: number | null;
  /** The claude session: the claim's `session`, else the response's `claude.sessionId`. */
  session: string | null;
  costUsd: number | null;
  /** What the run left on its branch (the response's `project`), once it ended. */
  project: ProjectReport | null;
  /** Dependencies it still waits for (the integration task). */
  waitingFor: string[];
  /** The response's reason, when it ended without success. */
  reason: string | null;
  /** The archive month, when the task has left main. */
  archived: string | null;
  /** The task it resumes (`gitbus resume` of a workstream), for the follow-ups among `others`. */
  resumes: string | null;
  /** When it was dispatched (the handoff's `created`), which orders follow-ups made within one second. */
  created: string | null;
}

export interface GroupView {
  group: string;
  /** The fan-out's title, from the integration task's (`<title>: integration`). */
  title: string | null;
  repo: string | null;
  base: string | null;
  baseCommit: string | null;
  /** In merge order (the integration task's), then any others by name. */
  workstreams: GroupTask[];
  integration: GroupTask | null;
  /** Tasks of the group that are neither: follow-ups such as `gitbus resolve`, each with what it is. */
  others: (GroupTask & { kind: FollowUpKind })[];
  /**
   * The follow-up (a `gitbus resolve`) that succeeded and pushed the integration's branch with every workstream
   * merged into it; null when none has.
   */
  resolvedBy: string | null;
  /** Follow-ups that ended with the integration's branch lacking workstreams (its response's `project.merged`). */
  incomplete: IncompleteResolve[];
  /**
   * Tasks on the integration's branch (an earlier integration, a resolve) that ended without success before a later
   * one resolved or integrated it: their reasons (resolve again, ...) no longer say what to do.
   */
  superseded: string[];
  /**
   * Workstreams a resume moved (or, not ended yet, may move) after the group was integrated or resolved: the
   * integration's branch lacks what it added, so the group is not integrated as it stands.
   */
  movedSince: MovedSince[];
  /** Sum of the known costs, US dollars. */
  costUsd: number;
  offline: Offline | null;
}

export interface IncompleteResolve {
  id: string;
  /** Where it left the integration's branch (beside it, when that had moved). */
  branch: string | null;
  pushed: boolean;
  /** It pushed nothing on purpose (pushedNothing: it made no commit over its base), so nothing is coming. */
  pushedNothing: boolean;
  /** The branches of the integration's `merge` the result does not contain. */
  missing: string[];
}

/**
 * Whether a task of the group worked on the integration's branch, or a branch beside it (`-moved-`). `asked`: the
 * branch the integration's handoff asks for, which its follow-ups are dispatched on; by default its `branch`. Pure.
 */
export function onBranch(integration: GroupTask, o: GroupTask, asked: string | null = integration.branch): boolean {
  const b = asked;
  return b !== null && (o.branch === b || o.branch?.startsWith(`${b}-moved-`) === true);
}

/** What a task of the group that is neither a workstream nor the integration is. */
export type FollowUpKind = 'resume' | 'integration' | 'resolve' | 'other';

/**
 * What a follow-up is, for `gitbus group` and the web view alike: a resume of a workstream; an earlier integration
 * (merged again since), or a resolve by an agent or by hand, on the integration's branch; else another task. Pure.
 */
export function followUpKind(t: GroupTask, integration: GroupTask | null, asked: string | null = integration?.branch ?? null): FollowUpKind {
  if (t.resumes !== null) return 'resume';
  if (integration && onBranch(integration, t, asked)) return t.runner === 'merge' ? 'integration' : 'resolve';
  return 'other';
}

/**
 * The follow-up that resolved the integration (resolvesIntegration; which of several: settlingFollowUp, as `gitbus
 * resolve` picks it, from the same tasks: bus/ops/follow-ups.ts), and the failed tasks on its branch that the newest
 * settling task (a resolving follow-up, or the integration itself when it succeeded) came after: their reasons no
 * longer say what to do. `asked`: the branch the integration's handoff asks for, as `resolve` weighs it (its
 * response's may be beside it); by default its `branch`. Pure.
 */
export function settlement(integration: GroupTask, merge: readonly string[], others: readonly GroupTask[], asked: string | null = integration.branch): { resolvedBy: string | null; superseded: string[]; settled: GroupTask | null } {
  // A follow-up's handoff's branch is the integration's; its response's may be beside it (`-moved-`).
  const resolving = others.filter((o) => onBranch(integration, o, asked) && resolvesIntegration(merge, o.state, o.project));
  const resolvedBy = settlingFollowUp(asked, resolving)?.id ?? null;
  const settled = newestDispatched([...resolving, ...(integration.state === 'succeeded' ? [integration] : [])]) ?? null;
  const superseded = settled === null ? [] : others.filter((o) => o.id !== settled.id && o.state !== 'succeeded' && isFinalState(o.state) && onBranch(integration, o, asked) && dispatchedBefore(o, settled)).map((o) => o.id);
  return { resolvedBy, superseded, settled };
}

/** Follow-ups that ended with a result on the integration's branch lacking some of `merge`, conflicts aside. Pure. */
export function incompleteResolves(integration: GroupTask, merge: readonly string[], others: readonly GroupTask[], asked: string | null = integration.branch): IncompleteResolve[] {
  const out: IncompleteResolve[] = [];
  for (const o of others) {
    if (!o.project || o.project.conflicts?.length || !onBranch(integration, o, asked)) continue;
    const missing = unmergedBranches(merge, o.project);
    if (missing?.length) out.push({ id: o.id, branch: o.branch, pushed: o.project.pushed, pushedNothing: pushedNothing(o.project), missing });
  }
  return out;
}

function isFinalState(s: TaskState | 'unknown'): boolean {
  return s !== 'unknown' && isFinal(s);
}

interface Parts {
  id: string;
  state: TaskState | 'unknown';
  handoff?: Handoff;
  claim?: Claim;
  response?: TaskResponse;
  responseBody?: string;
  /** The URL the delivery folded into `response` names (projectUrlOfDelivery). */
  deliveredUrl?: string;
  attempts: number;
  waitingFor: string[];
  archived: string | null;
}

function remoteOf(repo: string | undefined, report: ProjectReport | undefined, body: string | undefined, deliveredUrl: string | undefined): string | null {
  return repo === undefined ? null : resultsRemote(repo, report, body, deliveredUrl);
}

function groupTask(p: Parts): GroupTask {
  const h = p.handoff;
  const r = p.response;
  return {
    id: p.id,
    state: p.state,
    title: h?.title ?? null,
    workstream: h?.workstream ?? null,
    runner: h ? effectiveRunner(h) : null,
    // Where the results are: beside the branch asked for when they were not a fast-forward of it (docs/PROTOCOL.md §3a step 5).
    branch: r?.project?.branch ?? h?.branch ?? null,
    remote: remoteOf(r?.project?.repo ?? h?.repo, r?.project, p.responseBody, p.deliveredUrl),
    node: p.claim?.node ?? r?.node ?? null,
    attempt: p.claim?.attempt ?? r?.attempt ?? (p.attempts || null),
    session: p.claim?.session ?? r?.claude?.sessionId ?? null,
    costUsd: r?.claude?.costUsd !== undefined && costCounts(r.claude.costUsd) ? r.claude.costUsd : null,
    project: r?.project ?? null,
    waitingFor: p.waitingFor,
    reason: r && r.status !== 'succeeded' ? (r.reason ?? null) : null,
    archived: p.archived,
    resumes: h?.resumes ?? null,
    created: h?.created ?? null,
  };
}

async function liveParts(snap: Snapshot, id: string, external: (id: string) => TaskState | undefined): Promise<Parts | null> {
  const v = await snap.view(id, external);
  if (!v) return null;
  return {
    id,
    state: v.state,
    ...(v.handoff ? { handoff: v.handoff } : {}),
    ...(v.claim?.data ? { claim: v.claim.data } : {}),
    ...(v.response ? { response: v.response } : {}),
    ...(v.responseBody !== undefined ? { responseBody: v.responseBody } : {}),
    ...(v.delivery?.url !== undefined ? { deliveredUrl: v.delivery.url } : {}),
    attempts: v.attempts,
    waitingFor: v.waitingFor,
    archived: null,
  };
}

async function archivedParts(ctx: BusContext, ids: string[]): Promise<Parts[]> {
  // Read as resume and resolve read it (archivedRuns): a claim or response forged in a node's name, or one that does
  // not parse, is not there. So no forged resolve resolves a group, and attempts are the claims that count.
  return [...(await archivedRuns(ctx, ids)).values()].map(archivedPart);
}

function archivedPart(t: ArchivedRun): Parts {
  const claim = runClaim(t);
  const attempts = Math.max(0, ...t.claims.map((c) => c.attempt));
  return { id: t.id, state: t.state, ...(t.handoff ? { handoff: t.handoff } : {}), ...(claim ? { claim } : {}), ...(t.response ? { response: t.response } : {}), ...(t.responseBody !== undefined ? { responseBody: t.responseBody } : {}), ...(t.deliveredUrl !== undefined ? { deliveredUrl: t.deliveredUrl } : {}), attempts, waitingFor: [], archived: t.month };
}

const INTEGRATION_SUFFIX = ': integration';

/** A group's integration task: the merge runner's. */
function isIntegration(p: Parts): boolean {
  return p.handoff !== undefined && effectiveRunner(p.handoff) === 'merge';
}

/** What bus/ops/follow-ups.ts finds an integration's follow-ups by: its id, and the repo and branch its handoff asks for. */
function followUpRef(integration: Parts | null, group: string): IntegrationRef | null {
  const h = integration?.handoff;
  if (!integration || !h?.repo || !h.branch) return null;
  return { id: integration.id, repo: h.repo, branch: h.branch, group: h.group ?? group };
}

export async function groupView(ctx: BusContext, group: string): Promise<GroupView> {
  const { snap, offline } = await snapshotOrLast(ctx);
  const ids = await groupTaskIds(snap, group);
  const parts: Parts[] = [];
  let archivedState = new Map<string, TaskState>();
  if (ids.length > 0) {
    const missing = await snap.missingDependencies(ids);
    if (!offline && missing.length > 0) archivedState = await archivedStates(ctx, missing);
    for (const id of ids) {
      const p = await liveParts(snap, id, (d) => archivedState.get(d));
      if (p) parts.push(p);
    }
  }
  // No live task of the group is its integration: the group was archived whole (the watchers archive what ended a day
  // ago), or its integration was while a follow-up is live. This home's note of the fan-out names the archived ones.
  // Reading them takes the remote: offline, with no live task, that outage is the error (as `show` of an archived task
  // says it); beside live tasks the live ones are shown.
  if (!parts.some(isIntegration) && (ids.length === 0 || !offline)) {
    const have = new Set(parts.map((p) => p.id));
    const gone = (recordedGroup(ctx.paths.home, group)?.ids ?? []).filter((id) => !have.has(id) && !snap.has(id));
    if (gone.length > 0) parts.push(...(await archivedParts(ctx, gone)).filter((p) => p.handoff?.group === group));
  }
  if (ids.length === 0 && parts.length === 0) throw new UnknownGroupError(group);
  // The integration task: the merge runner's; the newest when there are several.
  const merges = parts.filter(isIntegration).sort((a, b) => ((a.handoff?.created ?? '') < (b.handoff?.created ?? '') ? 1 : -1));
  const integration = merges[0] ?? null;
  // Workstreams already archived: the integration task still names them.
  if (integration && integration.archived === null && !offline) {
    const gone = (integration.handoff?.after ?? []).filter((d) => !snap.has(d));
    parts.push(...(await archivedParts(ctx, gone)).filter((p) => p.handoff?.group === group));
  }
  // Its follow-ups, as `gitbus resolve` finds them (bus/ops/follow-ups.ts), live and archived: the one that resolved it
  // is then the same task for both, and shown here even when it is archived or names no group.
  const asked = followUpRef(integration, group);
  if (asked) {
    const have = new Set(parts.map((p) => p.id));
    for (const id of await liveFollowUpIds(snap, asked)) {
      const p = have.has(id) ? null : await liveParts(snap, id, (d) => archivedState.get(d));
      if (p) parts.push(p);
    }
    // Offline, the archive cannot be read: the live ones only, as for archived workstreams above.
    if (!offline) parts.push(...(await archivedFollowUps(ctx, snap, asked, have)).map(archivedPart));
  }
  const order = integration?.handoff?.merge ?? [];
  const rank = (p: Parts) => {
    const i = order.indexOf(p.handoff?.branch ?? '');
    return i < 0 ? order.length : i;
  };
  const workstreams = parts
    .filter((p) => p.handoff?.workstream !== undefined)
    .sort((a, b) => rank(a) - rank(b) || ((a.handoff?.workstream ?? '') < (b.handoff?.workstream ?? '') ? -1 : 1))
    .map(groupTask);
  const integrationTask = integration ? groupTask(integration) : null;
  const others = parts.filter((p) => p.handoff?.workstream === undefined && p !== integration).map(groupTask).map((t) => ({ ...t, kind: followUpKind(t, integrationTask, asked?.branch ?? integrationTask?.branch ?? null) }));
  const all = [...workstreams, ...(integrationTask ? [integrationTask] : []), ...others];
  const merge = integration?.handoff?.merge ?? [];
  const first = integration?.handoff ?? parts.find((p) => p.handoff)?.handoff;
  const title = integration?.handoff?.title;
  const { resolvedBy, superseded, settled } = integrationTask ? settlement(integrationTask, merge, others, asked?.branch ?? integrationTask.branch) : { resolvedBy: null, superseded: [], settled: null };
  return {
    group,
    title: title?.endsWith(INTEGRATION_SUFFIX) ? title.slice(0, -INTEGRATION_SUFFIX.length) : null,
    repo: first?.repo ?? null,
    base: first?.base ?? null,
    baseCommit: first?.baseCommit ?? null,
    workstreams,
    integration: integrationTask,
    others,
    resolvedBy,
    incomplete: integrationTask && resolvedBy === null ? incompleteResolves(integrationTask, merge, others, asked?.branch ?? integrationTask.branch) : [],
    superseded,
    movedSince: movedSinceIntegration(workstreams, others, settled),
    costUsd: Math.round(all.reduce((sum, t) => sum + (t.costUsd ?? 0), 0) * 1e6) / 1e6,
    offline,
  };
}
