import { mathRandomBytes } from '../../schemas/math-random.js';
import { newTaskId } from '../../schemas/ids.js';
import { noteGroup } from '../groups-ledger.js';
import { parseBusFile, renderBusFile } from '../../schemas/bus-file.js';
import { fastHandoffText } from '../../schemas/handoff-fast.js';
import { pathFor } from '../../schemas/layout.js';
import { InvalidBusFileError } from '../../schemas/errors.js';
import { type Handoff } from '../../schemas/handoff.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import { defaultBranch } from '../../schemas/project.js';
import { InputError, TaskIdTakenError, UnknownTaskError } from '../errors.js';
import { looseRef, resolveTaskId } from '../model/resolve-id.js';
import { deadEndReason } from '../model/dependencies.js';
import { neverDue, shortestGapMs } from '../model/schedule.js';
import { formatDuration } from '../../schemas/duration.js';
import type { BusContext } from '../context.js';
import type { Snapshot } from '../model/snapshot.js';
import { firstLine } from '../../schemas/errors.js';
import { isQueued, listQueue, putQueue, removeQueue, type QueueEntry } from '../queue.js';
import { outageCode } from '../remote-failure.js';
import { deliverQueued } from './deliver.js';
import { findArchived } from './archive-lookup.js';
import { localSnapshot } from './query.js';
import { instanceProblem, INSTANCE_FIX } from './lint-handoff.js';
import type { BusFileSigner } from '../trust/dispatch-signing.js';
import { takersDownFor } from './takers-liveness.js';
import { implicitManual, isManualToWatcherWarning, manualDispatchNote, manualToWatcherWarning } from '../model/manual-task.js';

/**
 * Problems that do not make a handoff invalid but would leave it waiting: said at once, not discovered later.
 * `alsoComing`: ids that are not on the bus yet but arrive with this handoff (a batch), so `after` may name them.
 */
export async function dispatchWarnings(snap: Snapshot, h: Handoff, alsoComing?: ReadonlySet<string>, targetJudged = false): Promise<string[]> {
  const warnings: string[] = [];
  const nodes = await snap.nodes();
  if (h.to && !nodes.some((n) => n.node === h.to)) {
    // Its card taken out as forged by this node's trust: the node is there, and the command said so when forced.
    const forged = snap.forged.find((f) => f.kind === 'node' && f.node === h.to);
    if (!forged) warnings.push(`no node named "${h.to}" is on this bus yet; the task waits until one joins`);
    else if (!targetJudged) warnings.push(`node ${h.to}'s card is not trusted on this node (${forged.reason}); the task waits until an admin lists the key ${h.to} signs with ("gitbus trust list" shows the command)`);
  }
  const candidates = nodes.filter((n) => !h.to || n.node === h.to);
  const missing = (h.labels ?? []).filter((l) => !candidates.some((n) => n.card?.labels?.includes(l)));
  if (missing.length > 0 && candidates.length > 0) warnings.push(`no ${h.to ? `node ${h.to}` : 'node'} has label(s) ${missing.join(', ')}; the task waits until one does`);
  // A manual task is claimed by a person (gitbus claim), whatever runners the watchers offer.
  const runner = effectiveRunner(h);
  const cards = candidates.flatMap((n) => (n.card ? [n.card] : []));
  // One nobody asked for (no runner, no command) addressed to a node whose watcher runs tasks: that runner was meant.
  const manualThere = h.to && implicitManual(h) ? manualToWatcherWarning(h.to, cards[0]?.runners) : null;
  if (manualThere) warnings.push(manualThere);
  // `targetJudged`: the command said already what the node `to` cannot run (dispatchTargetProblem, forced), runner included.
  if (!(targetJudged && h.to) && runner !== 'manual' && cards.length > 0 && !cards.some((c) => !c.runners || c.runners.includes(runner))) {
    warnings.push(`no ${h.to ? `node ${h.to}` : 'node'} offers the ${runner} runner; the task waits until one does (runners: [${runner}] in a node's node.yaml)`);
  }
  for (const dep of h.after ?? []) {
    const state = snap.has(dep) ? (await snap.view(dep))?.state : undefined;
    // Ended without success already: the watchers cancel the task (a template: its schedule) at their next look.
    if (state === 'failed' || state === 'cancelled' || state === 'timed-out') warnings.push(`${deadEndReason(dep, state)}, so ${h.schedule ? 'the schedule can never dispatch a task that runs: the watchers cancel the template' : 'the task can never run: the watchers cancel it'}`);
  }
  // One warning for all of them: a task may wait on thousands (a handoff holds 256 KiB of ids), and each warning
  // is a line of output and of an MCP result.
  const unknown = (h.after ?? []).filter((dep) => !snap.has(dep) && !alsoComing?.has(dep));
  if (unknown.length > 0) {
    const named = unknown.length <= 10 ? unknown.join(', ') : `${unknown.slice(0, 10).join(', ')} and ${unknown.length - 10} more`;
    warnings.push(`${unknown.length === 1 ? `dependency ${named} is not a live task: if it is an archived task's full id, its archived result counts; otherwise the task waits until a task with that id exists` : `dependencies ${named} are not live tasks: an archived task's full id counts with its archived result; the task waits until a task exists for each of the others`}`);
  }
  if (h.schedule) {
    const gap = shortestGapMs(h.schedule, new Date());
    const poll = snap.settings.pollMs;
    if (gap !== null && gap < poll) warnings.push(`the schedule is due every ${formatDuration(gap)} at times, more often than the bus's poll (${formatDuration(poll)}): watchers look once a poll and dispatch only the latest due time, so at most one instance a poll runs and the due times between are skipped`);
  }
  return warnings;
}

