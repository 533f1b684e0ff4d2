import type { Handoff } from '../../schemas/handoff.js';
import { noTaker, type CardFacts } from '../model/planner.js';
import type { NodeView } from '../model/snapshot.js';
import type { ForgedFile } from '../model/types.js';
import type { StatusTask } from './status-core.js';
import type { TaskSummary } from './task-summary.js';

/** What noTaker judges a pending task by: its address, labels, runner and repo. */
export type TakerFacts = Pick<TaskSummary, 'to' | 'labels' | 'runner' | 'repo'>;

/**
 * The cards status judges pending tasks by (planner.ts noTaker): each node's, and a card taken out as forged (a node
 * that rotated its key, not listed yet) as a node that is there but not trusted here. Pure.
 */
export function takerCards(nodes: readonly NodeView[], forged: readonly ForgedFile[]): CardFacts[] {
  const cards: CardFacts[] = nodes.map((n) => (n.card ? { node: n.node, ...(n.card.labels ? { labels: n.card.labels } : {}), ...(n.card.runners ? { runners: n.card.runners } : {}), ...(n.card.policy ? { policy: n.card.policy } : {}), ...(n.card.projectsOnly ? { projectsOnly: n.card.projectsOnly } : {}) } : { node: n.node, readable: false }));
  for (const f of forged) if (f.kind === 'node' && f.node !== null && !cards.some((c) => c.node === f.node)) cards.push({ node: f.node, untrusted: f.reason });
  return cards;
}

/**
 * noTaker for status's tasks, worked out once per address, runner, repo and labels: `status --json` lists every task,
 * and 5,000 pending tasks share a handful of those (issue 14).
 */
export function noTakerOf(cards: readonly CardFacts[]): (t: TakerFacts) => string | null {
  const memo = new Map<string, string | null>();
  return (t) => {
    const key = JSON.stringify([t.to, t.runner, t.repo, t.labels]);
    let why = memo.get(key);
    if (why === undefined) memo.set(key, (why = noTaker({ ...(t.to ? { to: t.to } : {}), labels: t.labels, ...(t.runner ? { runner: t.runner as Handoff['runner'] } : {}), ...(t.repo !== null ? { repo: t.repo } : {}) }, cards)));
    return why;
  };
}

/**
 * Sets `noTaker` on a pending task no node can take, and takes it off any other (the task changed in place). What a
 * status digest's summaries carry: a function of the commit, since its cards are.
 */
export function setNoTaker(t: StatusTask, why: (t: TakerFacts) => string | null): void {
  const nobody = t.state === 'pending' ? why(t) : null;
  if (nobody) t.noTaker = nobody;
  else delete t.noTaker;
}
