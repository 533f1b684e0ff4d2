import { mathRandomBytes } from '../../schemas/math-random.js';
import { parseBusFile, renderBusFile } from '../../schemas/bus-file.js';
import { firstLine, InvalidBusFileError, type FileProblem } from '../../schemas/errors.js';
import { type Handoff } from '../../schemas/handoff.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import { newTaskId } from '../../schemas/ids.js';
import { noteGroup } from '../groups-ledger.js';
import { pathFor } from '../../schemas/layout.js';
import { InvalidPlanError, planListField, workstreamField, type Plan } from '../../schemas/plan.js';
import { branchViolation, GROUP_NAME_RE, workstreamBranch } from '../../schemas/project.js';
import type { BusContext } from '../context.js';
import { InputError } from '../errors.js';
import { GroupBranchesTakenError, GroupLiveError } from '../group-errors.js';
import { buildFanout, type FanoutBuild, type FanoutDefaults, type FanoutProject, type FanoutTask } from '../model/fanout.js';
import type { Snapshot } from '../model/snapshot.js';
import { isQueued, listQueue, type QueueEntry, type QueuedSignature } from '../queue.js';
import type { BusFileSigner } from '../trust/dispatch-signing.js';
import { sendBatch } from './send-batch.js';
import { targetProblem } from './dispatch-target.js';
import { groupTaskIds, liveGroups } from './group-members.js';
import { localSnapshot, snapshotOrLast } from './query.js';

export interface FanoutInput {
  plan: Plan;
  /** The plan file as given, for messages. */
  planPath: string;
  project: FanoutProject;
  defaults?: FanoutDefaults;
  /** Build and check everything, write nothing. */
  dryRun?: boolean;
  now?: Date;
  /** Signs each handoff (bus/trust/dispatch-signing.ts); each sidecar goes into the batch's commit. */
  sign?: BusFileSigner;
  /** Put it on the bus even when a task's `to` names a node that is not on the bus or cannot run it (warned). */
  force?: boolean;
  /** The project remote's branches (bus/ops/fanout-project.ts); null or absent: unknown, not checked. */
  remoteBranches?: readonly string[] | null;
}

export interface FanoutTaskResult {
  id: string;
  path: string;
  workstream: string | null;
  title: string;
  branch: string;
  runner: string;
  to: string | null;
  labels: string[];
  /** The handoff as it is (or would be) committed. */
  text: string;
}

export interface FanoutResult {
  group: string;
  title: string;
  repo: string;
  base: string;
  baseCommit: string;
  /** Every task, workstreams in plan order, then the integration task. */
  tasks: FanoutTaskResult[];
  /** The integration task's id, or null with `integrate: false`. */
  integration: string | null;
  /** The commit that carried them all; null on a dry run, when queued, or when another process sent them. */
  commit: string | null;
  dryRun: boolean;
  warnings: string[];
  /** Set when the remote could not be reached: all of them wait in this node's queue and go in one commit later. */
  queued?: { reason: string };
}

export const fanoutSubject = (group: string, n: number) => `gitbus: fanout ${group} (${n} task${n === 1 ? '' : 's'})`;

/** Branch names git would refuse, as plan problems on the field that made them. Pure. */
function branchProblems(planPath: string, plan: Plan, group: string, groupField: string): FileProblem[] {
  const groupBad = branchViolation(workstreamBranch(group, 'x'));
  if (groupBad) return [{ path: planPath, field: groupField, reason: `the group "${group}" cannot start a branch name: ${groupBad.reason}`, fix: 'choose a group without "..", a part ending in ".lock" or a trailing "."', severity: 'error' }];
  const out: FileProblem[] = [];
  plan.workstreams.forEach((ws, i) => {
    const bad = branchViolation(workstreamBranch(group, ws.name));
    if (bad) out.push({ path: planPath, field: `${workstreamField(i)}.name`, reason: `"${ws.name}" cannot end a branch name: ${bad.reason}`, fix: 'choose a name without "..", a trailing ".lock" or a trailing "."', severity: 'error' });
  });
  return out;
}

/** A handoff problem said against the plan: the field of the workstream (or the plan) that set it. Pure. */
function asPlanProblem(planPath: string, task: FanoutTask, index: number, p: FileProblem): FileProblem {
  const at = task.workstream === null ? 'integrate' : workstreamField(index);
  const field = p.field === '' ? (task.workstream === null ? at : `${at}.tasks`) : `${at}.${planListField(p.field)}`;
  return { ...p, path: planPath, field, reason: `${p.reason} (in the handoff of ${task.workstream === null ? 'the integration task' : `workstream ${task.workstream}`})` };
}

/**
 * The plan's way to keep --to for the workstreams and send the integration to a node with the merge runner:
 * `integrate: {to: NODE}`, naming one the bus has (other than `to`) when there is one. Null when `to` itself
 * offers the merge runner (what stands in the way is something else).
 */