export interface DispatchInput {
  /** Everything that goes into the handoff's frontmatter except id, from and created (and `branch` of project work: `gitbus/<id>` when absent). */
  handoff: Omit<Handoff, 'id' | 'from' | 'created'>;
  body: string;
  /** A chosen id; generated when absent. */
  id?: string;
  now?: Date;
  /** Signs the handoff (bus/trust/dispatch-signing.ts); its sidecar goes into the same commit. */
  sign?: BusFileSigner;
  /** The caller warned already that the node `to` cannot run the task (a forced NODE_CANNOT_RUN): no second warning of its runner. */
  targetJudged?: boolean;
}

export interface DispatchResult {
  id: string;
  path: string;
  title: string;
  /** Why the task may wait longer than expected (an unknown node, labels no node has, missing dependencies). */
  warnings: string[];
  /**
   * A manual task its dispatch did not ask for as such (no runner, no command): that no watcher runs it, and who
   * takes it and how. Absent when a warning says it already (addressed to a node whose watcher runs other runners).
   */
  manual?: string;
  /**
   * Set when the remote could not be reached: the handoff waits in this node's queue (bus/queue.ts) and is
   * delivered at the next contact — any later gitbus command of this node, or its watcher.
   */
  queued?: { reason: string };
}

/**
 * Puts a handoff on the bus. It is queued in the home first and then delivered together with whatever else
 * this node has queued (bus/ops/deliver.ts): parallel dispatches from one home share commits instead of racing
 * each other for main, and a dispatch made while the remote is unreachable is kept and sent later.
 */
