import { describe, it, expect } from 'vitest';
import { beatCadence } from '../../watcher/beat-cadence.js';
import { heartbeatRef } from '../../bus/model/liveness.js';
import { resolveSettings } from '../../schemas/settings.js';

const refsOf = (n: number) => new Map(Array.from({ length: n }, (_, i) => [heartbeatRef(`n${i}`), `oid${i}`] as [string, string]));

describe('the watcher\'s cadence', () => {
  it('an idle node on a network bus of 9 beats every 6 min, a holder every heartbeat; ticks push only when due', () => {
    const c = beatCadence(resolveSettings({ protocol: 1 }), { localRemote: false });
    c.update(resolveSettings({ protocol: 1 }), new Map([...refsOf(9), ['refs/heads/main', 'm']]), 1);
    expect(c.everyMs(false)).toBe(360_000);
    expect(c.everyMs(true)).toBe(30_000);
    expect(c.due(100_000, 0, true)).toBe(true);
    expect(c.due(100_000, 0, false)).toBe(false);
    // Half a tick early counts: the timer ticks at the heartbeat.
    expect(c.due(345_000, 0, false)).toBe(true);
  });

  it('command-line heartbeat and poll win over gitbus.yaml; a local bus of a few nodes keeps the heartbeat', () => {
    const c = beatCadence(resolveSettings({ protocol: 1 }), { localRemote: true, heartbeatMs: 1_000, pollMs: 2_000 });
    c.update(resolveSettings({ protocol: 1, lease: '3s' }), refsOf(2), 0);
    expect(c.everyMs(false)).toBe(4_000);
    expect(c.everyMs(true)).toBe(1_000);
    expect(c.pollMs()).toBe(2_000);
  });

  it('ticks at the heartbeat, but at least three times a lease when the heartbeat is not shorter (a warning only)', () => {
    const c = beatCadence(resolveSettings({ protocol: 1 }), { localRemote: true });
    expect(c.tickMs()).toBe(30_000);
    c.update(resolveSettings({ protocol: 1, lease: '6s', heartbeat: '20s' }), refsOf(2), 1);
    expect(c.tickMs()).toBe(2_000);
    expect(c.everyMs(true)).toBe(2_000);
    // Half a tick early counts, not half the heartbeat: idle, presence (20 s) is not halved.
    expect(c.due(12_000, 0, false)).toBe(false);
    expect(c.due(19_000, 0, false)).toBe(true);
  });

  it('never ticks more often than every 250 ms, whatever gitbus.yaml says (heartbeat: 1ms ticked every millisecond)', () => {
    const c = beatCadence(resolveSettings({ protocol: 1 }), { localRemote: true });
    c.update(resolveSettings({ protocol: 1, lease: '1ms', heartbeat: '1ms' }), refsOf(2), 1);
    expect(c.tickMs()).toBe(250);
    c.update(resolveSettings({ protocol: 1, lease: '900ms', heartbeat: '1s' }), refsOf(2), 1);
    expect(c.tickMs()).toBe(300);
  });

  it('lists without beating when the last listing is a quarter lease old, so silence clocks keep running', () => {
    const c = beatCadence(resolveSettings({ protocol: 1 }), { localRemote: false });
    expect(c.mustList(10_000, 9_500, 3_000)).toBe(false);
    expect(c.mustList(10_000, 9_000, 3_000)).toBe(true);
  });

  it('spaces early beats by the holding cadence once the budget stretches it', () => {
    const c = beatCadence(resolveSettings({ protocol: 1 }), { localRemote: false });
    c.update(resolveSettings({ protocol: 1 }), refsOf(9), 4);
    expect(c.earlyMs(10_000)).toBe(80_000);
  });
});