async function integrateFix(snap: Snapshot, to: string): Promise<string | null> {
  const nodes = await snap.nodes();
  const merging = nodes.filter((n) => n.card && (!n.card.runners || n.card.runners.includes('merge'))).map((n) => n.node);
  if (merging.includes(to)) return null;
  const other = merging.find((n) => n !== to);
  return `send the integration to a node with the merge runner in the plan: integrate: {to: ${other ?? 'NODE'}}${other ? '' : ' (no node on the bus offers it yet: runners: [merge] in a node\'s node.yaml)'}`;
}

/** The branches of `group` among `branches`: `<group>` itself and those under `<group>/`. Pure. */
function branchesOfGroup(branches: readonly string[], group: string): string[] {
  return branches.filter((b) => b === group || b.startsWith(`${group}/`)).sort();
}

/**
 * A name to suggest instead of `group`: `<group>-2`, `-3`, ... the first no live task has, none queued here has, and
 * under which the project remote has no branch. Null when the remote's branches are not known (it could not be
 * listed): a name only the bus says is free may still be taken there.
 */
async function freeGroupName(ctx: BusContext, snap: Snapshot, group: string, remoteBranches: readonly string[] | null | undefined): Promise<string | null> {
  if (!remoteBranches) return null;
  const live = await liveGroups(snap);
  const queued = new Set(listQueue(ctx.paths.home).flatMap((e) => (e.kind === 'dispatch' && e.batch?.group !== undefined ? [e.batch.group] : [])));
  for (let n = 2; n < 1000; n++) {
    const suffix = `-${n}`;
    const name = `${group.slice(0, 63 - suffix.length)}${suffix}`;
    if (!GROUP_NAME_RE.test(name) || live.has(name) || queued.has(name) || branchesOfGroup(remoteBranches, name).length > 0) continue;
    return name;
  }
  return null;
}

/** Why some tasks may wait longer than expected: said at once, not discovered later. */
async function fanoutWarnings(snap: Snapshot, handoffs: Handoff[]): Promise<string[]> {
  const out = new Set<string>();
  const nodes = await snap.nodes();
  for (const h of handoffs) {
    const runner = effectiveRunner(h);
    if (h.to) {
      const problem = await targetProblem(snap, h.to, h);
      if (problem) out.add(`${firstLine(problem)}; ${problem.data['refuses'] === true ? 'its policy makes it answer them failed' : 'its tasks wait until it can'}`);
      continue;
    }
    const cards = nodes.flatMap((n) => (n.card ? [n.card] : []));
    if (cards.length === 0) continue;
    if (!cards.some((c) => !c.runners || c.runners.includes(runner))) out.add(`no node offers the ${runner} runner; its tasks wait until one does (runners: [${runner}] in a node's node.yaml)`);
    const missing = (h.labels ?? []).filter((l) => !cards.some((c) => c.labels?.includes(l)));
    if (missing.length > 0) out.add(`no node has label(s) ${missing.join(', ')}; tasks that need them wait until one does`);
  }
  return [...out];
}

function freshIds(n: number, now: Date, taken: (id: string) => boolean): string[] {
  const ids: string[] = [];
  while (ids.length < n) {
    const id = newTaskId(now, mathRandomBytes);
    if (!taken(id) && !ids.includes(id)) ids.push(id);
  }
  return ids;
}

/**
 * Puts a fan-out on the bus: a handoff per workstream and the integration task, queued as one batch and
 * delivered in ONE commit (bus/ops/deliver.ts), so no node ever sees part of a fan-out, and the integration
 * task's `after` never names a task that is not there. Refused when live tasks already have the group, here and
 * again inside the delivery's compare-and-swap, and when the project remote already has branches under it.
 */
