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
    for (const s of ['pending', 'blocked', 'claimed', 'cancelling', 'invalid', 'unknown', 'unsupported'] as const) {
      expect(doomedByDependencies([{ id: 't', after: ['d'] }], states({ d: s })).size).toBe(0);
    }
  });

  it('names a schedule template as a dependency that never ends, and a chain after it falls with it', () => {
    const doomed = doomedByDependencies([{ id: 'x', after: ['nightly'] }, { id: 'y', after: ['x'] }], states({ nightly: 'scheduled', x: 'blocked' }));
    expect(doomed.get('x')).toBe('dependency nightly is a schedule template, which never ends');
    expect(doomed.get('y')).toBe('dependency x was cancelled: dependency nightly is a schedule template, which never ends');
  });

  it('carries the root cause on from a dependency this rule cancelled in an earlier commit, not from a person\'s cancel', () => {
    const reasons: Record<string, string> = {
      b: 'dependency a failed',
      r: 'its dependencies form a cycle (r -> s -> r)',
      c: 'dependency b was cancelled: dependency a failed',
      p: 'no longer needed',
    };
    const doomed = doomedByDependencies(
      [{ id: 'x', after: ['b'] }, { id: 'y', after: ['r'] }, { id: 'z', after: ['c'] }, { id: 'w', after: ['p'] }],
      states({ b: 'cancelled', r: 'cancelled', c: 'cancelled', p: 'cancelled' }),
      (id) => reasons[id],
    );
    expect(doomed).toEqual(
      new Map([
        ['x', 'dependency b was cancelled: dependency a failed'],
        ['y', 'dependency r was cancelled: its dependencies form a cycle (r -> s -> r)'],
        ['z', 'dependency c was cancelled: dependency a failed'],
        ['w', 'dependency p was cancelled'],
      ]),
    );
  });

  it('one dead dependency among several is enough', () => {
    expect(doomedByDependencies([{ id: 't', after: ['ok', 'bad'] }], states({ ok: 'succeeded', bad: 'failed' })).get('t')).toBe('dependency bad failed');
  });
});

describe('blocked tasks waiting on each other in a ring', () => {
  it('are doomed, each with its ring, and a task waiting on the ring falls with it', () => {
    const doomed = doomedByDependencies(
      [
        { id: 'a', after: ['b'] },
        { id: 'b', after: ['c', 'ok'] },
        { id: 'c', after: ['a'] },
        { id: 'outside', after: ['b'] },
        { id: 'fine', after: ['ok'] },
      ],
      states({ a: 'blocked', b: 'blocked', c: 'blocked', ok: 'pending' }),
    );
    expect(doomed.get('a')).toBe('its dependencies form a cycle (a -> b -> c -> a)');
    expect(doomed.get('b')).toBe('its dependencies form a cycle (b -> c -> a -> b)');
    expect(doomed.get('c')).toBe('its dependencies form a cycle (c -> a -> b -> c)');
    expect(doomed.get('outside')).toBe('dependency b was cancelled: its dependencies form a cycle (b -> c -> a -> b)');
    expect(doomed.has('fine')).toBe(false);
  });

  it('a ring of two, and a chain into a ring: only what waits on the ring', () => {
    const doomed = doomedByDependencies(
      [
        { id: 'x', after: ['y'] },
        { id: 'y', after: ['x'] },
        { id: 'p', after: ['q'] },
        { id: 'q', after: ['r'] },
      ],
      states({ x: 'blocked', y: 'blocked', q: 'blocked', r: 'running' as DependencyState }),
    );
    expect([...doomed.keys()].sort()).toEqual(['x', 'y']);
    expect(doomed.get('x')).toBe('its dependencies form a cycle (x -> y -> x)');
  });

  it('a chain of 20,000 blocked tasks is not a ring and does not overflow the stack', () => {
    const chain = Array.from({ length: 20_000 }, (_, i) => ({ id: `t${i}`, after: [i === 19_999 ? 'root' : `t${i + 1}`] }));
    expect(doomedByDependencies(chain, states({ root: 'pending' })).size).toBe(0);
    const ring = chain.map((t, i) => (i === 19_999 ? { id: t.id, after: ['t0'] } : t));
    const doomed = doomedByDependencies(ring, () => 'blocked');
    expect(doomed.size).toBe(20_000);
    // A long ring is named by its ends, so that 20,000 cancel reasons do not each hold 20,000 ids.
    expect(doomed.get('t5')).toBe('its dependencies form a cycle (t5 -> t6 -> t7 -> ... 19995 more ... -> t3 -> t4 -> t5)');
  });
});
