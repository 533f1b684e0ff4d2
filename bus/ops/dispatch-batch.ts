import { mathRandomBytes } from '../../schemas/math-random.js';
import { checkBatchBytes, inFileOrder, InvalidBatchError, type BatchTask } from '../../schemas/batch.js';
import { parseBusFile, renderBusFile } from '../../schemas/bus-file.js';
import { firstLine, InvalidBusFileError, type FileProblem } from '../../schemas/errors.js';
import type { Handoff } from '../../schemas/handoff.js';
import { newTaskId } from '../../schemas/ids.js';
import { pathFor } from '../../schemas/layout.js';
import { defaultBranch } from '../../schemas/project.js';
import type { BusContext } from '../context.js';
import { noteGroup } from '../groups-ledger.js';
import { InputError, NodeCannotRunError, UnknownTaskError } from '../errors.js';
import type { GitContext } from '../git-context.js';
import type { ProjectFields } from '../project/resolve.js';
import { isQueued, listQueue, type QueueEntry, type QueuedSignature } from '../queue.js';
import type { BusFileSigner } from '../trust/dispatch-signing.js';
import { sendBatch } from './send-batch.js';
import { afterId, archivedAmong, dispatchWarnings, neverDueError, templateAfterError } from './dispatch.js';
import { looseRef } from '../model/resolve-id.js';
import { instanceProblem, INSTANCE_FIX } from './lint-handoff.js';
import { dependencyCycles } from '../model/dependencies.js';
import { neverDue } from '../model/schedule.js';
import { targetFileProblems, targetProblems, type BatchFlagDefaults } from './batch-targets.js';
import { handoffBody } from './handoff-body.js';
import { currentSnapshot, localSnapshot } from './query.js';
import type { Snapshot } from '../model/snapshot.js';

/**
 * `gitbus dispatch --from FILE` (docs/PROTOCOL.md §10a): many independent tasks, decided from one snapshot and
 * delivered as ONE commit through this node's queue (bus/ops/deliver.ts), all of them or none, offline included.
 * The compare-and-swap is the same as for one dispatch; only the commit carries more files.
 */

export type NewHandoff = Omit<Handoff, 'id' | 'from' | 'created'>;

/** What the command line gives the whole batch: the project of the checkout, and defaults below each task's own. */
export interface BatchShared {
  /** Resolved once for the batch (`dispatch` does it per task); null: plain tasks unless a task names its repo. */
  project: ProjectFields | null;
  defaults?: Pick<BatchFlagDefaults, 'to' | 'labels'>;
  /** Where `project` came from: `--repo`, or the checkout (--repo's default); a refusal of it is blamed on --repo. */
  projectFrom?: 'flag' | 'checkout';
  /** The checkout's git state, for each body's `## Git state` (as `dispatch` writes it); null: none. */
  git?: GitContext | null;
  /**
   * The flag that kept the checkout's repo from every line (`--no-repo`, or `--no-git` without `--repo`, which
   * leaves the checkout unread): a line that needs a repo says so in its fix.
   */
  noCheckoutRepo?: '--no-repo' | '--no-git';
}

export interface BatchInput extends BatchShared {
  tasks: BatchTask[];
  /**
   * What reading the file found wrong (parseBatch), `tasks` being the lines that passed: those lines are still
   * checked against the bus, and the batch is refused with every problem at once, in the order of the file.
   */
  fileProblems?: FileProblem[];
  /** Build and check everything, write nothing. */
  dryRun?: boolean;
  /** Dispatch to nodes that are not on the bus or whose card says they cannot run the task (warnings instead). */
  force?: boolean;
  now?: Date;
  /** Signs each handoff; each sidecar goes into the batch's commit. */
  sign?: BusFileSigner;
}

export interface BatchTaskResult {
  id: string;
  path: string;
  title: string;
  /** `FILE:LINE` of the task in the batch file. */
  at: string;
  /** The handoff as it is (or would be) committed. */
  text: string;
}

export interface BatchResult {
  /** Every task's id, in input order. */
  ids: string[];
  tasks: BatchTaskResult[];
  /** The one commit that carried them; null on a dry run, when queued, or when another process sent them. */
  commit: string | null;
  dryRun: boolean;
  /** Why some tasks may wait longer than expected, each with where (`FILE:LINE`, and how many more). */
  warnings: string[];
  /** Set when the remote could not be reached: all of them wait in this node's queue and go in one commit later. */
  queued?: { reason: string };
}

export const batchSubject = (n: number) => `gitbus: dispatch ${n} task${n === 1 ? '' : 's'}`;