export async function fanout(ctx: BusContext, input: FanoutInput): Promise<FanoutResult> {
  const { plan, project } = input;
  const defaults = input.defaults ?? {};
  const now = input.now ?? new Date();
  const group = defaults.group ?? plan.group;
  const branchBad = branchProblems(input.planPath, plan, group, defaults.group !== undefined ? '--group' : 'group');
  if (branchBad.length > 0) throw new InvalidPlanError(branchBad);

  const { snap } = await snapshotOrLast(ctx);
  const free = () => freeGroupName(ctx, snap, group, input.remoteBranches);
  const live = await groupTaskIds(snap, group);
  if (live.length > 0) throw new GroupLiveError(group, live, false, await free());
  const queuedSame = listQueue(ctx.paths.home).filter((e) => e.kind === 'dispatch' && e.batch?.group === group);
  if (queuedSame.length > 0) throw new GroupLiveError(group, queuedSame.map((e) => e.id), true, await free());
  // An earlier fan-out's branches (its tasks archived since): workers continue a branch that contains the base, so
  // its old commits would leak into the new work, or the new work would go beside it. `<group>` itself blocks them all.
  const taken = branchesOfGroup(input.remoteBranches ?? [], group);
  if (taken.length > 0) throw new GroupBranchesTakenError(group, project.repo, taken, await free());

  const count = plan.workstreams.length + (plan.integrate === false ? 0 : 1);
  const ids = freshIds(count, now, (id) => snap.has(id) || isQueued(ctx.paths.home, { kind: 'dispatch', id }));
  const built: FanoutBuild = buildFanout(plan, project, defaults, ids);

  const created = now.toISOString();
  const problems: FileProblem[] = [];
  const rendered = built.tasks.map((task, i) => {
    const data = { id: task.id, ...task.handoff, from: ctx.config.node, created } as Handoff;
    const path = pathFor({ kind: 'handoff', id: task.id });
    let text = '';
    try {
      text = renderBusFile('handoff', data, task.body);
      const check = parseBusFile(path, text);
      if (!check.ok) problems.push(...check.problems.filter((p) => p.severity === 'error').map((p) => asPlanProblem(input.planPath, task, i, p)));
    } catch (err) {
      if (!(err instanceof InvalidBusFileError)) throw err;
      problems.push(...err.problems.map((p) => asPlanProblem(input.planPath, task, i, p)));
    }
    return { task, data, path, text };
  });
  if (!input.force) {
    // As dispatch refuses a --to it could never be claimed by: a typo'd node name would leave the group waiting.
    for (const [i, r] of rendered.entries()) {
      const to = r.data.to;
      const problem = to !== undefined ? await targetProblem(snap, to, r.data) : null;
      if (!problem) continue;
      const at = r.task.workstream === null ? 'integrate' : workstreamField(i);
      const fromPlan = r.task.workstream === null ? plan.integrate !== false && plan.integrate?.to !== undefined : plan.workstreams[i]?.to !== undefined;
      const fix = problem.fix.includes('--force') ? problem.fix : `${problem.fix}; or give --force to put the fan-out on the bus anyway (its tasks wait)`;
      // --to sends the integration where the workstreams go; the plan can send it elsewhere, to a node that merges.
      const own = r.task.workstream === null && !fromPlan && to !== undefined ? await integrateFix(snap, to) : null;
      problems.push({ path: input.planPath, field: `${at}.to`, reason: `${firstLine(problem)}${fromPlan ? '' : ' (set by --to)'}`, fix: own ? `${own}; or ${fix}` : fix, severity: 'error' });
    }
  }
  if (problems.length > 0) throw new InvalidPlanError(problems);

  const result: FanoutResult = {
    group,
    title: plan.title,
    repo: project.repo,
    base: project.base,
    baseCommit: project.baseCommit,
    tasks: rendered.map(({ task, data, path, text }) => ({
      id: task.id,
      path,
      workstream: task.workstream,
      title: data.title,
      branch: data.branch as string,
      runner: effectiveRunner(data),
      to: data.to ?? null,
      labels: data.labels ?? [],
      text,
    })),
    integration: built.integration?.id ?? null,
    commit: null,
    dryRun: input.dryRun === true,
    warnings: await fanoutWarnings(snap, rendered.map((r) => r.data)),
  };
  if (input.dryRun) return result;

  const batch = { key: `${group}-${ids[0] ?? ''}`, size: rendered.length, subject: fanoutSubject(group, rendered.length), group };
  const signatures: (QueuedSignature | undefined)[] = [];
  for (const r of rendered) signatures.push(input.sign ? await input.sign(r.path, r.text) : undefined);
  const entries: QueueEntry[] = rendered.map(({ data, path, text }, i) => {
    const signature = signatures[i];
    return { kind: 'dispatch', id: data.id as string, path, text, title: data.title, queuedAt: created, chosenId: true, batch, ...(signature ? { signature } : {}) };
  });
  const sent = await sendBatch(ctx, entries);
  if (sent.kind === 'refused') {
    const latest = await localSnapshot(ctx);
    const others = await groupTaskIds(latest, group, new Set(entries.map((e) => e.id)));
    if (others.length > 0) throw new GroupLiveError(group, others, false, await freeGroupName(ctx, latest, group, input.remoteBranches));
    throw new InputError(`the fan-out was refused: ${sent.reason}`, 'run gitbus fanout again: it draws new ids', { reason: sent.reason });
  }
  // On the bus, or queued to go there: `group` finds it here once the archive has it (bus/groups-ledger.ts).
  noteGroup(ctx.paths.home, { kind: 'fanout', group, integration: result.integration, ids: result.tasks.map((t) => t.id), at: created });
  if (sent.kind === 'queued') return { ...result, queued: { reason: sent.reason } };
  return sent.kind === 'delivered' ? { ...result, commit: sent.commit } : result;
}
