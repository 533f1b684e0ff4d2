import type { FileProblem } from '../../schemas/errors.js';
import type { Handoff } from '../../schemas/handoff.js';
import type { Claim } from '../../schemas/claim.js';
import type { TaskResponse as Response } from '../../schemas/response.js';
import type { Cancel } from '../../schemas/cancel.js';
import type { Delivery } from '../../schemas/delivery.js';
import { mergeDeliveries, type DeliveryFile } from './delivery-merge.js';
import { openAttempt, highestAttempt } from './index-tree.js';
import type { FileRef, TaskFiles, TaskState } from './types.js';

export const KNOWN_PROTOCOL = 1;

/** What a parsed file contributes, as the model needs it (the raw ParseResult shape stays in schemas/). */
export type Parsed<T> = { ok: true; data: T; body: string; warnings: FileProblem[] } | { ok: false; problems: FileProblem[]; unsupportedProtocol?: number };

/** What of a handoff decides its state before its other files: any view's handoff has at least these. */
export type StateFields = Pick<Handoff, 'protocol' | 'schedule' | 'after'>;

export interface ParsedTaskFiles<H extends StateFields = Handoff> {
  handoff: Parsed<H>;
  claim?: Parsed<Claim>;
  response?: Parsed<Response>;
  cancel?: Parsed<Cancel>;
  /** The task's delivery files, in attempt order. */
  deliveries?: DeliveryFile[];
}

/**
 * A task in one commit. `H` is what it holds of its handoff: the whole of it, or (status, bus/model/snapshot.ts
 * rowViews) the facts the parse cache keeps of it, with no body.
 */
export interface TaskView<H extends StateFields = Handoff> {
  id: string;
  state: TaskState;
  /** Present when the handoff parsed. */
  handoff?: H;
  handoffBody?: string;
  /**
   * The open claim's attempt and node (node null when the claim file is unreadable); `newer`: the file is for a newer
   * protocol, so it names a node this gitbus cannot read, which may well be running the task.
   */
  claim?: { attempt: number; node: string | null; data?: Claim; newer?: number };
  attempts: number;
  /** The protocol an `unsupported` task's handoff needs, when it names one this gitbus does not know. */
  protocol?: number;
  /**
   * The response, with the delivery of its attempt folded in when one counts (bus/model/delivery-merge.ts): every
   * reader's result. `responseBody` is the body as written.
   */
  response?: Response;
  responseBody?: string;
  /** The delivery that says the response's branch reached the project remote after the response went out. */
  delivery?: Delivery & { path: string };
  cancel?: Cancel;
  /** Dependencies that have not succeeded (state blocked). */
  waitingFor: string[];
  /** The same, with the state each one is in (`unknown`: neither live nor archived), so people see why. */
  waitingOn: { id: string; state: TaskState | 'unknown' }[];
  problems: FileProblem[];
  files: TaskFiles;
}

/**
 * The state of one task from its files in one commit (docs/PROTOCOL.md §4), before dependencies are
 * considered. Pure.
 */
export function baseTaskView<H extends StateFields = Handoff>(files: TaskFiles, parsed: ParsedTaskFiles<NoInfer<H>>): TaskView<H> {
  const view: TaskView<H> = { id: files.id, state: 'pending', attempts: highestAttempt(files), waitingFor: NOT_WAITING, waitingOn: NOT_WAITING_ON, problems: problemsOf(parsed), files };
  if (parsed.handoff.ok) {
    view.handoff = parsed.handoff.data;
    view.handoffBody = parsed.handoff.body;
  }
  if (parsed.cancel?.ok) view.cancel = parsed.cancel.data;
  const open = openAttempt(files);
  if (open !== null) {
    const c = parsed.claim;
    view.claim = c?.ok ? { attempt: open, node: c.data.node, data: c.data } : { attempt: open, node: null, ...(c?.unsupportedProtocol !== undefined ? { newer: c.unsupportedProtocol } : {}) };
  }

  if (files.response) {
    const r = parsed.response;
    if (r?.ok) {
      const merged = parsed.deliveries ? mergeDeliveries(r.data, parsed.deliveries) : null;
      view.response = merged?.response ?? r.data;
      if (merged?.delivery) view.delivery = merged.delivery;
      if (merged && merged.problems.length > 0) view.problems = [...view.problems, ...merged.problems];
      view.responseBody = r.body;
      view.state = r.data.status;
    } else {
      // The one response slot is taken by an unreadable file: the task has ended, and must never run again.
      view.state = 'failed';
      const loose = parsed.deliveries ? mergeDeliveries(undefined, parsed.deliveries).problems : [];
      if (loose.length > 0) view.problems = [...view.problems, ...loose];
    }
    return view;
  }
  // Deliveries without a readable response: said, never counted.
  const loose = parsed.deliveries ? mergeDeliveries(undefined, parsed.deliveries).problems : [];
  if (loose.length > 0) view.problems = [...view.problems, ...loose];
  // A cancel ends even an invalid task, so that it can be archived away; and a task held by a claim file that does
  // not parse, which names no node that could stop the work and report (PROTOCOL.md §4 rule 3): otherwise it would
  // stay `cancelling` for ever.
  if (files.cancel && (open === null || (view.claim?.node === null && view.claim.newer === undefined))) view.state = 'cancelled';
  else if (open !== null) view.state = files.cancel ? 'cancelling' : 'claimed';
  else if (!parsed.handoff.ok) {
    view.state = parsed.handoff.unsupportedProtocol !== undefined ? 'unsupported' : 'invalid';
    if (parsed.handoff.unsupportedProtocol !== undefined) view.protocol = parsed.handoff.unsupportedProtocol;
  }
  else if ((parsed.handoff.data.protocol ?? 1) > KNOWN_PROTOCOL) view.state = 'unsupported';
  else if (parsed.handoff.data.schedule) view.state = 'scheduled';
  else view.state = 'pending';
  return view;
}

