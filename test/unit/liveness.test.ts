import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readObservations, updateObservations } from '../../bus/liveness-store.js';
import { beatFacts } from '../../bus/ops/heartbeat.js';
import { heartbeatRef, livenessOf, NO_OBSERVATIONS, observe, observationGapMs, shownLiveness, type Observations } from '../../bus/model/liveness.js';

const refs = (entries: Record<string, string>) => new Map(Object.entries(entries).map(([n, oid]) => [heartbeatRef(n), oid]));
const LEASE = 6_000;
/** Listings every `step` ms from `from` to `to` (inclusive), the refs unchanged. */
function listEvery(obs: Observations, r: Map<string, string>, from: number, to: number, step = 1_000): Observations {
  for (let t = from; t <= to; t += step) obs = observe(obs, r, t, LEASE);
  return obs;
}

describe('liveness by the observer\'s clock', () => {
  it('starts each clock when a heartbeat value is first seen and restarts it when the value moves', () => {
    let obs = observe(NO_OBSERVATIONS, new Map([...refs({ a: 'x1', b: 'y1' }), ['refs/heads/main', 'm']]), 1_000, LEASE);
    expect(Object.keys(obs.nodes).sort()).toEqual(['a', 'b']);
    obs = observe(obs, refs({ a: 'x1', b: 'y2' }), 2_000, LEASE);
    expect(obs.nodes['a']).toMatchObject({ oid: 'x1', since: 1_000, counted: 1_000 });
    expect(obs.nodes['b']).toMatchObject({ oid: 'y2', since: 2_000, counted: 2_000, after: 1_000 });
    expect(obs.listedAt).toBe(2_000);
  });

  it('calls a node silent only after it watched the lease pass without movement, however the node\'s clock is set', () => {
    const r = refs({ a: 'x1' });
    let obs = listEvery(NO_OBSERVATIONS, r, 10_000, 16_000);
    expect(livenessOf(obs, 'a', LEASE)).toBe('alive');
    obs = observe(obs, r, 16_001, LEASE);
    expect(livenessOf(obs, 'a', LEASE)).toBe('silent');
    // A node that never published a heartbeat holds its claims until it releases them.
    expect(livenessOf(obs, 'person', LEASE)).toBe('unleased');
  });

  it('forgets nodes whose heartbeat ref is gone', () => {
    const obs = observe(observe(NO_OBSERVATIONS, refs({ a: 'x1' }), 1, LEASE), refs({}), 2, LEASE);
    expect(livenessOf(obs, 'a', LEASE)).toBe('unleased');
  });
});

