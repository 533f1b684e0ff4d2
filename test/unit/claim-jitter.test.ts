import { describe, it, expect } from 'vitest';
import { claimJitterMs, jitterBoundMs, JITTER_MAX_MS, JITTER_PER_PEER_MS, peersOf } from '../../watcher/claim-jitter.js';

describe('claimJitterMs (the spread of claim phases)', () => {
  it('spreads only wakes someone else caused: a change or the poll tick', () => {
    for (const why of ['slot', 'retry', 'beat'] as const) expect(claimJitterMs(why, 7, () => 0.99)).toBe(0);
    expect(claimJitterMs('change', 7, () => 0.5)).toBeGreaterThan(0);
    expect(claimJitterMs('tick', 7, () => 0.5)).toBeGreaterThan(0);
  });

  it('is bounded: never past the bound for the peers, and never past JITTER_MAX_MS however many there are', () => {
    for (const peers of [0, 1, 3, 7, 100]) {
      const bound = jitterBoundMs(peers);
      expect(bound).toBeLessThanOrEqual(JITTER_MAX_MS);
      expect(bound).toBe(Math.min(JITTER_MAX_MS, peers * JITTER_PER_PEER_MS));
      expect(claimJitterMs('change', peers, () => 0)).toBe(0);
      expect(claimJitterMs('change', peers, () => 0.999999)).toBeLessThan(bound + 1e-9);
    }
  });

  it('makes a lone watcher wait for nothing, so an idle bus keeps its dispatch-to-claim latency', () => {
    expect(claimJitterMs('change', 0, () => 0.99)).toBe(0);
  });
});

describe('peersOf', () => {
  it('counts the other nodes heartbeat refs, not this node nor branches', () => {
    const refs = new Map([
      ['refs/heads/main', 'a'],
      ['refs/heads/archive', 'b'],
      ['refs/gitbus/heartbeats/me', 'c'],
      ['refs/gitbus/heartbeats/w1', 'd'],
      ['refs/gitbus/heartbeats/w2', 'e'],
    ]);
    expect(peersOf(refs, 'me')).toBe(2);
    expect(peersOf(new Map(), 'me')).toBe(0);
  });
});