/**
 * Shared by every view that waits for nothing or has no problems (most of 5,000 pending tasks): frozen, since a
 * view is never changed in place (applyDependencies makes a new one), so nothing can add to them by mistake.
 */
const NOT_WAITING = Object.freeze([]) as unknown as string[];
const NOT_WAITING_ON = Object.freeze([]) as unknown as TaskView['waitingOn'];
const NO_PROBLEMS = Object.freeze([]) as unknown as FileProblem[];

/** The problems of a task's files: the handoff's warnings or problems, then those of the others that did not parse. */
function problemsOf(parsed: ParsedTaskFiles<StateFields>): FileProblem[] {
  const h = parsed.handoff;
  const own = h.ok ? h.warnings : h.problems;
  const { claim, response, cancel, deliveries } = parsed;
  const badDelivery = deliveries?.some((d) => !d.parsed.ok) ?? false;
  const bad = (claim && !claim.ok) || (response && !response.ok) || (cancel && !cancel.ok) || badDelivery;
  if (own.length === 0 && !bad) return NO_PROBLEMS;
  const out = [...own];
  if (claim && !claim.ok) out.push(...claim.problems);
  if (response && !response.ok) out.push(...response.problems);
  if (cancel && !cancel.ok) out.push(...cancel.problems);
  for (const d of deliveries ?? []) if (!d.parsed.ok) out.push(...d.parsed.problems);
  return out;
}

/** Turns `pending` into `blocked` while a dependency has not succeeded. `stateOf` answers for any task id. */
export function applyDependencies<H extends StateFields>(view: TaskView<H>, stateOf: (id: string) => TaskState | 'unknown'): TaskView<H> {
  if (view.state !== 'pending') return view;
  const waiting = (view.handoff?.after ?? []).map((id) => ({ id, state: stateOf(id) })).filter((d) => d.state !== 'succeeded');
  if (waiting.length > 0) return { ...view, state: 'blocked', waitingFor: waiting.map((d) => d.id), waitingOn: waiting };
  return view;
}

/**
 * The views of `ids` (those `base` knows, in order), dependencies applied: every base view first, then `external`
 * asked once for the dependencies that are not live (`live`; archived tasks, which without it count as unknown),
 * then each pending task's dependencies. What Snapshot.viewsOf and status's row views share. `base` may answer
 * without a promise: with 5,000 tasks an await each was a good part of the loop.
 */
export async function withDependencies<H extends StateFields>(
  ids: Iterable<string>,
  base: (id: string) => TaskView<H> | undefined | Promise<TaskView<H> | undefined>,
  live: (id: string) => boolean,
  external?: (missing: string[]) => Promise<Map<string, TaskState>>,
): Promise<TaskView<H>[]> {
  const viewOf = async (id: string): Promise<TaskView<H> | undefined> => {
    const b = base(id);
    return b instanceof Promise ? await b : b;
  };
  const bases: TaskView<H>[] = [];
  const missing = new Set<string>();
  for (const id of ids) {
    const b = base(id);
    const v = b instanceof Promise ? await b : b;
    if (!v) continue;
    bases.push(v);
    for (const dep of v.handoff?.after ?? []) if (!live(dep)) missing.add(dep);
  }
  const archived = external && missing.size > 0 ? await external([...missing]) : new Map<string, TaskState>();
  const out: TaskView<H>[] = [];
  for (const v of bases) {
    const deps = v.handoff?.after ?? [];
    if (deps.length === 0 || v.state !== 'pending') {
      out.push(v);
      continue;
    }
    const states = new Map<string, TaskState | 'unknown'>();
    for (const dep of deps) states.set(dep, (await viewOf(dep))?.state ?? archived.get(dep) ?? 'unknown');
    out.push(applyDependencies(v, (d) => states.get(d) ?? 'unknown'));
  }
  return out;
}

/** The file refs a full view of a task needs parsed. */
export function refsToParse(files: TaskFiles): FileRef[] {
  const refs: FileRef[] = [];
  if (files.handoff) refs.push(files.handoff);
  const open = openAttempt(files);
  if (open !== null) {
    const c = files.claims.get(open);
    if (c) refs.push(c);
  }
  if (files.response) refs.push(files.response);
  if (files.cancel) refs.push(files.cancel);
  if (files.deliveries) for (const a of [...files.deliveries.keys()].sort((x, y) => x - y)) refs.push(files.deliveries.get(a) as FileRef);
  return refs;
}

/** Whether `ref` is one of the task's delivery files. */
export function isDeliveryRef(files: TaskFiles, ref: FileRef): boolean {
  if (!files.deliveries) return false;
  for (const d of files.deliveries.values()) if (d === ref) return true;
  return false;
}
