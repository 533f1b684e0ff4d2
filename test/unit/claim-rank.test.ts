import { describe, expect, it } from 'vitest';
import { ableNodes, claimRank, claimTurn, rankOf, rankStepMs, turnDeadline, RANK_STEP_MAX_MS, RANK_STEP_MIN_MS, type RankNode } from '../../bus/model/claim-rank.js';

const node = (name: string, extra: Partial<RankNode> = {}): RankNode => ({ node: name, live: true, holding: 0, card: { runners: ['shell'], labels: [], parallel: 1 }, ...extra });
const fleet = Array.from({ length: 6 }, (_, i) => node(`w${i}`));
const shell = { command: 'true' };
const ids = Array.from({ length: 200 }, (_, i) => `20261130-120000-t${i}`);

describe('claim ranking (rendezvous hashing)', () => {
  it('gives every node a different rank for a task, the same whichever node computes them', () => {
    for (const id of ids) {
      // Each node computes from its own copy of the same snapshot, listed in its own order.
      const ranks = fleet.map((n) => claimRank(id, shell, [...fleet].reverse(), n.node));
      expect([...ranks].sort()).toEqual([0, 1, 2, 3, 4, 5]);
      expect(fleet.map((n) => claimRank(id, shell, fleet, n.node))).toEqual(ranks);
    }
  });

  it('spreads rank 0 over the nodes', () => {
    const firsts = new Map<string, number>();
    for (const id of ids) {
      const first = fleet.find((n) => claimRank(id, shell, fleet, n.node) === 0)?.node ?? '';
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }
    expect(firsts.size).toBe(6);
    for (const n of firsts.values()) expect(n).toBeGreaterThan(10);
  });

  it('leaves out dead nodes, full nodes and nodes whose card cannot run the task', () => {
    const nodes = [
      node('a'),
      node('dead', { live: false }),
      node('full', { holding: 2, card: { runners: ['shell'], parallel: 2 } }),
      node('roomy', { holding: 1, card: { runners: ['shell'], parallel: 2 } }),
      node('claudeonly', { card: { runners: ['claude'] } }),
      node('gpu', { card: { runners: ['shell'], labels: ['gpu'] } }),
      { node: 'nocard', live: true, holding: 0 },
      { node: 'nocard-busy', live: true, holding: 1 },
    ];
    expect(ableNodes(shell, nodes, 'a')).toEqual(['a', 'gpu', 'nocard', 'roomy']);
    // This node too is judged by its card, as the others judge it: without the label, it is not in the set.
    expect(ableNodes({ ...shell, labels: ['gpu'] }, nodes, 'a')).toEqual(['gpu', 'nocard']);
    // It is in the set when the snapshot does not know it yet (no card to judge it by), or shows it dead or full.
    expect(ableNodes(shell, nodes, 'newcomer')).toContain('newcomer');
    expect(ableNodes(shell, nodes, 'dead')).toContain('dead');
    expect(ableNodes(shell, nodes, 'full')).toContain('full');
  });

  it("leaves out nodes whose card's policy refuses the task, judged as each node judges it before its claim", () => {
    const nodes = [
      node('a'),
      node('onlyapp', { card: { runners: ['manual', 'shell'], policy: { repos: ['https://host/o/app.git'] } } }),
      node('projects', { card: { runners: ['manual', 'shell'], projectsOnly: ['web', 'https://host/o/web.git'] } }),
      node('short', { card: { runners: ['manual', 'shell'], policy: { maxTimeout: '10m' } } }),
    ];
    const repo = (r: string) => ({ ...shell, repo: r });
    expect(ableNodes(repo('https://host/o/app.git'), nodes, 'a')).toEqual(['a', 'onlyapp', 'short']);
    expect(ableNodes(repo('https://host/o/web.git'), nodes, 'a')).toEqual(['a', 'projects', 'short']);
    expect(ableNodes({ ...shell, timeout: '1h' }, nodes, 'a')).toEqual(['a', 'onlyapp', 'projects']);
    // A bare project name means what only each node knows: a repos pattern decides nothing from the card.
    expect(ableNodes(repo('app'), nodes, 'a')).toEqual(['a', 'onlyapp', 'short']);
    // A manual task runs nothing on a node: no policy refuses it ('a' offers no manual runner on its card).
    expect(ableNodes({ runner: 'manual', repo: 'https://host/o/other.git', timeout: '1h' }, nodes, 'a')).toEqual(['onlyapp', 'projects', 'short']);
    // This node is judged by its own card too, as every other node judges it, so that all compute one set.
    expect(ableNodes({ ...shell, timeout: '1h' }, nodes, 'short')).not.toContain('short');
    expect(ableNodes({ ...shell, timeout: '1h' }, nodes, 'short', false)).not.toContain('short');
  });

  it('ranks first for a task the node that takes it, not a node ranked before it whose card refuses it', () => {
    const two = [node('refuses', { card: { runners: ['shell'], policy: { repos: ['https://host/o/app.git'] } } }), node('takes')];
    const task = { ...shell, repo: 'https://host/o/other.git' };
    const plain = [node('refuses'), node('takes')];
    // Ids for which the refusing node would rank first were its refusal not weighed.
    const before = ids.filter((id) => claimRank(id, task, plain, 'refuses') === 0);
    expect(before.length).toBeGreaterThan(50);
    for (const id of before) {
      expect(claimRank(id, task, plain, 'takes')).toBe(1);
      expect(claimRank(id, task, two, 'takes')).toBe(0);
    }
    // Nor does it take a turn ahead of the node that takes the task: that node is the only claimer, with no turn to wait.
    const pending = before.slice(0, 4).map((id) => ({ id, task }));
    expect(claimTurn(pending, two, 'takes')).toBe(0);
    expect(claimTurn(pending, plain, 'takes')).toBe(1);
  });

  it('ranks a node whose own card refuses a task its node.yaml takes after every node its card view finds able, as the others rank it', () => {
    // The card publishes a list that refuses what node.yaml takes (a card of an older gitbus, a list too long to
    // publish whole and cut by an older build): the other nodes leave 'odd' out.
    const odd = node('odd', { card: { runners: ['shell'], policy: { repos: ['https://host/o/app.git'] } } });
    const task = { ...shell, repo: 'https://host/o/other.git' };
    const nodes = [odd, node('b'), node('c'), node('d', { live: false })];
    for (const id of ids.slice(0, 50)) {
      // Every node computes one able list, 'odd' on none of them.
      for (const self of ['b', 'c']) expect(ableNodes(task, nodes, self)).toEqual(['b', 'c']);
      expect(ableNodes(task, nodes, 'odd')).toEqual(['b', 'c']);
      // 'odd' comes after both, and the two ranks the others hold are 0 and 1, as without 'odd'.
      expect(claimRank(id, task, nodes, 'odd')).toBe(2);
      expect(['b', 'c'].map((n) => claimRank(id, task, nodes, n)).sort()).toEqual([0, 1]);
    }
    // Alone, it is at once first: a task no other node takes does not wait.
    expect(claimRank(ids[0] ?? '', task, [odd], 'odd')).toBe(0);
  });

  it('gives a task addressed to one node that node alone, at rank 0', () => {
    expect(ableNodes({ ...shell, to: 'w3' }, fleet, 'w3')).toEqual(['w3']);
    for (const id of ids.slice(0, 20)) expect(claimRank(id, { ...shell, to: 'w3' }, fleet, 'w3')).toBe(0);
  });

  it('is rank 0 for a lone node, and ties in the hash go by name', () => {
    expect(claimRank('x', shell, [], 'solo')).toBe(0);
    expect(rankOf('x', ['solo'], 'solo')).toBe(0);
    expect(rankOf('x', ['a', 'a'], 'a')).toBe(0);
  });
});

