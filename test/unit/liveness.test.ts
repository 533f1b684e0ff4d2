import { describe, it, expect } from 'vitest';
import { heartbeatRef, livenessOf, observe } from '../../bus/model/liveness.js';

describe('liveness by the observer\'s clock', () => {
  const refs = (entries: Record<string, string>) => new Map(Object.entries(entries).map(([n, oid]) => [heartbeatRef(n), oid]));

  it('starts each clock when a heartbeat value is first seen and restarts it when the value moves', () => {
    let obs = observe({}, new Map([...refs({ a: 'x1', b: 'y1' }), ['refs/heads/main', 'm']]), 1_000);
    expect(Object.keys(obs).sort()).toEqual(['a', 'b']);
    obs = observe(obs, refs({ a: 'x1', b: 'y2' }), 5_000);
    expect(obs['a']).toEqual({ oid: 'x1', since: 1_000 });
    expect(obs['b']).toEqual({ oid: 'y2', since: 5_000 });
  });

  it('calls a node silent only after the lease has passed without movement, however its own clock is set', () => {
    const obs = observe({}, refs({ a: 'x1' }), 10_000);
    expect(livenessOf(obs, 'a', 3_000, 12_999)).toBe('alive');
    expect(livenessOf(obs, 'a', 3_000, 13_001)).toBe('silent');
    // A node that never published a heartbeat holds its claims until it releases them.
    expect(livenessOf(obs, 'person', 3_000, 99_999)).toBe('unleased');
  });

  it('forgets nodes whose heartbeat ref is gone', () => {
    const obs = observe(observe({}, refs({ a: 'x1' }), 0), refs({}), 1);
    expect(livenessOf(obs, 'a', 10, 100)).toBe('unleased');
  });
});