/**
 * A task's handoff and body: its own fields, then the command line's defaults, then the batch's project unless
 * the task names its own (`repo`, `base` or `baseCommit`). A schedule's template gets no `baseCommit` (PROTOCOL.md
 * §3a). `branch` (`gitbus/<id>`) is filled in once the id is known. Pure.
 */
export function batchHandoff(task: BatchTask, shared: BatchShared): { handoff: NewHandoff; body: string } {
  const { id: _chosen, ...own } = task.handoff;
  const handoff: NewHandoff = { ...own };
  const d = shared.defaults ?? {};
  if (handoff.to === undefined && d.to !== undefined) handoff.to = d.to;
  if (handoff.labels === undefined && d.labels?.length) handoff.labels = d.labels;
  const ownsProject = own.repo !== undefined || own.base !== undefined || own.baseCommit !== undefined;
  if (shared.project && !ownsProject) {
    const { repo, base, baseCommit } = shared.project;
    Object.assign(handoff, { repo, base, ...(own.schedule === undefined ? { baseCommit } : {}) });
  }
  const body = handoffBody({
    task: task.body?.trim() ? task.body : own.title,
    ...(task.context ? { context: task.context } : {}),
    ...(task.instructions ? { instructions: task.instructions } : {}),
    git: shared.git ?? null,
  });
  return { handoff, body };
}

/**
 * A line's problem whose fix asks for a "repo" (the merge runner's, a project field's, `resumes`), when `--no-repo`
 * or `--no-git` kept the checkout's repo from the line: the fix names that flag, or the person looks for why the
 * checkout's was not taken. Pure.
 */
