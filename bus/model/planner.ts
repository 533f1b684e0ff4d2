import type { Handoff } from '../../schemas/handoff.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import type { StateFields, TaskView } from './task-view.js';
import type { NodeCard } from '../../schemas/node-card.js';
import { cardRefusal, type PolicyTask, type PolicyVerdict } from './node-policy.js';
import { instantMs } from '../../schemas/timestamp.js';
import { fmix32 } from '../../schemas/sum32.js';
import { manualWaits } from './manual-task.js';

/** What the planner needs to know about the node that wants work. */
export interface NodeFacts {
  node: string;
  labels: readonly string[];
  /** Runners this claimer accepts; undefined accepts all (a person claiming by hand). */
  runners?: readonly string[];
  /** The node's policy on a task (node.yaml `policy:`, bus/model/node-policy.ts); undefined accepts all. */
  policy?: (handoff: Handoff, id: string) => PolicyVerdict;
  /**
   * A task addressed to this node that its policy refuses is claimable, so that the claimer (the watcher) answers
   * it `failed` with the reason, running nothing; otherwise it is skipped like any other task it may not claim. A
   * refusal that says `leaveAlone` (another node may be running the task) is skipped all the same.
   */
  answerRefusals?: boolean;
}

export interface Eligibility {
  ok: boolean;
  reason: string;
  fix: string;
  /** Set when the node's policy is what keeps it from claiming the task. */
  refusedByPolicy?: boolean;
}

const OK: Eligibility = { ok: true, reason: '', fix: '' };

/**
 * May `who` claim this task now? Pure; `view` must already have dependencies applied. The reasons are shown to
 * people, so they say what would make the task claimable.
 */
export function eligibility(view: TaskView, who: NodeFacts, maxAttempts: number): Eligibility {
  const h = view.handoff;
  switch (view.state) {
    case 'pending':
      break;
    case 'blocked':
      return { ok: false, reason: `waiting for ${view.waitingFor.join(', ')} to succeed`, fix: 'claim it after its dependencies have succeeded' };
    case 'claimed':
    case 'cancelling':
      if (unreadableHolder(view)) return { ok: false, reason: holderText(view), fix: unreadableHolderFix(view) };
      return { ok: false, reason: `already claimed by ${view.claim?.node ?? 'an unknown node'} (attempt ${view.claim?.attempt ?? '?'})`, fix: 'pick another task; the holder may release it' };
    case 'invalid':
      return { ok: false, reason: 'its handoff is invalid', fix: 'run "gitbus lint" and fix the handoff' };
    case 'scheduled':
      return { ok: false, reason: 'it is a schedule; watchers dispatch an instance of it at each due time', fix: 'claim one of its instances, or cancel it to stop the schedule' };
    case 'unsupported':
      return { ok: false, reason: `it needs protocol ${view.protocol ?? h?.protocol ?? '?'}, newer than this gitbus`, fix: 'upgrade gitbus on this node' };
    default:
      return { ok: false, reason: `it has already ended (${view.state})`, fix: 'dispatch a new task to run it again' };
  }
  if (!h) return { ok: false, reason: 'its handoff is unreadable', fix: 'run "gitbus lint"' };
  const elsewhere = notForThisNode(h, who);
  if (elsewhere) return elsewhere;
  if (view.attempts >= maxAttempts) return { ok: false, reason: `it has used all ${maxAttempts} attempts`, fix: 'dispatch a new task, or raise maxAttempts in gitbus.yaml' };
  const verdict = who.policy?.(h, view.id);
  if (verdict && !verdict.ok && !(who.answerRefusals && h.to === who.node && !verdict.leaveAlone)) return { ok: false, reason: `this node's policy refuses it: ${verdict.reason}`, fix: verdict.fix, refusedByPolicy: true };
  return OK;
}

/**
 * Whether `who` could ever claim a task with this handoff: notForThisNode(h, who) === null, without building the
 * reason (claim --next asks it of every pending handoff). Pure.
 */
export function mayEverClaim(h: Pick<Handoff, 'to' | 'labels' | 'runner' | 'command'>, who: Pick<NodeFacts, 'node' | 'labels' | 'runners'>): boolean {
  if (h.to && h.to !== who.node) return false;
  if (h.labels) for (const l of h.labels) if (!who.labels.includes(l)) return false;
  return !who.runners || who.runners.includes(effectiveRunner(h));
}

