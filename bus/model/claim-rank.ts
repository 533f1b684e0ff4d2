import { type Handoff } from '../../schemas/handoff.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import type { NodeCard } from '../../schemas/node-card.js';
import { cardRefusal, type PolicyTask } from './node-policy.js';
import { spreadHash } from './planner.js';

/**
 * Rendezvous ranking of claims (docs/PROTOCOL.md §5, "Who claims first"): for each pending task every watcher
 * computes, from the same snapshot and without talking, the same order of the nodes able to claim it. The node
 * ranked k waits k steps before it claims, so a task is usually claimed by its first node alone instead of by
 * every watcher that saw it at once. Pure.
 */

/** What the ranking knows of one node on the bus. */
export interface RankNode {
  node: string;
  /** Its heartbeat is not silent (a node marking presence rarely, `idle`, counts as live). */
  live: boolean;
  /**
   * What its node card offers, and what its policy refuses (docs/PROTOCOL.md §6); undefined: no readable card, so
   * it is assumed able to run anything.
   */
  card?: Pick<NodeCard, 'labels' | 'runners' | 'parallel' | 'policy' | 'projectsOnly'>;
  /** Open claims it holds in the snapshot. */
  holding: number;
}

/** What of a task decides which nodes could claim it: runner, labels, address, and what a card's policy judges. */
export type RankedTask = Pick<Handoff, 'runner' | 'command' | 'labels' | 'to'> & PolicyTask;

/** Ranks below this schedule a wake of their own at their deadline; higher ranks claim only on their ordinary wakes. */
export const RANK_WINDOW = 3;
/** Bounds of one rank step (the node's measured remote round trip). */
export const RANK_STEP_MIN_MS = 50;
export const RANK_STEP_MAX_MS = 2000;

/**
 * The nodes that could claim `task` now: live, with a card (if any) offering the task's runner and labels, and a
 * free slot (card `parallel`, else 1, minus the claims it holds), and whose card's policy does not refuse the task
 * (cardRefusal: the verdict the node itself reaches before its claim, so a node that leaves the task for others
 * does not hold back the one that takes it by a rank step). `self` is among them whatever the snapshot says of its
 * liveness and slots (it is claiming now), but only when its own card does not turn the task down: every other
 * node judges it by that card, so judging itself by it too keeps the able list the same on every node. A task
 * addressed to one node (`to`) has that node alone. Sorted by name. `includeSelf` false: `self` only as the
 * snapshot shows it, like any other node (what the fleet's turns are computed from, so that every node computes
 * the same).
 */
export function ableNodes(task: RankedTask | undefined, nodes: readonly RankNode[], self: string, includeSelf = true): string[] {
  if (task?.to) return [task.to];
  const out = new Set<string>();
  let selfSeen = false;
  for (const n of nodes) {
    if (includeSelf && n.node === self) {
      selfSeen = true;
      if (!n.card || cardTakes(n.card, task, n.node)) out.add(self);
      continue;
    }
    if (!n.live) continue;
    if (n.card && !cardTakes(n.card, task, n.node)) continue;
    if ((n.card?.parallel ?? 1) - n.holding <= 0) continue;
    out.add(n.node);
  }
  // Not in the snapshot yet (no card, no heartbeat): nobody judges it by a card, so nor does it.
  if (includeSelf && !selfSeen) out.add(self);
  return [...out].sort();
}

/** Whether a node's card offers `task`'s runner and labels and its policy does not refuse it. Pure. */
function cardTakes(c: NonNullable<RankNode['card']>, task: RankedTask | undefined, node: string): boolean {
  if (!task) return true;
  const runner = effectiveRunner(task);
  if (c.runners && !c.runners.includes(runner)) return false;
  if ((task.labels ?? []).some((l) => !(c.labels ?? []).includes(l))) return false;
  return cardRefusal(c, task, node) === null;
}

/**
 * `self`'s rank for task `id` among `able` (ableNodes): how many of them have a lower spreadHash(node, id), ties
 * broken by name. Every node computes the same ranks from the same snapshot. 0 when `self` is not among them.
 */