export function noRepoFix(p: FileProblem, handoff: Pick<Handoff, 'repo'>, shared: Pick<BatchShared, 'noCheckoutRepo'>): FileProblem {
  if (shared.noCheckoutRepo === undefined || handoff.repo !== undefined || !/\badd (the )?"repo/.test(p.fix)) return p;
  const why = shared.noCheckoutRepo === '--no-repo' ? "--no-repo keeps this checkout's repo from every line of the batch" : '--no-git leaves the checkout unread: no line of the batch takes its repo';
  return { ...p, fix: `${p.fix}; ${why}, so this one must name its own` };
}

const onTask = (task: BatchTask, p: FileProblem): FileProblem => ({ ...p, path: task.at, field: p.field === '' ? task.field.replace(/\.$/, '') : `${task.field}${p.field}` });

/** "reason (FILE:LINE)" or "reason (FILE:LINE and 4 more)", each reason once. Pure. */
function grouped(found: { at: string; text: string }[]): string[] {
  const by = new Map<string, string[]>();
  for (const f of found) by.set(f.text, [...(by.get(f.text) ?? []), f.at]);
  return [...by].map(([text, ats]) => `${text} (${ats[0] ?? ''}${ats.length > 1 ? ` and ${ats.length - 1} more` : ''})`);
}

/**
 * Lines whose `after` make a ring among the batch's own tasks (a -> b -> a): the watchers would cancel all of them as
 * a cycle (bus/model/dependencies.ts), since a handoff is written once and nobody can open the ring. One problem a
 * ring, at its first line, naming each task of it with its line. A task waiting for itself is refused by the
 * handoff's own rules already. Pure.
 */
export function ringProblems(built: readonly { task: BatchTask; id: string; data: Pick<Handoff, 'after'> }[]): FileProblem[] {
  const lineOf = new Map(built.map((b) => [b.id, b.task.at]));
  const rings = dependencyCycles(built.map((b) => ({ id: b.id, after: (b.data.after ?? []).filter((d) => d !== b.id) })));
  const named = new Set<string>();
  const out: FileProblem[] = [];
  for (const b of built) {
    const ring = rings.get(b.id);
    if (ring === undefined || named.has(b.id)) continue;
    // The ring's text lists its ids (a long one shortened around a count), each shown here with its line.
    const steps = ring.split(' -> ');
    for (const s of steps) named.add(s);
    const shown = steps.map((s) => (lineOf.has(s) ? `${s} (${lineOf.get(s) ?? ''})` : s)).join(' -> ');
    out.push({ path: b.task.at, field: `${b.task.field}after`, reason: `the batch's tasks wait for each other in a ring, so none of them could ever run: ${shown}`, fix: 'remove one "after" of the ring (a task may wait for another of the batch only when that one does not wait for it)', severity: 'error' });
  }
  return out;
}

function freshId(now: Date, taken: (id: string) => boolean): string {
  for (;;) {
    const id = newTaskId(now, mathRandomBytes);
    if (!taken(id)) return id;
  }
}

export async function dispatchBatch(ctx: BusContext, input: BatchInput): Promise<BatchResult> {
  const now = input.now ?? new Date();
  const created = now.toISOString();
  const snap = await localSnapshot(ctx);
  const home = ctx.paths.home;
  const problems: FileProblem[] = [...(input.fileProblems ?? [])];

  const chosen = new Set(input.tasks.flatMap((t) => (t.handoff.id !== undefined ? [t.handoff.id] : [])));
  // What a line's `after` may name by a short ref, as `dispatch --after` does: live tasks, dispatches queued here, and
  // the ids the batch's lines choose.
  const namable = [...new Set([...snap.ids(), ...listQueue(home).flatMap((e) => (e.kind === 'dispatch' ? [e.id] : [])), ...chosen])];
  // One archive lookup for both: the chosen ids (ids are never reused, so one taken by an archived task is refused
  // here, on its line, not at delivery) and the afters an archived full id could be taken for a live task by.
  const fresh = [...chosen].filter((id) => !snap.has(id) && !isQueued(home, { kind: 'dispatch', id }));
  const loose = input.tasks.flatMap((t) => (t.handoff.after ?? []).filter((dep) => looseRef(namable, dep)));
  const archived = await archivedAmong(ctx, [...fresh, ...loose]);
  for (const t of input.tasks) {
    const id = t.handoff.id;
    if (id !== undefined && (snap.has(id) || isQueued(home, { kind: 'dispatch', id }))) {
      problems.push({ path: t.at, field: `${t.field}id`, reason: `a task with id ${id} already exists`, fix: 'choose another id, or leave "id" out to get a generated one', severity: 'error' });
    } else if (id !== undefined && archived.has(id)) {
      problems.push({ path: t.at, field: `${t.field}id`, reason: `a task with id ${id} is in the archive (ids are never reused)`, fix: 'choose another id, or leave "id" out to get a generated one', severity: 'error' });
    }
  }
  const drawn = new Set<string>();
  const taken = (id: string) => chosen.has(id) || drawn.has(id) || snap.has(id) || isQueued(home, { kind: 'dispatch', id });

  const rewritten: { at: string; text: string }[] = [];
  // A schedule's template never ends (PROTOCOL.md §4 rule 5): a line after it could never run.
  const templates = new Set(await snap.handoffIdsWhere('schedule', (h) => h.schedule !== undefined, false));
  const built = input.tasks.map((task) => {
    const { handoff, body } = batchHandoff(task, input);
    const id = task.handoff.id ?? freshId(now, taken);
    drawn.add(id);
    const branch = handoff.repo !== undefined && handoff.branch === undefined && handoff.schedule === undefined ? { branch: defaultBranch(id) } : {};
    if (handoff.schedule !== undefined && neverDue(handoff.schedule, now)) problems.push({ path: task.at, field: `${task.field}schedule`, reason: neverDueError(handoff.schedule).message.replace('--schedule', 'the schedule'), fix: neverDueError(handoff.schedule).fix, severity: 'error' });
    let after = handoff.after;
    try {
      after = after?.map((dep) => {
        const full = afterId(namable, dep, archived);
        if (full !== dep) rewritten.push({ at: task.at, text: `after ${dep} is taken as ${full}, the task it names` });
        if (templates.has(full)) {
          const err = templateAfterError(full);
          problems.push({ path: task.at, field: `${task.field}after`, reason: err.message.replace('--after', 'after'), fix: err.fix, severity: 'error' });
        }
        return full;
      });
    } catch (err) {
      if (!(err instanceof UnknownTaskError)) throw err;
      problems.push({ path: task.at, field: `${task.field}after`, reason: firstLine(err), fix: err.fix, severity: 'error' });
    }
    const data = { id, ...handoff, ...(after ? { after } : {}), ...branch, from: ctx.config.node, created } as Handoff;
    const path = pathFor({ kind: 'handoff', id });
    let text = '';
    try {
      text = renderBusFile('handoff', data, body, task.extras);
      // Validate exactly what will be committed, with the same parser every reader uses.
      const check = parseBusFile(path, text);
      if (!check.ok) problems.push(...check.problems.filter((p) => p.severity === 'error').map((p) => onTask(task, noRepoFix(p, handoff, input))));
      // A template whose instance would not be a valid handoff would dispatch nothing, ever.
      const unrenderable = check.ok && data.schedule !== undefined ? instanceProblem({ id, handoff: data, body }, now) : undefined;
      if (unrenderable) problems.push(onTask(task, { path, field: '', reason: `the schedule would dispatch nothing: ${unrenderable}`, fix: `shorten the body: ${INSTANCE_FIX}`, severity: 'error' }));
    } catch (err) {
      if (!(err instanceof InvalidBusFileError)) throw err;
      problems.push(...err.problems.map((p) => onTask(task, noRepoFix(p, handoff, input))));
    }
    return { task, id, data, path, text };
  });

  problems.push(...ringProblems(built));
  // The remote's main, fetched at most once: for the targets the clone refuses, and the warnings the clone has.
  let remoteMain: Promise<Snapshot> | undefined;
  const remote = (): Promise<Snapshot> => (remoteMain ??= currentSnapshot(ctx));
  const targets = await targetProblems(snap, built, remote);
  if (!input.force) problems.push(...targetFileProblems(targets, { ...input.defaults, ...(input.project && input.projectFrom ? { project: input.projectFrom } : {}) }));
  if (problems.length > 0) throw new InvalidBatchError(inFileOrder(problems));
  checkBatchBytes(built.reduce((n, b) => n + Buffer.byteLength(b.text), 0));

  const ids = built.map((b) => b.id);
  // The batch's own tasks and the dispatches queued here arrive, so an `after` naming one waits for nothing unknown.
  const coming = new Set([...ids, ...namable]);
  // Judged on the main the batch landed on, as a single dispatch's are: the clone may predate a node's join or a
  // dependency's end. Before a push (a dry run) or without the remote (queued), on the clone, confirmed on the
  // remote's main when the clone has something to say.
  const judged = async (s: Snapshot): Promise<{ at: string; text: string }[]> => {
    const found: { at: string; text: string }[] = [];
    for (const b of built) for (const w of await dispatchWarnings(s, b.data, coming)) found.push({ at: b.task.at, text: w });
    return found;
  };
  // Forced: a card that cannot run the task is said here (an unknown node is among the warnings already).
  const forced = input.force ? targets.flatMap((t) => (t.error instanceof NodeCannotRunError ? [{ at: t.task.at, text: `${firstLine(t.error)}; ${t.error.data['refuses'] === true ? 'it answers the task failed' : 'the task waits until it can'}` }] : [])) : [];
  const listed = (found: readonly { at: string; text: string }[]): BatchResult['warnings'] => grouped([...rewritten, ...found, ...forced]);
  const warningsOn = async (s: Snapshot): Promise<BatchResult['warnings']> => listed(await judged(s));
  const confirmed = async (): Promise<BatchResult['warnings']> => {
    const local = await judged(snap);
    // The remote unreachable: the clone's view, as the checks of the targets take it.
    return listed(local.length === 0 ? local : await judged(await remote().catch(() => snap)));
  };
  const result: BatchResult = {
    ids,
    tasks: built.map((b) => ({ id: b.id, path: b.path, title: b.data.title, at: b.task.at, text: b.text })),
    commit: null,
    dryRun: input.dryRun === true,
    warnings: [],
  };
  if (input.dryRun) return { ...result, warnings: await confirmed() };

  const signatures: (QueuedSignature | undefined)[] = [];
  for (const b of built) signatures.push(input.sign ? await input.sign(b.path, b.text) : undefined);
  checkBatchBytes(built.reduce((n, b, i) => n + Buffer.byteLength(b.text) + Buffer.byteLength(signatures[i]?.content ?? ''), 0));
  const batch = { key: `batch-${ids[0] ?? ''}`, size: built.length, subject: batchSubject(built.length) };
  const entries: QueueEntry[] = built.map((b, i) => {
    const signature = signatures[i];
    // A millisecond apart: the queue is read in this order, so the commit message lists them as the file does.
    const queuedAt = new Date(now.getTime() + i).toISOString();
    return { kind: 'dispatch', id: b.id, path: b.path, text: b.text, title: b.data.title, queuedAt, chosenId: b.task.handoff.id !== undefined, batch, ...(signature ? { signature } : {}) };
  });
  const sent = await sendBatch(ctx, entries);
  if (sent.kind === 'refused') throw new InputError(`the batch was refused, and nothing of it was dispatched: ${sent.reason}`, 'run it again: generated ids are drawn anew (a chosen "id" that is taken must change)', { reason: sent.reason });
  // Lines that join a fan-out's group: `group` lists them after the archive took the group, as dispatch's.
  for (const b of built) if (b.data.group !== undefined) noteGroup(ctx.paths.home, { kind: 'follow-up', group: b.data.group, integration: null, ids: [b.id], at: now.toISOString() });
  if (sent.kind === 'queued') return { ...result, warnings: await warningsOn(snap), queued: { reason: sent.reason } };
  // The batch is on the remote whatever this read does: a clone it cannot read now is judged as it was.
  const landed = await warningsOn(await localSnapshot(ctx).catch(() => snap));
  return sent.kind === 'delivered' ? { ...result, warnings: landed, commit: sent.commit } : { ...result, warnings: landed };
}