export async function dispatch(ctx: BusContext, input: DispatchInput): Promise<DispatchResult & { attempts: number; commit: string | null }> {
  const now = input.now ?? new Date();
  const known = await localSnapshot(ctx);
  // A dispatch reads a few tasks (the ids it draws, what `after` names): their names looked up, not every task
  // indexed (lean-index.ts; a bus of 200 live tasks, issue 14).
  known.useLean(true);
  if (input.id && known.has(input.id)) throw idTaken(input.id);
  // Queued here already (the remote was away): a second one would replace the first in the queue.
  if (input.id && isQueued(ctx.paths.home, { kind: 'dispatch', id: input.id })) throw idTaken(input.id, `a dispatch with id ${input.id} is already queued on this node (the remote was away); it is sent at the next contact`);
  // The random part from Math.random, not node:crypto: it only has to differ from another node's in the same second,
  // and loading node:crypto was ~4-5 ms of every dispatch's start (schemas/math-random.ts).
  let id = input.id ?? newTaskId(now, mathRandomBytes);
  // Two generated ids colliding (30 random bits within one second) with a task this node knows: draw again.
  while (!input.id && (known.has(id) || isQueued(ctx.paths.home, { kind: 'dispatch', id }))) id = newTaskId(now, mathRandomBytes);
  // Project work names where its results go; the default names the task, so it is known only now (PROTOCOL.md §3a).
  // A schedule's template gets none: each instance is a task of its own, with a branch of its own.
  const branch = input.handoff.repo !== undefined && input.handoff.branch === undefined && input.handoff.schedule === undefined ? { branch: defaultBranch(id) } : {};
  if (input.handoff.schedule !== undefined && neverDue(input.handoff.schedule, now)) throw neverDueError(input.handoff.schedule);
  // Only `after` names tasks, and only then are every live id and the queue's read.
  const namable = (input.handoff.after ?? []).length === 0 ? [] : [...new Set([...known.ids(), ...listQueue(ctx.paths.home).flatMap((e) => (e.kind === 'dispatch' ? [e.id] : []))])];
  const archived = await archivedAmong(ctx, (input.handoff.after ?? []).filter((dep) => looseRef(namable, dep)));
  const resolved = input.handoff.after?.map((dep) => ({ dep, id: afterId(namable, dep, archived) }));
  const after = resolved ? { after: resolved.map((r) => r.id) } : {};
  // A schedule's template never ends (PROTOCOL.md §4 rule 5): a task after it could never run.
  if (resolved) {
    const templates = new Set(await known.handoffIdsWhere('schedule', (h) => h.schedule !== undefined, false));
    const template = resolved.find((r) => templates.has(r.id));
    if (template) throw templateAfterError(template.id);
  }
  // Said, since a full id of an archived task that happens to start or end another task's id would be taken as that one.
  const rewritten = (resolved ?? []).filter((r) => r.id !== r.dep).map((r) => `--after ${r.dep} is taken as ${r.id}, the task it names`);
  const data = { id, ...input.handoff, ...after, ...branch, from: ctx.config.node, created: now.toISOString() } as Handoff;
  const path = pathFor({ kind: 'handoff', id });
  const text = fastHandoffText(data, input.body) ?? checkedHandoffText(path, data, input.body);
  // A template whose instance would not be a valid handoff (a body near the size limit) would dispatch nothing, ever.
  const unrenderable = data.schedule !== undefined ? instanceProblem({ id, handoff: data, body: input.body }, now) : undefined;
  if (unrenderable) throw new InvalidBusFileError([{ path, field: '', reason: `the schedule would dispatch nothing: ${unrenderable}`, fix: `shorten the body: ${INSTANCE_FIX}`, severity: 'error' }]);
  const signature = input.sign ? await input.sign(path, text) : undefined;
  const entry: QueueEntry = { kind: 'dispatch', id, path, text, title: data.title, queuedAt: now.toISOString(), chosenId: input.id !== undefined, ...(signature ? { signature } : {}) };
  putQueue(ctx.paths.home, entry);
  // A follow-up of a fan-out (resolve, resume of a workstream): `group` lists it after the archive took the group.
  if (data.group !== undefined) noteGroup(ctx.paths.home, { kind: 'follow-up', group: data.group, integration: null, ids: [id], at: entry.queuedAt });
  let delivery: Awaited<ReturnType<typeof deliverQueued>>;
  try {
    // A chosen id may be an archived task's (ids are never reused: the delivery asks the archive); a generated one
    // cannot have been sent before.
    delivery = await deliverQueued(ctx, input.id === undefined ? { fresh: new Set([id]) } : {});
  } catch (err) {
    if (outageCode(err) !== null) {
      const warnings = [...rewritten, ...(await dispatchWarnings(known, data, new Set(namable), input.targetJudged === true))];
      return { id, path, title: data.title, warnings, ...manualOf(id, data, warnings), queued: { reason: firstLine(err) }, attempts: 0, commit: null };
    }
    // Not an outage: this handoff would fail the same way at every later try, so it is not left queued.
    removeQueue(ctx.paths.home, entry);
    throw err;
  }
  const refused = delivery.rejected.find((r) => r.entry.kind === 'dispatch' && r.entry.id === id);
  if (refused) {
    removeQueue(ctx.paths.home, entry);
    throw idTaken(id, refused.reason);
  }
  const mine = delivery.delivered.some((e) => e.kind === 'dispatch' && e.id === id);
  // Not in this delivery: another process of this node sent it between our queueing and our look.
  const commit = mine ? delivery.commit : null;
  // A delivery that carried this handoff alone leaves main as it decided from but for the handoff, which no warning
  // is about: that snapshot saves reading the commit just written again (~1 ms, issue 14). One that carried other
  // queued changes too (a cancel of a task this one waits for) is read after them.
  const alone = mine && delivery.delivered.length === 1;
  const landed = alone && delivery.decidedFrom !== null ? delivery.decidedFrom : await localSnapshot(ctx);
  const warnings = [...rewritten, ...(await dispatchWarnings(landed, data, new Set(namable), input.targetJudged === true)), ...(await takersDownWarning(ctx, landed, data))];
  return { id, path, title: data.title, warnings, ...manualOf(id, data, warnings), attempts: 1, commit };
}

