import type { TaskView } from '../bus/model/task-view.js';
import { isFinal, type TaskState } from '../bus/model/types.js';
import { dataNote, oneLineText } from '../schemas/output-text.js';
import { responseSection, sectionHeadline } from '../bus/ops/response-sections.js';
import { notPushedWords } from '../bus/project/push-state.js';
import { pathFor } from '../schemas/layout.js';
import type { Ledger, LedgerTask } from './session-ledger.js';

/**
 * What a Claude session is told about the tasks it dispatched. Pure: the facts come from the node's clone
 * (claude/session-facts.ts); everything quoted from the bus is flattened to one line of plain text and clipped,
 * since other machines wrote it.
 */
export interface TaskFact {
  id: string;
  title: string;
  /** `queued`: still in this node's queue (the remote was not reachable); `gone`: not on main (archived, or lost). */
  state: TaskState | 'queued' | 'gone';
  /** The node that ran it (response), or holds it (claim). */
  node: string | null;
  /** The response's summary line, else its reason, else the first line of its results (summaryLine); for an invalid task, why. */
  summary: string;
  durationMs: number | null;
  /** A project task's result branch and whether it is on the project remote. */
  branch: string | null;
  pushed: boolean | null;
  /** Why it is not (notPushedWords), when it is not. */
  notPushed: string | null;
  /** The archive's month folder (`yyyy-mm`) of a task that left main; absent for a task on main. */
  archived?: string;
  /**
   * The delivery folded into its result (docs/PROTOCOL.md §3a, "A push that lands later"), by its path on main
   * (`deliveries/<id>.<attempt>.md`, archived or not): what a session or this node was told of, once.
   */
  delivered?: string;
  /** Its branch is not on the project remote and its node keeps pushing it (notPushedWords: fetchable): a delivery may come. */
  awaitsPush?: true;
}

const ENDED_STATES: readonly string[] = ['invalid', 'unsupported'];

/** The task has ended and will not change: final, or a handoff no node will ever run. */
export function hasEnded(state: TaskFact['state']): boolean {
  return state !== 'queued' && state !== 'gone' && (isFinal(state) || ENDED_STATES.includes(state));
}

/** Still to come: queued, pending, blocked, claimed, cancelling. A schedule template never ends, so it is not waited for. */
export function isWaiting(state: TaskFact['state']): boolean {
  return !hasEnded(state) && state !== 'gone' && state !== 'scheduled';
}

export function factOf(t: LedgerTask, view: TaskView | undefined, queued: boolean): TaskFact {
  const title = oneLineText(view?.handoff?.title ?? t.title, 120);
  if (!view) return { id: t.id, title, state: queued ? 'queued' : 'gone', node: null, summary: '', durationMs: null, branch: null, pushed: null, notPushed: null };
  const r = view.response;
  const project = r?.project;
  return {
    id: t.id,
    title,
    state: view.state,
    node: r?.node ?? view.claim?.node ?? null,
    // A task that is invalid says why in its place: no result (or none that counts here) to sum up.
    summary: r || view.state !== 'invalid' ? summaryLine(view.responseBody, r?.reason) : oneLineText(view.problems.find((p) => p.severity === 'error')?.reason ?? '', 200),
    durationMs: r?.durationMs ?? null,
    branch: project?.branch ?? null,
    pushed: project ? project.pushed === true : null,
    // It quotes the push error the task's node wrote: another machine's words, flattened and clipped as a summary is.
    notPushed: project && !project.pushed ? oneLineText(notPushedWords(t.id, project).text, 300) : null,
    ...(project && !project.pushed && notPushedWords(t.id, project).fetchable ? { awaitsPush: true as const } : {}),
    ...(view.delivery ? { delivered: pathFor({ kind: 'delivery', id: t.id, attempt: view.delivery.attempt }) } : {}),
  };
}

/**
 * The headline of the response's Summary section, else its reason, else the headline of its Results: a section's
 * first line, marked `(+N more lines)` when more follow (sectionHeadline), since `gitbus show` has the rest.
 */
export function summaryLine(body: string | undefined, reason: string | undefined): string {
  const section = (name: string): string | undefined => (body === undefined ? undefined : responseSection(body, name));
  const summary = section('Summary');
  if (summary !== undefined) return sectionHeadline(summary, 200);
  if (reason && reason.trim() !== '') return oneLineText(reason, 200);
  const results = section('Results');
  return results === undefined ? '' : sectionHeadline(results, 200);
}

export interface News {
  /** Ended, and the session has not been told yet. */
  ended: TaskFact[];
  /** Told of before, and since then its branch reached the project remote (a delivery the session was not told of). */
  landed: TaskFact[];
  /** Not ended yet. */
  waiting: TaskFact[];
}

/** Whether the fact brings a delivery that whoever was told of the task has not heard of (`told`: the one heard of). Pure. */
export function newlyDelivered(f: TaskFact, told: string | undefined): boolean {
  return f.delivered !== undefined && f.delivered !== told;
}