describe('an outage is not a death', () => {
  it('a gap in the observer\'s own listings restarts every silence clock at the first listing after it', () => {
    const r = refs({ a: 'x1', b: 'y1' });
    // Watched for 2 s, then the remote is gone for 15 s (longer than the lease), then back with nothing moved:
    // the others could not beat either, so nobody is silent yet.
    let obs = listEvery(NO_OBSERVATIONS, r, 0, 2_000);
    obs = observe(obs, r, 17_000, LEASE);
    expect(obs.nodes['a']).toMatchObject({ since: 0, counted: 17_000 });
    expect(livenessOf(obs, 'a', LEASE)).toBe('alive');
    // Only silence watched after the gap counts: a lease of it makes the node silent.
    obs = listEvery(obs, r, 18_000, 23_000);
    expect(livenessOf(obs, 'a', LEASE)).toBe('alive');
    obs = observe(obs, r, 23_500, LEASE);
    expect(livenessOf(obs, 'b', LEASE)).toBe('silent');
  });

  it('a pause shorter than the gap keeps the clock; one just longer restarts it', () => {
    const r = refs({ a: 'x1' });
    const base = listEvery(NO_OBSERVATIONS, r, 0, 1_000);
    expect(observe(base, r, 1_000 + observationGapMs(LEASE), LEASE).nodes['a']?.counted).toBe(0);
    expect(observe(base, r, 1_001 + observationGapMs(LEASE), LEASE).nodes['a']?.counted).toBe(1_001 + observationGapMs(LEASE));
  });

  it('an observer that has never listed, or whose file predates listing times, waits a full lease', () => {
    const obs = observe(NO_OBSERVATIONS, refs({ a: 'x1' }), 5_000, LEASE);
    expect(obs.nodes['a']).toMatchObject({ counted: 5_000, after: null });
    expect(livenessOf(obs, 'a', LEASE)).toBe('alive');
  });

  it('liveness.json of an older gitbus (no listing times) counts as no observations: every clock starts afresh', () => {
    const home = mkdtempSync(join(tmpdir(), 'gitbus-liveness-'));
    try {
      writeFileSync(join(home, 'liveness.json'), JSON.stringify({ a: { oid: 'x1', since: 1 } }));
      expect(readObservations(home)).toEqual(NO_OBSERVATIONS);
      const obs = updateObservations(home, refs({ a: 'x1' }), 50_000, LEASE);
      expect(obs.nodes['a']).toMatchObject({ since: 50_000, counted: 50_000 });
      expect(readObservations(home)).toEqual(obs);
      // No listing yet (time 0): nothing changes.
      expect(updateObservations(home, new Map(), 0, LEASE)).toEqual(obs);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('a listing older than the last one folded in changes nothing (another process listed meanwhile)', () => {
    const newer = observe(observe(NO_OBSERVATIONS, refs({ a: 'x1' }), 1_000, LEASE), refs({ a: 'x2' }), 2_000, LEASE);
    expect(observe(newer, refs({ a: 'x1' }), 1_500, LEASE)).toBe(newer);
  });

  it('a clock set back by more than the gap restarts the clocks instead of freezing them', () => {
    const obs = observe(observe(NO_OBSERVATIONS, refs({ a: 'x1' }), 100_000, LEASE), refs({ a: 'x1' }), 50_000, LEASE);
    expect(obs).toMatchObject({ listedAt: 50_000, nodes: { a: { counted: 50_000 } } });
  });
});

describe('liveness shown to people', () => {
  const lease = 60_000;
  it('a first look at a node dead for a day shows it silent at once, by its heartbeat\'s own time', () => {
    const now = 10 * 86_400_000;
    const obs = observe(NO_OBSERVATIONS, refs({ a: 'x1' }), now, lease);
    const shown = shownLiveness(obs, 'a', { time: now - 86_400_000, stopped: false }, lease, now);
    expect(shown).toEqual({ liveness: 'silent', beatAt: now - 86_400_000 });
    // Decisions wait: this observer has not watched the silence itself.
    expect(livenessOf(obs, 'a', lease)).toBe('alive');
  });

  it('a heartbeat from a clock ahead of the observer counts as written when it was seen', () => {
    const obs = observe(NO_OBSERVATIONS, refs({ a: 'x1' }), 1_000_000, lease);
    expect(shownLiveness(obs, 'a', { time: 9_000_000, stopped: false }, lease, 1_000_000)).toEqual({ liveness: 'alive', beatAt: 1_000_000 });
  });

  it('while the observer keeps looking, its own clock rules: a value it saw appear is as old as that', () => {
    let obs = observe(NO_OBSERVATIONS, refs({ a: 'x1' }), 1_000_000, lease);
    obs = observe(obs, refs({ a: 'x2' }), 1_001_000, lease);
    // The node's clock says an hour ago; the observer knows the value appeared within the last second.
    expect(shownLiveness(obs, 'a', { time: 1_001_000 - 3_600_000, stopped: false }, lease, 1_001_500)).toEqual({ liveness: 'alive', beatAt: 1_000_000 });
  });

  it('a value unchanged since the observer\'s last look, an hour ago, is at least an hour old', () => {
    const obs = observe(observe(NO_OBSERVATIONS, refs({ a: 'x1' }), 0, lease), refs({ a: 'x1' }), 3_600_000, lease);
    expect(shownLiveness(obs, 'a', null, lease, 3_600_000).liveness).toBe('silent');
  });

  it('a watcher that said goodbye is stopped, not silent; a node without heartbeat has no watcher', () => {
    const obs = observe(NO_OBSERVATIONS, refs({ a: 'x1' }), 1_000, lease);
    expect(shownLiveness(obs, 'a', { time: 0, stopped: true }, lease, 10_000_000).liveness).toBe('stopped');
    expect(shownLiveness(obs, 'b', null, lease, 1_000)).toEqual({ liveness: 'unleased', beatAt: null });
  });

  it('reads only what it trusts from a heartbeat.yaml', () => {
    expect(beatFacts({ node: 'a', time: '2026-11-30T10:00:00.000Z', stopped: true })).toEqual({ time: Date.parse('2026-11-30T10:00:00.000Z'), stopped: true });
    expect(beatFacts({ time: 'yesterday', stopped: 'yes' })).toEqual({ time: null, stopped: false });
    expect(beatFacts('garbage')).toEqual({ time: null, stopped: false });
  });
});
