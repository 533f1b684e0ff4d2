import { describe, it, expect } from 'vitest';
import { budgetOf, earlyBeatMs, fleetReport, holdingBeatMs, LOCAL_PUSH_BUDGET, NETWORK_PUSH_BUDGET, pollEveryMs, presenceMs, type CadenceSettings } from '../../bus/model/budget.js';
import { parseSettingsFile } from '../../schemas/bus-file.js';

const S: CadenceSettings = { heartbeatMs: 30_000, leaseMs: 300_000, pollMs: 30_000 };
const network = budgetOf({}, false);
const local = budgetOf({}, true);

describe('the budget by how the remote is reached', () => {
  it('is 6 pushes a minute and 15 reads a second over a network, generous on a local path, and gitbus.yaml wins', () => {
    expect(network).toEqual({ pushesPerMin: NETWORK_PUSH_BUDGET, readsPerSec: 15, source: 'network default' });
    expect(local.pushesPerMin).toBe(LOCAL_PUSH_BUDGET);
    expect(budgetOf({ pushBudget: 30, readBudget: 5 }, false)).toEqual({ pushesPerMin: 30, readsPerSec: 5, source: 'settings' });
  });

  it('gitbus.yaml takes pushBudget, presence and readBudget, and warns about a misspelt one', () => {
    const r = parseSettingsFile(new TextEncoder().encode('protocol: 1\npushBudget: 12\npresence: 20m\nreadBudget: 10\n'));
    expect(r.ok && r.settings).toMatchObject({ pushBudget: 12, presenceMs: 1_200_000, readBudget: 10 });
    const typo = parseSettingsFile(new TextEncoder().encode('protocol: 1\npushBudgte: 12\n'));
    expect(typo.ok && typo.warnings.map((w) => [w.field, w.fix.includes('rename it to "pushBudget"')])).toEqual([['pushBudgte', true]]);
    expect(typo.ok && typo.settings.pushBudget).toBeUndefined();
    expect(parseSettingsFile(new TextEncoder().encode('protocol: 1\npushBudget: 0\n')).ok).toBe(false);
  });
});

describe('idle presence', () => {
  it('spreads the fleet\'s idle beats over a quarter of the budget: 100 nodes on GitHub beat about hourly, 9 every 6 min', () => {
    expect(presenceMs(S, network, 100) / 60_000).toBeCloseTo(66.7, 1);
    expect(presenceMs(S, network, 9)).toBe(6 * 60_000);
    // 100 idle nodes then push 1.5 a minute: well inside 6.
    expect(100 * (60_000 / presenceMs(S, network, 100))).toBeLessThanOrEqual(NETWORK_PUSH_BUDGET / 4 + 1e-9);
  });

  it('keeps today\'s cadence on a local bus of a few nodes, never beats faster than the heartbeat, and obeys presence', () => {
    expect(presenceMs(S, local, 8)).toBe(30_000);
    expect(presenceMs(S, network, 0)).toBe(40_000);
    expect(presenceMs({ ...S, presenceMs: 600_000 }, network, 100)).toBe(600_000);
    expect(presenceMs({ ...S, presenceMs: 1_000 }, network, 100)).toBe(30_000);
  });
});

describe('holding claims', () => {
  it('beats at the heartbeat while the holders fit half the budget, stretches beyond, and never slower than lease/3', () => {
    expect(holdingBeatMs(S, network, 1)).toBe(30_000);
    expect(holdingBeatMs(S, network, 2)).toBe(40_000);
    expect(holdingBeatMs(S, network, 4)).toBe(80_000);
    expect(holdingBeatMs(S, network, 50)).toBe(100_000);
    expect(holdingBeatMs({ ...S, heartbeatMs: 200_000 }, local, 1)).toBe(100_000);
    expect(holdingBeatMs(S, local, 20)).toBe(30_000);
  });

  it('limits early beats (progress, spend) to the holding cadence once the budget stretches it', () => {
    expect(earlyBeatMs(S, network, 1, 10_000)).toBe(10_000);
    expect(earlyBeatMs(S, network, 4, 10_000)).toBe(80_000);
  });
});

describe('polling reads', () => {
  it('100 nodes polling every 30 s stay inside half of 15 reads a second; a bigger fleet stretches, never past lease/3', () => {
    expect(pollEveryMs(S, network, 100)).toBe(30_000);
    expect((100 * 2) / (pollEveryMs(S, network, 100) / 1000)).toBeLessThanOrEqual(7.5);
    expect(pollEveryMs(S, network, 200)).toBe(Math.ceil((200 * 2 * 1000) / 7.5));
    expect(pollEveryMs(S, network, 10_000)).toBe(100_000);
  });
});

describe('the fleet report', () => {
  it('adds up each node\'s cadence, says when it exceeds the budget and what to change', () => {
    const nine = Array.from({ length: 9 }, (_, i) => ({ node: `n${i}`, everyMs: 30_000, holding: false }));
    const r = fleetReport(S, network, nine, { pushes: 180, watchedMs: 600_000 }, 30_000);
    expect(r).toMatchObject({ expectedPerMin: 18, observedPerMin: 18, nodes: 9, holders: 0, over: true });
    expect(r.advice.join('\n')).toMatch(/9 idle node\(s\) beat faster than the presence interval/);
    expect(r.advice.join('\n')).toMatch(/shard/);
    const fine = fleetReport(S, network, nine.map((n) => ({ ...n, everyMs: presenceMs(S, network, 9) })), { pushes: 10, watchedMs: 30_000 }, 30_000);
    expect(fine).toMatchObject({ expectedPerMin: 1.5, observedPerMin: null, over: false, advice: [] });
  });

  it('a stopped node costs nothing; holders that must beat at lease/3 are named', () => {
    const r = fleetReport(S, network, [{ node: 'a', everyMs: null, holding: false }, ...Array.from({ length: 12 }, (_, i) => ({ node: `h${i}`, everyMs: 100_000, holding: true }))], null, 30_000);
    expect(r.expectedPerMin).toBe(7.2);
    expect(r.over).toBe(true);
    expect(r.advice.join('\n')).toMatch(/12 node\(s\) holding claims must beat every lease\/3 \(100 s\)/);
  });
});