/**
 * Why `who` may never claim a task with this handoff, whatever state the task is in (addressed to another node, a
 * label it lacks, a runner it does not run); null when none of these holds. Pure. Part of eligibility, and what
 * claim --next rules tasks out with before building their views (bus/ops/claim.ts).
 */
export function notForThisNode(h: Pick<Handoff, 'to' | 'labels' | 'runner' | 'command' | 'resumes' | 'claude'>, who: Pick<NodeFacts, 'node' | 'labels' | 'runners'>): Eligibility | null {
  // A resume continues a session that lives on the node it is addressed to: a copy without --to could not.
  if (h.to && h.to !== who.node) return { ok: false, reason: `it is addressed to node ${h.to}`, fix: h.resumes !== undefined || h.claude?.resume !== undefined ? `claim it on ${h.to}, where the session it resumes lives` : `claim it on ${h.to}, or dispatch a copy without --to` };
  const missing = (h.labels ?? []).filter((l) => !who.labels.includes(l));
  if (missing.length > 0) return { ok: false, reason: `this node lacks label(s) ${missing.join(', ')}`, fix: 'claim it on a node with those labels, or add them to this node (node.yaml labels)' };
  if (who.runners && !who.runners.includes(effectiveRunner(h))) return { ok: false, reason: `this node does not run "${effectiveRunner(h)}" tasks`, fix: 'enable that runner in the node settings' };
  return null;
}

/** What queue order compares of a task: its priority, its creation time (unknown last) and its id. */
export interface QueueKey {
  p: number;
  c: number;
  id: string;
}

/** What queue order reads of a task: any view, whatever it holds of the handoff (TaskView's `H`). */
type Queued = Pick<TaskView<Pick<Handoff, 'priority' | 'created'> & StateFields>, 'id' | 'handoff'>;

function queueKey(v: Queued): QueueKey {
  return queueKeyOf(v.handoff?.priority ?? 0, v.handoff?.created, v.id);
}

/** The queue key of a task with this priority, creation time (as written) and id; a summary's too. Pure. */
export function queueKeyOf(priority: number, created: string | null | undefined, id: string): QueueKey {
  const t = created ? instantMs(created) : NaN;
  return { p: priority, c: Number.isFinite(t) ? t : Number.MAX_SAFE_INTEGER, id };
}