/**
 * That every node whose card lets it take the task is down now (stopped, silent, or never ran a watcher), as a
 * warning: the task is on the bus and runs once one of them is back (queueing for a machine that is often offline is
 * what a bus is for). Worked out (bus/ops/takers-liveness.ts, with its heartbeat reads) only for a task some card
 * takes by its address, runner and labels: a plain dispatch reads none of that code (scripts/cold/dispatch.txt).
 */
async function takersDownWarning(ctx: BusContext, snap: Snapshot, h: Handoff): Promise<string[]> {
  const runner = effectiveRunner(h);
  if (runner === 'manual') return [];
  const able = (await snap.nodes()).some((n) => (!h.to || n.node === h.to) && (!n.card || ((!n.card.runners || n.card.runners.includes(runner)) && (h.labels ?? []).every((l) => n.card?.labels?.includes(l)))));
  const why = able ? await takersDownFor(ctx, snap, h) : null;
  return why ? [why] : [];
}

/** DispatchResult's `manual`: for a manual task nobody asked for, unless its warnings say it already. Pure. */
function manualOf(id: string, h: Handoff, warnings: readonly string[]): { manual?: string } {
  const to = h.to;
  if (!implicitManual(h) || (to !== undefined && warnings.some((w) => isManualToWatcherWarning(w, to)))) return {};
  return { manual: manualDispatchNote(id, h.to) };
}

/**
 * What `--after REF` names: a task by its full id, or by the unique prefix or suffix `status` and `show` accept,
 * among the live tasks and the dispatches still queued here, so that the handoff holds the id a watcher can match
 * (the suffix alone would wait for ever). A ref that matches several is refused with their ids; one that matches
 * none is kept as given (an archived task is named by its full id, and its archived result counts), as is one in
 * `archived` (archivedAmong), the archived task's full id before any live task it starts or ends. Exported for
 * `dispatch --from`, whose lines may also name each other.
 */
export function afterId(ids: readonly string[], ref: string, archived: ReadonlySet<string>): string {
  if (ids.includes(ref)) return ref;
  try {
    return resolveTaskId(ids, ref, archived);
  } catch (err) {
    if (err instanceof UnknownTaskError && (err.data['candidates'] as string[]).length > 1) throw err;
    return ref;
  }
}

/**
 * Which of `ids` are archived tasks' full ids, in one archive lookup (none when `ids` is empty). Where the remote
 * cannot be reached the archive cannot be asked: none then, and what is taken for what is said as a warning.
 */
export async function archivedAmong(ctx: BusContext, ids: readonly string[]): Promise<ReadonlySet<string>> {
  if (ids.length === 0) return new Set();
  try {
    return new Set((await findArchived(ctx, [...new Set(ids)])).keys());
  } catch (err) {
    if (outageCode(err) === null) throw err;
    return new Set();
  }
}

/**
 * The handoff's file by the schemas: rendered, then checked exactly as it will be committed with the parser every
 * reader uses, which words any problem. What fastHandoffText (schemas/handoff-fast.ts) cannot vouch for.
 */
function checkedHandoffText(path: string, data: Handoff, body: string): string {
  const text = renderBusFile('handoff', data, body);
  const check = parseBusFile(path, text);
  if (!check.ok) throw new InvalidBusFileError(check.problems);
  return text;
}

export function neverDueError(schedule: string): InputError {
  return new InputError(`--schedule "${schedule}" is never due (no such day in the next 8 years), so nothing would ever be dispatched`, 'check the day of the month against the month (February has no 30th), for example "0 3 28 2 *"', { flag: '--schedule' });
}

/** `--after` naming a schedule's template, which never ends: the task would wait for ever. */
export function templateAfterError(id: string): InputError {
  return new InputError(`--after ${id} names a schedule template, which never ends, so the task could never run`, `depend on one of its instances (${id}-<YYYYMMDDhhmmss>, as "gitbus status" lists them) or drop --after ${id}`, { flag: '--after' });
}

function idTaken(id: string, why = `a task with id ${id} already exists`): TaskIdTakenError {
  return new TaskIdTakenError(id, why);
}
