import type { Handoff } from '../../schemas/handoff.js';
import { cardTakers, noTaker, type CardFacts } from '../model/planner.js';
import { takersDownText, type NodeDown } from '../model/takers-down.js';
import type { AlsoFill } from './status-tasks-json.js';
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

/**
 * takersDown for status's tasks (bus/model/takers-down.ts): why a pending task whose cards let nodes take it waits all
 * the same, every such node being down (`down`: the nodes status shows stopped, silent or with no watcher), worked
 * out once per address, runner, repo and labels as noTakerOf is. Of the moment: the heartbeats decide it, not the commit.
 */
export function takersDownOf(cards: readonly CardFacts[], down: ReadonlyMap<string, NodeDown>, now: number): (t: TakerFacts) => string | null {
  if (down.size === 0) return () => null;
  const memo = new Map<string, string | null>();
  return (t) => {
    const key = JSON.stringify([t.to, t.runner, t.repo, t.labels]);
    let why = memo.get(key);
    if (why === undefined) {
      const takers = cardTakers({ ...(t.to ? { to: t.to } : {}), labels: t.labels, ...(t.runner ? { runner: t.runner as Handoff['runner'] } : {}), ...(t.repo !== null ? { repo: t.repo } : {}) }, cards);
      memo.set(key, (why = takersDownText(takers, t.to !== null, down, now)));
    }
    return why;
  };
}

/** Sets `takersDown` on a pending task that no node's card rules out and whose takers are all down; takes it off any other. */
export function setTakersDown(t: StatusTask, why: (t: TakerFacts) => string | null): void {
  const down = t.state === 'pending' && !t.noTaker && !t.exhausted ? why(t) : null;
  if (down) t.takersDown = down;
  else delete t.takersDown;
}

/**
 * Which lines of a digest's summaries `status --json` fills in for takersDown (status-tasks-json.ts AlsoFill), without
 * parsing every pending task's: those addressed to a node that is down, and those that an up node whose card refuses
 * nothing by policy cannot take, which need a runner or a label it lacks that a down node has (a task whose every
 * taker is down is one of these). Every pending task's when no up node is such a node, or too many needles would be
 * looked for. A superset: fill decides each line it is given. Pure.
 */
export function takersDownLines(cards: readonly CardFacts[], down: ReadonlySet<string>): AlsoFill {
  if (down.size === 0) return { needles: [], allPending: false };
  const needles = [...down].map((n) => `,"to":${JSON.stringify(n)},"labels":`);
  // The nodes whose cards may let them take a task of some runner a watcher runs (a card that cannot be read may).
  const able = cards.filter((c) => c.untrusted === undefined && (c.readable === false || c.runners === undefined || c.runners.some((r) => r !== 'manual')));
  const downAble = able.filter((c) => down.has(c.node));
  const up = able.filter((c) => !down.has(c.node));
  // Nothing unaddressed waits on down nodes alone when none can take it, or an up node's unreadable card may.
  if (downAble.length === 0 || up.some((c) => c.readable === false)) return asBytes(needles, false);
  if (downAble.some((c) => c.readable === false || c.runners === undefined)) return asBytes(needles, true);
  const runners = new Set(downAble.flatMap((c) => c.runners ?? []).filter((r) => r !== 'manual'));
  const labels = new Set(downAble.flatMap((c) => c.labels ?? []));
  let best: string[] | null = null;
  for (const u of up) {
    if (u.policy !== undefined || u.projectsOnly !== undefined) continue;
    const lacks = [...[...runners].filter((r) => u.runners !== undefined && !u.runners.includes(r)).map((r) => `"runner":${JSON.stringify(r)}`), ...[...labels].filter((l) => !(u.labels ?? []).includes(l)).map((l) => JSON.stringify(l))];
    if (best === null || lacks.length < best.length) best = lacks;
  }
  if (best === null || best.length > MAX_NEEDLES) return asBytes(needles, true);
  return asBytes([...needles, ...best], false);
}

/** More needles than this are as many passes over a payload of megabytes: every pending line is parsed instead. */
const MAX_NEEDLES = 16;

function asBytes(needles: readonly string[], allPending: boolean): AlsoFill {
  return { needles: needles.map((n) => Buffer.from(n, 'utf8')), allPending };
}
