import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readObservations, updateObservations } from '../../bus/liveness-store.js';
import { beatFacts } from '../../bus/ops/heartbeat.js';
import { cardlessNodes, strayHeartbeatRefs, heartbeatRef, listingLagMs, livenessOf, NO_OBSERVATIONS, observe, observationGapMs, observedPushes, shownLiveness, type Observations } from '../../bus/model/liveness.js';
import { OBSERVED_WINDOW_MS } from '../../bus/model/budget.js';
import { MOVE_BUCKET_MS } from '../../bus/model/liveness.js';

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

  it('liveness.json: main moves and claims are written at most once a listingLag, a heartbeat that moves at once', () => {
    const home = mkdtempSync(join(tmpdir(), 'gitbus-liveness-'));
    const file = join(home, 'liveness.json');
    const stamp = () => statSync(file, { bigint: true }).ino;
    const onDisk = () => JSON.parse(readFileSync(file, 'utf8')) as Observations;
    const withMain = (beats: Record<string, string>, main: string) => new Map([...refs(beats), ['refs/heads/main', main]]);
    const lag = listingLagMs(LEASE);
    try {
      const first = updateObservations(home, withMain({ a: 'x1' }, 'm1'), 50_000, LEASE);
      const written = stamp();
      expect(readObservations(home)).toEqual(first);
      // The same listing again (a wake's reaping, claims and ranking each ask): nothing is written, the same answer.
      expect(updateObservations(home, withMain({ a: 'x1' }, 'm1'), 50_000, LEASE)).toEqual(first);
      expect(stamp()).toBe(written);
      // Within the lag, main moves (pushes to count against the budget) and a node takes a claim: this process
      // answers and reads with them, the file keeps the state of 50 s, and no lock is left.
      let t = 50_000;
      for (const m of ['m2', 'm3', 'm4']) updateObservations(home, withMain({ a: 'x1' }, m), (t += lag / 6), LEASE);
      const claimed = updateObservations(home, withMain({ a: 'x1' }, 'm4'), (t += lag / 6), LEASE, new Map([['a', ['t1.1']]]));
      expect(claimed.nodes['a']?.holding).toEqual({ claims: ['t1.1'], since: t });
      expect(readObservations(home)).toEqual(claimed);
      expect(stamp()).toBe(written);
      expect(onDisk()).toEqual(first);
      expect(existsSync(`${file}.lock`)).toBe(false);
      // A heartbeat that moved is written at once, with all that was held: another process that then folds an older
      // listing changes nothing, rather than judge the node from before its beat.
      const beat = updateObservations(home, withMain({ a: 'x2' }, 'm4'), (t += lag / 6), LEASE);
      expect(stamp()).not.toBe(written);
      expect(onDisk()).toEqual(beat);
      expect(onDisk().nodes['a']?.holding?.claims).toEqual(['t1.1']);
      expect(observedPushes(beat, t).pushes).toBe(4); // three moves of main, one beat
      // A listing a lag after the file's is written too; one from a clock set back, at once.
      const rewritten = stamp();
      updateObservations(home, withMain({ a: 'x2' }, 'm5'), t + lag / 5, LEASE);
      expect(stamp()).toBe(rewritten);
      const late = updateObservations(home, withMain({ a: 'x2' }, 'm5'), t + lag, LEASE);
      expect(onDisk()).toEqual(late);
      const back = updateObservations(home, withMain({ a: 'x2' }, 'm6'), 1_000, LEASE);
      expect(onDisk()).toEqual(back);
      // Another process wrote meanwhile: its file is what the next fold starts from.
      updateObservations(home, withMain({ a: 'x2' }, 'm7'), 1_000 + lag / 5, LEASE);
      writeFileSync(file, JSON.stringify({ ...back, listedAt: 1_000 + lag / 4 }));
      const after = updateObservations(home, withMain({ a: 'x2' }, 'm7'), 1_000 + lag / 3, LEASE);
      expect(after.main?.oid).toBe('m7');
      expect(after.listedAt).toBe(1_000 + lag / 3);
      expect(readObservations(home)).toEqual(after);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('a liveness.json damaged or edited by hand ends nothing in an error: what is not as written is left out', () => {
    const home = mkdtempSync(join(tmpdir(), 'gitbus-liveness-'));
    const file = join(home, 'liveness.json');
    const r = new Map([...refs({ a: 'x1', b: 'y1' }), ['refs/heads/main', 'm1']]);
    try {
      for (const text of [
        '{"listedAt":1,"nodes":null}',
        '{"listedAt":"soon","nodes":{}}',
        '{"listedAt":1,"nodes":{"a":{"oid":"x1","since":1,"counted":1,"changes":"often"},"b":5}}',
        '{"listedAt":1,"nodes":{"a":{"oid":"x1","since":1,"counted":1,"holding":{"claims":5,"since":1}}}}',
        '{"listedAt":1,"nodes":{},"main":{"oid":"m0","moves":"many"}}',
        '{"listedAt":1,"nodes":{},"main":{"oid":"m0","moves":[[0,-1000],[0,1e308],"x"]}}',
      ]) {
        writeFileSync(file, text);
        const obs = updateObservations(home, r, 2_000, LEASE, new Map([['a', ['t.1']]]));
        expect(Object.keys(obs.nodes).sort(), text).toEqual(['a', 'b']);
        expect(observedPushes(readObservations(home), 2_000).pushes, text).toBeGreaterThanOrEqual(0);
        expect(Number.isFinite(observedPushes(readObservations(home), 2_000).pushes), text).toBe(true);
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("main's moves are kept as counts of MOVE_BUCKET_MS, however many a second, and an older file's times are read as moves", () => {
    const r = (m: string) => new Map([...refs({ a: 'x' }), ['refs/heads/main', m]]);
    let obs = observe(NO_OBSERVATIONS, r('m0'), 1_000_000, 60_000);
    // 25 pushes a second for the whole window, a listing at each.
    const end = 1_000_000 + OBSERVED_WINDOW_MS;
    let n = 0;
    for (let t = 1_000_040; t <= end; t += 40) obs = observe(obs, r(`m${++n}`), t, 60_000);
    expect(obs.main?.moves?.length).toBeLessThanOrEqual(61);
    expect(JSON.stringify(obs).length).toBeLessThan(2_000);
    expect(observedPushes(obs, end).pushes).toBeCloseTo(n, -2);
    expect(observedPushes(obs, end).pushes).toBeLessThanOrEqual(n);
    // A file an older gitbus wrote: every move's time.
    const older = { listedAt: 30_000, nodes: {}, watchedSince: 0, main: { oid: 'm1', changes: [10_000, 20_000, 25_000] } } as unknown as Observations;
    expect(observedPushes(older, 30_000).pushes).toBe(3);
    const folded = observe(older, r('m2'), 31_000, 60_000);
    expect(folded.main?.moves).toEqual([[10_000, 1], [20_000, 2], [30_000, 1]]);
    // Entries no gitbus writes (a file edited by hand) count for nothing, and break nothing.
    const odd = { listedAt: 30_000, nodes: {}, watchedSince: 0, main: { oid: 'm1', moves: [[20_000, 'x'], 'y', [20_000, 2]] } } as unknown as Observations;
    expect(observedPushes(odd, 30_000).pushes).toBe(2);
    expect(observe(odd, r('m2'), 31_000, 60_000).main?.moves).toEqual([[20_000, 2], [30_000, 1]]);
    // Counts that no gitbus writes: not pushes.
    const wild = { listedAt: 30_000, nodes: {}, watchedSince: 0, main: { oid: 'm1', moves: [[20_000, -1000], [20_000, 1e308], [20_000, 1.5]] } } as unknown as Observations;
    expect(observedPushes(wild, 30_000).pushes).toBe(0);
  });

  it("main's moves older than the window are let go, a gap forgets them all, and a watch begun inside a bucket counts its moves whole", () => {
    const r = (m: string) => new Map([...refs({ a: 'x' }), ['refs/heads/main', m]]);
    let obs = observe(NO_OBSERVATIONS, r('m0'), 0, 600_000);
    let n = 0;
    for (let t = 1_000; t <= 2 * OBSERVED_WINDOW_MS; t += 1_000) obs = observe(obs, r(`m${++n}`), t, 600_000);
    // One window's buckets (and the one it began in), not two windows'.
    expect(obs.main?.moves?.length).toBeLessThanOrEqual(61);
    expect(obs.main?.moves?.[0]?.[0]).toBeGreaterThanOrEqual(OBSERVED_WINDOW_MS - MOVE_BUCKET_MS);
    expect(Math.abs(observedPushes(obs, 2 * OBSERVED_WINDOW_MS).pushes - OBSERVED_WINDOW_MS / 1_000)).toBeLessThanOrEqual(1);
    // A gap (more than half the lease without a listing): nothing counted before it is kept.
    const after = observe(obs, r('m-after'), 2 * OBSERVED_WINDOW_MS + 400_000, 600_000);
    expect(after.main?.moves).toEqual([]);
    // Watching begins half way into a bucket: the ten moves seen after count ten.
    const mid = 1_000_005_000;
    let w = observe(NO_OBSERVATIONS, r('n0'), mid, 60_000);
    for (let i = 1; i <= 10; i++) w = observe(w, r(`n${i}`), mid + i * 100, 60_000);
    expect(observedPushes(w, mid + 1_000).pushes).toBe(10);
  });

  it('the listing time in liveness.json lags by far less than the gap that restarts the clocks', () => {
    for (const lease of [3_000, 60_000, 300_000, 3_600_000]) {
      expect(listingLagMs(lease)).toBeLessThanOrEqual(observationGapMs(lease) / 8);
      expect(listingLagMs(lease)).toBeLessThanOrEqual(5_000);
      expect(listingLagMs(lease)).toBeGreaterThan(0);
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

  it('a clock set back an hour does not keep a dead holder alive for the hour: its claim\'s clock restarts too', () => {
    const r = refs({ a: 'x1' });
    const held = new Map([['a', ['t1.1']]]);
    const hour = 3_600_000;
    // Watched holding its claim at 10:00 by the observer's clock; then that clock is stepped back an hour.
    let obs: Observations = NO_OBSERVATIONS;
    for (let t = 10 * hour; t <= 10 * hour + 2_000; t += 1_000) obs = observe(obs, r, t, LEASE, held);
    expect(obs.nodes['a']?.holding?.since).toBe(10 * hour);
    const back = 9 * hour + 3_000;
    obs = observe(obs, r, back, LEASE, held);
    expect(obs.nodes['a']).toMatchObject({ counted: back, holding: { claims: ['t1.1'], since: back } });
    // Nothing moves for a lease after the step: the holder is silent, not an hour later.
    for (let t = back + 1_000; t <= back + LEASE; t += 1_000) obs = observe(obs, r, t, LEASE, held);
    expect(livenessOf(obs, 'a', LEASE)).toBe('alive');
    obs = observe(obs, r, back + LEASE + 1, LEASE, held);
    expect(livenessOf(obs, 'a', LEASE)).toBe('silent');
    // The same with listings that do not read main (a heartbeat's listing): what was last seen is clamped as well.
    let beatsOnly: Observations = NO_OBSERVATIONS;
    for (let t = 10 * hour; t <= 10 * hour + 2_000; t += 1_000) beatsOnly = observe(beatsOnly, r, t, LEASE, held);
    beatsOnly = listEvery(beatsOnly, r, back, back + LEASE + 1_000);
    expect(livenessOf(beatsOnly, 'a', LEASE)).toBe('silent');
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
    expect(beatFacts({ node: 'a', time: '2026-11-30T10:00:00.000Z', stopped: true })).toEqual({ time: Date.parse('2026-11-30T10:00:00.000Z'), stopped: true, everyMs: null });
    expect(beatFacts({ time: 'yesterday', stopped: 'yes', every: 'often' })).toEqual({ time: null, stopped: false, everyMs: null });
    expect(beatFacts('garbage')).toEqual({ time: null, stopped: false, everyMs: null });
  });
});

describe('waking from idle (§5a)', () => {
  const LONG = 60_000;
  it('a claim seen long after an old presence beat restarts the node\'s silence clock', () => {
    const r = refs({ a: 'x1' });
    let obs: Observations = NO_OBSERVATIONS;
    for (let t = 0; t <= 100_000; t += 10_000) obs = observe(obs, r, t, LONG, new Map());
    // Idle and silent by its beat alone: harmless, it holds nothing.
    expect(livenessOf(obs, 'a', LONG)).toBe('silent');
    // Torn listing: its heartbeat ref as before the beat it made, main already with its claim.
    obs = observe(obs, r, 110_000, LONG, new Map([['a', ['t1.1']]]));
    expect(obs.nodes['a']?.holding).toEqual({ claims: ['t1.1'], since: 110_000 });
    expect(livenessOf(obs, 'a', LONG)).toBe('alive');
    // A lease later with neither beat nor release it is silent: a dead holder still expires.
    for (let t = 120_000; t <= 170_000; t += 10_000) obs = observe(obs, r, t, LONG, new Map([['a', ['t1.1']]]));
    expect(livenessOf(obs, 'a', LONG)).toBe('alive');
    obs = observe(obs, r, 180_000, LONG, new Map([['a', ['t1.1']]]));
    expect(livenessOf(obs, 'a', LONG)).toBe('silent');
  });

  it('a new claim restarts the clock even when the observer never saw the node hold nothing in between', () => {
    let obs = observe(NO_OBSERVATIONS, refs({ a: 'x1' }), 0, LONG, new Map([['a', ['t1.1']]]));
    for (let t = 10_000; t <= 100_000; t += 10_000) obs = observe(obs, refs({ a: 'x1' }), t, LONG);
    expect(obs.nodes['a']?.holding?.since).toBe(0);
    obs = observe(obs, refs({ a: 'x1' }), 110_000, LONG, new Map([['a', ['t2.1']]]));
    expect(obs.nodes['a']?.holding).toEqual({ claims: ['t2.1'], since: 110_000 });
    expect(livenessOf(obs, 'a', LONG)).toBe('alive');
    // Dropping a claim keeps the clock; holding nothing forgets it.
    obs = observe(obs, refs({ a: 'x1' }), 120_000, LONG, new Map([['a', []]]));
    expect(obs.nodes['a']?.holding).toBeUndefined();
  });

  it('status shows a node that announced a long `every` idle, not silent, until that interval and a lease have passed', () => {
    const r = refs({ a: 'x1' });
    let obs = observe(NO_OBSERVATIONS, r, 0, LONG);
    obs = observe(obs, r, 1_000, LONG);
    const beat = { time: 0, stopped: false, everyMs: 3_600_000 };
    expect(shownLiveness(obs, 'a', beat, LONG, 30_000).liveness).toBe('alive');
    expect(shownLiveness(obs, 'a', beat, LONG, 600_000).liveness).toBe('idle');
    expect(shownLiveness(obs, 'a', beat, LONG, 3_700_000).liveness).toBe('silent');
    expect(shownLiveness(obs, 'a', { time: 0, stopped: false }, LONG, 600_000).liveness).toBe('silent');
  });

  it('heartbeat.yaml\'s `every` is read, and a reader ignores what it does not know', () => {
    expect(beatFacts({ time: '2024-01-01T00:00:00Z', every: '67m', someday: 'x' })).toEqual({ time: Date.parse('2024-01-01T00:00:00Z'), stopped: false, everyMs: 67 * 60_000 });
    expect(beatFacts({ time: '2024-01-01T00:00:00Z', every: '-1s' }).everyMs).toBeNull();
  });
});

describe('what an observer saw pushed', () => {
  it('counts heartbeat changes and main moves in the window, restarting after a gap', () => {
    let obs = observe(NO_OBSERVATIONS, new Map([...refs({ a: 'x1' }), ['refs/heads/main', 'm1']]), 0, 60_000);
    obs = observe(obs, new Map([...refs({ a: 'x2' }), ['refs/heads/main', 'm1']]), 20_000, 60_000);
    obs = observe(obs, new Map([...refs({ a: 'x3' }), ['refs/heads/main', 'm2']]), 40_000, 60_000);
    obs = observe(obs, new Map([...refs({ a: 'x3' }), ['refs/heads/main', 'm2']]), 60_000, 60_000);
    expect(observedPushes(obs, 60_000)).toEqual({ pushes: 3, watchedMs: 60_000 });
    obs = observe(obs, new Map([...refs({ a: 'x4' }), ['refs/heads/main', 'm3']]), 200_000, 60_000);
    expect(observedPushes(obs, 200_000)).toEqual({ pushes: 0, watchedMs: 0 });
  });
});

describe('nodes that beat with no card', () => {
  it('are the heartbeat refs with neither a card this node reads nor one its trust sets aside', () => {
    const refs = new Map([
      ['refs/heads/main', 'm'],
      ['refs/gitbus/heartbeats/c', '3'],
      ['refs/gitbus/heartbeats/a', '1'],
      ['refs/gitbus/heartbeats/b', '2'],
    ]);
    // b's card is on main, set aside (an unlisted node waiting for "gitbus trust add node"): b is not cardless.
    expect(cardlessNodes(refs, ['a'], [{ kind: 'node', path: 'nodes/b.md' }, { kind: 'claim', path: 'claims/x.1.md' }])).toEqual(['c']);
    expect(cardlessNodes(refs, ['a', 'b', 'c'], [])).toEqual([]);
  });

  it('are only refs named as a node is: nested or odd names are no node', () => {
    const refs = new Map([
      ['refs/gitbus/heartbeats/ok-1', '1'],
      ['refs/gitbus/heartbeats/a/b/c', '2'],
      ['refs/gitbus/heartbeats/\u202Eevil', '3'],
      ['refs/gitbus/heartbeats/UPPER', '4'],
      ['refs/gitbus/heartbeats/', '5'],
    ]);
    expect(cardlessNodes(refs, [], [])).toEqual(['ok-1']);
  });

  it('the refs that name no node are the stray ones doctor names', () => {
    const refs = new Map([
      ['refs/heads/main', 'm'],
      ['refs/gitbus/heartbeats/ok-1', '1'],
      ['refs/gitbus/heartbeats/a/b/c', '2'],
      ['refs/gitbus/heartbeats/\u202Eevil', '3'],
      ['refs/gitbus/doctor/ok-1', '4'],
    ]);
    expect(strayHeartbeatRefs(refs)).toEqual(['refs/gitbus/heartbeats/a/b/c', 'refs/gitbus/heartbeats/\u202Eevil']);
    expect(strayHeartbeatRefs(new Map([['refs/gitbus/heartbeats/ok-1', '1']]))).toEqual([]);
  });
});