describe('claim turns (one ref: claimers first for different tasks take turns)', () => {
  const pending = ids.slice(0, 4).map((id) => ({ id, task: shell }));
  it('gives each node first for some task its own turn, the same on every node, and the others come after', () => {
    const turns = fleet.map((n) => claimTurn(pending, [...fleet].reverse(), n.node));
    const leaders = fleet.filter((n) => pending.some((p) => claimRank(p.id, shell, fleet, n.node) === 0)).map((n) => n.node);
    const leaderTurns = fleet.filter((n) => leaders.includes(n.node)).map((n) => claimTurn(pending, fleet, n.node));
    expect([...leaderTurns].sort()).toEqual(Array.from({ length: leaders.length }, (_, i) => i));
    for (const [i, n] of fleet.entries()) if (!leaders.includes(n.node)) expect(turns[i]).toBe(leaders.length);
    // The node first for the head of the queue goes first.
    const head = fleet.find((n) => claimRank(pending[0]?.id ?? '', shell, fleet, n.node) === 0)?.node ?? '';
    expect(claimTurn(pending, fleet, head)).toBe(0);
  });

  it('lets nobody wait for a turn when every able node is first for a task of its own (more work than idle nodes)', () => {
    const deep = ids.slice(0, 60).map((id) => ({ id, task: shell }));
    expect(fleet.map((n) => claimTurn(deep, fleet, n.node))).toEqual(fleet.map(() => 0));
  });

  it('moves the next claimer up once the claims ahead of it have landed', () => {
    const head = fleet.find((n) => claimRank(pending[0]?.id ?? '', shell, fleet, n.node) === 0)?.node ?? '';
    const second = fleet.find((n) => claimTurn(pending, fleet, n.node) === 1)?.node ?? '';
    // The head's claim landed: its task is no longer pending and the node holds its one slot.
    const after = fleet.map((n) => (n.node === head ? { ...n, holding: 1 } : n));
    expect(claimTurn(pending, fleet, second)).toBe(1);
    expect(claimTurn(pending.slice(1), after, second)).toBe(0);
    // Full now, the head is first for nothing and comes after every claimer.
    expect(claimTurn(pending.slice(1), after, head)).toBeGreaterThan(0);
  });
});

describe('rank deadlines', () => {
  it('lets rank k in turn t claim (k + t) steps after the task was first seen', () => {
    expect(turnDeadline(1000, 0, 0, 0, 300)).toBe(1000);
    expect(turnDeadline(1000, 0, 2, 0, 300)).toBe(1600);
    expect(turnDeadline(1000, 0, 1, 1, 300)).toBe(1600);
  });

  it('restarts the clock when main moves before the deadline, at most once', () => {
    // main moved at 1200 (a claim landed): the wait counts from there.
    expect(turnDeadline(1000, 1200, 1, 0, 300)).toBe(1500);
    // A move after the first deadline does not put the claim off again: a bus that keeps changing cannot starve it.
    expect(turnDeadline(1000, 5000, 1, 0, 300)).toBe(1600);
  });

  it('takes the step as twice a median look plus a median claim, clamped', () => {
    expect(rankStepMs([])).toBe(RANK_STEP_MIN_MS);
    expect(rankStepMs([40, 10, 5000], [100, 120, 30])).toBe(2 * (40 + 100));
    // Before any claim of its own, a claim counts as two looks.
    expect(rankStepMs([30, 50])).toBe(2 * (40 + 80));
    expect(rankStepMs([1], [2])).toBe(RANK_STEP_MIN_MS);
    expect(rankStepMs([9000, 9000])).toBe(RANK_STEP_MAX_MS);
  });
});