export function rankOf(id: string, able: readonly string[], self: string): number {
  const mine = spreadHash(self, id);
  let rank = 0;
  for (const n of able) {
    if (n === self) continue;
    const h = spreadHash(n, id);
    if (h < mine || (h === mine && n < self)) rank++;
  }
  return rank;
}

/**
 * `self`'s rank for a task (ableNodes, then rankOf). When its own card turns the task down while its node.yaml takes
 * it (the node knows more than its card says: what a bare project name means there, a list too long for the card)
 * it ranks after every node the card view finds able, where the other nodes, which leave it out, do not expect it;
 * it still claims when that turn comes, so a task no other node takes is not left waiting.
 */
export function claimRank(id: string, task: RankedTask | undefined, nodes: readonly RankNode[], self: string): number {
  const able = ableNodes(task, nodes, self);
  return able.includes(self) ? rankOf(id, able, self) : able.length;
}

/** A pending task as the ranking sees it. */
export interface PendingTask {
  id: string;
  task: RankedTask | undefined;
}

/**
 * `self`'s turn among the fleet's claimers: every claim is a push to the one ref main, so nodes that are each first
 * for a different task would still race one another if they pushed at once. The nodes ranked first for some
 * pending task (`pending` in queue order) take turns in the order of the best task they are first for; `self`'s
 * turn is its place in that order, or the number of such nodes when it is first for none (it comes after them all).
 * As the claims land, the claimers ahead of a node drop out (their tasks are no longer pending) and its turn comes.
 * When every able node is first for some task (more work than idle nodes), nobody waits for a turn (0). Every node
 * computes the same turns from the same snapshot.
 */
export function claimTurn(pending: readonly PendingTask[], nodes: readonly RankNode[], self: string): number {
  const leaders: string[] = [];
  const claimers = new Set<string>();
  for (const p of pending) {
    const able = ableNodes(p.task, nodes, self, false);
    let first: string | undefined;
    let best = Number.POSITIVE_INFINITY;
    for (const n of able) {
      const h = spreadHash(n, p.id);
      if (h < best || (h === best && first !== undefined && n < first)) {
        best = h;
        first = n;
      }
    }
    if (first !== undefined && !leaders.includes(first)) leaders.push(first);
    for (const n of able) claimers.add(n);
  }
  // Every able node is first for a task of its own (the queue is deeper than the idle fleet): there is no herd to
  // hold back, they would all claim anyway, and taking turns would only add latency.
  if (leaders.length >= claimers.size) return 0;
  const at = leaders.indexOf(self);
  return at === -1 ? leaders.length : at;
}

/**
 * When a node ranked `rank` for a task, in its `turn`, may claim it: (rank + turn) steps after it first saw the
 * task pending (`firstSeenMs`), the clock restarting when it sees main move (`changedMs`: a claim landed, and the
 * turns ahead have moved on) — but only for a move seen before the first deadline, so a bus that keeps changing
 * delays a claim at most twice the wait, and a task whose first nodes are dead is still claimed.
 */
export function turnDeadline(firstSeenMs: number, changedMs: number, rank: number, turn: number, stepMs: number): number {
  const wait = (rank + turn) * stepMs;
  return Math.max(firstSeenMs, Math.min(changedMs, firstSeenMs + wait)) + wait;
}

/**
 * One rank step (ms): how long the node ranked before this one needs for its claim to be seen here, i.e. its
 * claim's way to the remote (a fetch and a push) and this node's next look at it (a listing, a fetch). Estimated
 * from this node's own recent operations: twice the median claim plus the median look (before it has claimed, a
 * claim is taken as two looks). Clamped to [RANK_STEP_MIN_MS, RANK_STEP_MAX_MS].
 */
export function rankStepMs(looks: readonly number[], claims: readonly number[] = []): number {
  const look = median(looks) ?? 0;
  // Twice the estimate: a claim whose deadline passes while the one before it is still on its way races it.
  const step = 2 * (look + (median(claims) ?? 2 * look));
  return Math.min(RANK_STEP_MAX_MS, Math.max(RANK_STEP_MIN_MS, step));
}

function median(samples: readonly number[]): number | null {
  if (samples.length === 0) return null;
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}