/** Queue order over keys (compareQueue). Pure. */
export function compareKeys(a: QueueKey, b: QueueKey): number {
  if (a.p !== b.p) return b.p - a.p;
  if (a.c !== b.c) return a.c - b.c;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Queue order: priority (highest first), then creation time (oldest first, unknown last), then id. */
export function compareQueue(a: Queued, b: Queued): number {
  return compareKeys(queueKey(a), queueKey(b));
}

/**
 * `views` in queue order (compareQueue), each key worked out once: a sort of 5,000 tasks compares ~120,000 times,
 * and parsing a creation time per comparison was most of it. Sorts in place and returns `views`.
 */
export function sortQueue<V extends Queued>(views: V[]): V[] {
  // An order of indexes over the keys: one object per task (its key) rather than two.
  const keys = views.map(queueKey);
  const order = Array.from(views.keys());
  order.sort((a, b) => compareKeys(keys[a] as QueueKey, keys[b] as QueueKey));
  const sorted = order.map((i) => views[i] as V);
  for (let i = 0; i < sorted.length; i++) views[i] = sorted[i] as V;
  return views;
}

/** Claimable tasks for `who`, best first. */
export function claimQueue(views: TaskView[], who: NodeFacts, maxAttempts: number): TaskView[] {
  return sortQueue(views.filter((v) => eligibility(v, who, maxAttempts).ok));
}

/**
 * Which queued task to try. The first try takes the head of the queue. After a lost race the head is most likely
 * what the other racers want too, so a retry picks at random among the first few tasks of the head's priority:
 * racing nodes spread out instead of colliding round after round, and priority order still holds.
 */
export function pickFromQueue(queue: readonly TaskView[], attempt: number, random: () => number = Math.random): TaskView | undefined {
  const head = queue[0];
  if (!head || attempt <= 1) return head;
  const prio = head.handoff?.priority ?? 0;
  let n = 0;
  while (n < Math.min(queue.length, SPREAD) && (queue[n]?.handoff?.priority ?? 0) === prio) n++;
  return queue[Math.floor(random() * n)] ?? head;
}

const SPREAD = 8;

/**
 * Which queued tasks to try in one claim of up to `max` (docs/PROTOCOL.md §5, "Claiming several at once"). The first
 * try takes the head of the queue; after a lost race the first pick is spread as pickFromQueue spreads it, and the
 * rest follow in queue order. `perRunner` caps how many of one runner the batch takes (a daily spend cap is checked
 * per claude task, so a capped node takes one at a time). Pure.
 */
export function pickManyFromQueue(queue: readonly TaskView[], attempt: number, max: number, perRunner: Readonly<Partial<Record<string, number>>> = {}, random: () => number = Math.random): TaskView[] {
  const first = pickFromQueue(queue, attempt, random);
  if (!first || max < 1) return [];
  const out: TaskView[] = [];
  const taken = new Map<string, number>();
  for (const v of [first, ...queue.filter((q) => q !== first)]) {
    if (out.length >= max) break;
    const runner = v.handoff ? effectiveRunner(v.handoff) : 'manual';
    const cap = perRunner[runner];
    if (cap !== undefined && (taken.get(runner) ?? 0) >= cap) continue;
    taken.set(runner, (taken.get(runner) ?? 0) + 1);
    out.push(v);
  }
  return out;
}

/**
 * The order in which node `node` tries its claim queue (already in queue order, claimQueue), so that watchers
 * woken by the same change pick DIFFERENT tasks instead of all racing for the head: priority order is kept; within
 * one priority the queue is cut, in FIFO order, into windows of `window` tasks, and inside a window the tasks are
 * ranked by a hash of the node's name and the task's id. Each node has its own order, the same at every decision,
 * so after a lost race its next pick is usually still free. FIFO holds up to the window: a task is never passed
 * by one more than `window - 1` places behind it, and an older window always goes first. Pure.
 */
export function spreadQueue(queue: readonly TaskView[], node: string, window: number = SPREAD_WINDOW): TaskView[] {
  const out: TaskView[] = [];
  let run: TaskView[] = [];
  const flush = () => {
    for (let i = 0; i < run.length; i += window) {
      const chunk = run.slice(i, i + window).map((v) => ({ v, h: spreadHash(node, v.id) }));
      chunk.sort((a, b) => a.h - b.h || (a.v.id < b.v.id ? -1 : 1));
      for (const c of chunk) out.push(c.v);
    }
    run = [];
  };
  for (const v of queue) {
    if (run.length > 0 && (run[0]?.handoff?.priority ?? 0) !== (v.handoff?.priority ?? 0)) flush();
    run.push(v);
  }
  flush();
  return out;
}

/** How many tasks of one priority a watcher's spread may reorder: with 8 watchers, about 6 of 8 first picks differ. */
export const SPREAD_WINDOW = 16;

/**
 * FNV-1a (32 bit) of node and task id with murmur3's final mix (so that ids differing in their last characters
 * still rank apart): stable across processes and versions, and cheap.
 */
export function spreadHash(node: string, id: string): number {
  let h = 0x811c9dc5;
  const s = `${node}\0${id}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** The path of the open claim when its file does not parse (or is not a file): it holds the task (PROTOCOL.md §4). */
export function unreadableHolder(view: Pick<TaskView, 'id' | 'claim' | 'files'>): string | null {
  // A claim of a newer protocol is not unreadable to the node that wrote it: that node holds the task.
  if (!view.claim || view.claim.node !== null || view.claim.newer !== undefined) return null;
  return view.files.claims.get(view.claim.attempt)?.path ?? `claims/${view.id}.${view.claim.attempt}.md`;
}

/** Who holds a claimed task, in words: its node, or the claim file that holds it without naming one. */
export function holderText(view: Pick<TaskView, 'id' | 'claim' | 'files'>): string {
  const path = unreadableHolder(view);
  if (path) return `held by ${path}, which does not parse (it takes attempt ${view.claim?.attempt}; "gitbus lint" says why)`;
  if (view.claim?.newer !== undefined) return `claimed by a node of a newer gitbus (its claim is for protocol ${view.claim.newer})`;
  return `claimed by ${view.claim?.node ?? 'an unknown node'}`;
}

/** What a person does about a claim file that holds a task and names no node, which no node can give back. */
export function unreadableHolderFix(view: Pick<TaskView, 'id' | 'claim' | 'files'>): string {
  return `a person fixes or removes ${unreadableHolder(view) ?? 'the claim file'} in the bus repository (git rm, commit, push); then it can be claimed; or end it with "gitbus cancel ${view.id}"`;
}

const POLICY_REFUSES = 'its policy refuses it';

/** What a node card says of the node's will, as noTaker reads it. */
export interface CardFacts {
  node: string;
  /** False when the node's card is missing or does not parse: it says nothing about the node. */
  readable?: boolean;
  labels?: readonly string[];
  runners?: readonly string[];
  /** What its policy refuses, as its card publishes it (judged by cardRefusal). */
  policy?: NodeCard['policy'];
  projectsOnly?: NodeCard['projectsOnly'];
  /** Why this node's trust ignores the node's card as forged: what the node writes does not count here either. */
  untrusted?: string;
}

/**
 * Why no node on the bus can take a pending task, by their cards (the runners each watcher found its program for,
 * its labels, what its policy refuses), or null when one can or when there are no cards to judge by. What `status`
 * shows under a task that would otherwise sit `pending` with nothing said: addressed to a node that does not offer
 * its runner (its program is missing there), needing labels nobody has, or refused by every node's policy as far as
 * the task's `repo`, runner, labels and address tell (a project repo no card's `policy.repos` or `projectsOnly`
 * admits): judged by cardRefusal, as the claim ranking judges it. Not a timeout or budget over every node's limit:
 * status's task summaries carry neither, so a task refused only for them is not said here. A manual task that a node
 * may take is taken by no watcher either: that it waits for a person or an agent is said too (manualWaits). Pure.
 */
export function noTaker(h: Pick<Handoff, 'to' | 'labels' | 'runner' | 'command'> & PolicyTask, cards: readonly CardFacts[]): string | null {
  if (cards.length === 0) return null;
  const runner = effectiveRunner(h);
  const candidates = h.to ? cards.filter((c) => c.node === h.to) : cards;
  if (candidates.length === 0) return `node ${h.to} is not on the bus`;
  const manual = () => (runner === 'manual' ? manualWaits(h.to, h.to ? candidates[0]?.runners : undefined) : null);
  // A node whose card cannot be read may well take it (as dispatch's target check judges it).
  if (candidates.some((c) => c.readable === false)) return manual();
  const reasons = candidates.map((c) => whyNotByCard(h, runner, c));
  // A card lets its node take it; a manual task is still taken by no watcher, but by a person or an agent.
  if (reasons.some((r) => r === null)) return manual();
  const first = reasons[0] ?? '';
  if (h.to) {
    // Its runners are what its watcher found the programs for ("gitbus doctor" there says what is missing). A policy
    // refusal names its field and limit; addressed to the node, its watcher answers the task failed with it.
    const hint = candidates[0]?.untrusted !== undefined ? '' : first.startsWith(POLICY_REFUSES) ? '; its watcher answers it failed' : ' (its card; "gitbus doctor" on it says why)';
    return `node ${h.to} cannot take it: ${first}${hint}`;
  }
  return `no node can take it: ${candidates.map((c, i) => `${c.node}: ${reasons[i] ?? ''}`).slice(0, 3).join('; ')}${candidates.length > 3 ? '; ...' : ''}`;
}

/** Why node `c`'s card does not let it take the task (its trust, runners, labels, policy); null when it does. Pure. */
function whyNotByCard(h: Pick<Handoff, 'labels'> & PolicyTask, runner: string, c: CardFacts): string | null {
  if (c.untrusted !== undefined) return `its card is not trusted on this node, so neither is what it claims (${c.untrusted})`;
  if (c.runners && !c.runners.includes(runner)) return `it does not offer the ${runner} runner`;
  const missing = (h.labels ?? []).filter((l) => !(c.labels ?? []).includes(l));
  if (missing.length > 0) return `it lacks label(s) ${missing.join(', ')}`;
  const refused = cardRefusal(c, h, c.node);
  return refused ? `${POLICY_REFUSES} (${refused.reason})` : null;
}

/**
 * The nodes whose watcher may take the task by their cards (as noTaker judges them; a card that cannot be read may),
 * in the cards' order: none for a manual task, which no watcher takes. Whether those nodes run is not a card's to
 * say (bus/model/takers-down.ts). Pure.
 */
export function cardTakers(h: Pick<Handoff, 'to' | 'labels' | 'runner' | 'command'> & PolicyTask, cards: readonly CardFacts[]): string[] {
  const runner = effectiveRunner(h);
  if (runner === 'manual') return [];
  return cards.filter((c) => (!h.to || c.node === h.to) && (c.readable === false || whyNotByCard(h, runner, c) === null)).map((c) => c.node);
}