export function newsOf(ledger: Ledger, facts: Map<string, TaskFact>): News {
  const ended: TaskFact[] = [];
  const landed: TaskFact[] = [];
  const waiting: TaskFact[] = [];
  for (const t of ledger.tasks) {
    const f = facts.get(t.id);
    if (!f) continue;
    if (hasEnded(f.state) && t.told === undefined) ended.push(f);
    else if (t.told !== undefined && newlyDelivered(f, t.toldDelivered)) landed.push(f);
    else if (isWaiting(f.state)) waiting.push(f);
  }
  return { ended, landed, waiting };
}

/** One short line per task whose branch reached the project remote after it was reported not pushed. */
export function landedLine(f: TaskFact): string {
  return `${f.id} "${f.title}": its branch ${f.branch ?? ''} is on the project remote now (pushed after its response went out; gitbus show ${f.id})`;
}

export function span(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function endedItem(f: TaskFact): string {
  const where = f.node ? ` on ${f.node}` : '';
  const took = f.durationMs !== null ? ` after ${span(f.durationMs)}` : '';
  const lines = [`- ${f.id} "${f.title}": ${f.state}${where}${took}.${f.summary ? ` Summary: ${f.summary}` : ''}`];
  if (f.branch) lines.push(`  Results on branch ${f.branch}${f.notPushed ? ` (${f.notPushed})` : ''}.`);
  lines.push(`  Read more: gitbus show ${f.id}`);
  return lines.join('\n');
}

function waitingItem(f: TaskFact): string {
  const how = f.state === 'claimed' ? `running on ${f.node ?? 'a node'}` : f.state === 'queued' ? 'queued on this node, not on the bus yet' : f.state;
  return `${f.id} "${f.title}" (${how})`;
}

const DATA_NOTE = dataNote('Titles, summaries and push errors');

/**
 * How many tasks one hook's words name, of each kind: a session that dispatched a few hundred (a bulk dispatch, a
 * group cancelled) is told how many more there are and where they are listed, not sent every line into its context.
 */
export const MAX_ENDED_SHOWN = 20;
export const MAX_WAITING_SHOWN = 10;
export const MAX_LINE_IDS = 10;

/** The first `max` items joined, and how many more with where to see them. Pure. */
function firstOf<T>(items: T[], max: number, show: (item: T) => string, sep: string, more: (n: number) => string): string {
  const shown = items.slice(0, max).map(show).join(sep);
  return items.length > max ? `${shown}${sep}${more(items.length - max)}` : shown;
}

/** The waiting tasks, the first MAX_WAITING_SHOWN of them named. Pure. */
function waitingList(waiting: TaskFact[]): string {
  return firstOf(waiting, MAX_WAITING_SHOWN, waitingItem, '; ', (n) => `and ${n} more (gitbus status lists them)`);
}

/** For Claude: the ended tasks in full, the branches that reached the remote since, and what is still running. */
export function endedText(ended: TaskFact[], waiting: TaskFact[], landed: TaskFact[] = []): string {
  const head = ended.length === 0 ? [] : [`gitbus: ${ended.length === 1 ? 'a task' : `${ended.length} tasks`} this session dispatched ${ended.length === 1 ? 'has' : 'have'} ended since you last heard:`];
  const lines = [...head, ...ended.slice(0, MAX_ENDED_SHOWN).map(endedItem)];
  if (ended.length > MAX_ENDED_SHOWN) lines.push(`- and ${ended.length - MAX_ENDED_SHOWN} more ended tasks: gitbus collect --peek lists them all, gitbus show ID tells one`);
  lines.push(...landed.slice(0, MAX_ENDED_SHOWN).map((f) => `gitbus: ${landedLine(f)}.`));
  if (landed.length > MAX_ENDED_SHOWN) lines.push(`gitbus: and ${landed.length - MAX_ENDED_SHOWN} more branches reached the project remote (gitbus collect --peek).`);
  if (waiting.length > 0) lines.push(`Still waiting for: ${waitingList(waiting)}.`);
  lines.push(DATA_NOTE);
  return lines.join('\n');
}

/** For the person: one line. */
export function endedLine(ended: TaskFact[], landed: TaskFact[] = []): string {
  const items = [...ended.map((f) => `${f.id} ${f.state}${f.node ? ` on ${f.node}` : ''}`), ...landed.map((f) => `${f.id} branch pushed now`)];
  return `gitbus: ${firstOf(items, MAX_LINE_IDS, (i) => i, ', ', (n) => `and ${n} more`)} (gitbus show ID for more${items.length > MAX_LINE_IDS ? '; gitbus collect --peek for all' : ''})`;
}

export function waitingLine(waiting: TaskFact[]): string {
  return `gitbus: ${waiting.length === 1 ? 'a task' : `${waiting.length} tasks`} of this session still to end: ${waitingList(waiting)}. You will hear when ${waiting.length === 1 ? 'it ends' : 'they end'}.`;
}

/** For SessionStart after a resume or a compaction: what this session is still waiting for, so it is not forgotten. */
export function waitingText(waiting: TaskFact[]): string {
  return `gitbus: this session is waiting for ${waiting.length === 1 ? 'a task' : `${waiting.length} tasks`} it dispatched: ${waitingList(waiting)}. You will be told when ${waiting.length === 1 ? 'it ends' : 'they end'}; do not poll. ${DATA_NOTE}`;
}
