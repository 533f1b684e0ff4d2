import { describe, it, expect } from 'vitest';
import { doomedByDependencies, type DependencyState } from '../../bus/model/dependencies.js';

const states = (m: Record<string, DependencyState>) => (id: string): DependencyState => m[id] ?? 'unknown';

describe('a task whose dependency ended without success', () => {
  it('is doomed with the reason, and a chain falls together in one decision', () => {
    const doomed = doomedByDependencies(
      [
        { id: 'c', after: ['b'] },
        { id: 'b', after: ['a'] },
      ],
      states({ a: 'failed', b: 'blocked' }),
    );
    expect(doomed).toEqual(
      new Map([
        ['b', 'dependency a failed'],
        ['c', 'dependency b was cancelled: dependency a failed'],
      ]),
    );
  });

  it('names cancelled and timed-out dependencies as such', () => {
    const doomed = doomedByDependencies([{ id: 'x', after: ['p'] }, { id: 'y', after: ['q'] }], states({ p: 'cancelled', q: 'timed-out' }));
    expect(doomed.get('x')).toBe('dependency p was cancelled');
    expect(doomed.get('y')).toBe('dependency q timed out');
  });

  it('leaves alone waits that may still end well: pending, running, invalid, unknown, newer protocol', () => {
    for (const s of ['pending', 'blocked', 'claimed', 'cancelling', 'invalid', 'unknown', 'unsupported', 'scheduled'] as const) {
      expect(doomedByDependencies([{ id: 't', after: ['d'] }], states({ d: s })).size).toBe(0);
    }
  });

  it('one dead dependency among several is enough', () => {
    expect(doomedByDependencies([{ id: 't', after: ['ok', 'bad'] }], states({ ok: 'succeeded', bad: 'failed' })).get('t')).toBe('dependency bad failed');
  });
});
