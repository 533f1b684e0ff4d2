import { describe, it, expect } from 'vitest';
import { eligibility, mayEverClaim, notForThisNode, type NodeFacts } from '../../bus/model/planner.js';
import type { TaskView } from '../../bus/model/task-view.js';
import type { Handoff } from '../../schemas/handoff.js';

const view = (handoff: Partial<Handoff>, state: TaskView['state'] = 'pending'): TaskView => ({
  id: 't1',
  state,
  handoff: { id: 't1', title: 't', from: 'boss', created: '2026-11-01T00:00:00Z', command: 'true', ...handoff } as Handoff,
  attempts: 0,
  waitingFor: [],
  waitingOn: [],
  problems: [],
  files: { id: 't1', claims: new Map(), releases: new Map() },
});

/**
 * claim --next rules tasks out with notForThisNode before building their views (bus/ops/claim.ts): that is sound
 * only if a task it rules out is one eligibility refuses too, in every state, and for the same reason.
 */
describe('notForThisNode', () => {
  const handoffs: Partial<Handoff>[] = [{}, { to: 'w' }, { to: 'other' }, { labels: ['gpu'] }, { labels: ['cpu'] }, { labels: ['cpu', 'gpu'] }, { runner: 'claude', command: undefined }, { to: 'other', labels: ['gpu'] }];
  const nodes: NodeFacts[] = [
    { node: 'w', labels: ['cpu'] },
    { node: 'w', labels: ['cpu'], runners: ['shell'] },
    { node: 'other', labels: ['gpu', 'cpu'], runners: ['shell', 'claude'] },
  ];
  it('rules out only tasks eligibility refuses, in every state, with eligibility\'s reason for a pending task', () => {
    let ruledOut = 0;
    for (const h of handoffs) {
      for (const who of nodes) {
        const verdict = notForThisNode(view(h).handoff as Handoff, who);
        const pending = eligibility(view(h), who, 3);
        if (verdict) {
          ruledOut++;
          expect(pending.ok, JSON.stringify({ h, who })).toBe(false);
          expect(pending.reason).toBe(verdict.reason);
          for (const state of ['blocked', 'claimed', 'scheduled', 'succeeded'] as const) expect(eligibility(view(h, state), who, 3).ok).toBe(false);
        } else {
          expect(pending.ok, JSON.stringify({ h, who })).toBe(true);
        }
      }
    }
    expect(ruledOut).toBeGreaterThan(5);
  });

  it('agrees with mayEverClaim, its reason-free form that claim --next asks of every pending handoff', () => {
    for (const h of handoffs) for (const who of nodes) expect(mayEverClaim(view(h).handoff as Handoff, who), JSON.stringify({ h, who })).toBe(notForThisNode(view(h).handoff as Handoff, who) === null);
  });
});
