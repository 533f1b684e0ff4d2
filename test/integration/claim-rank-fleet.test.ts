import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus, type BusContext } from '../../bus/context.js';
import { rankFleet } from '../../bus/ops/claim-rank-fleet.js';
import { ableNodes } from '../../bus/model/claim-rank.js';
import { readTrustedSnapshot } from '../../bus/trust/node-files.js';
import type { Observations } from '../../bus/model/liveness.js';
import { makeBus } from '../helpers/bus.js';

/**
 * The nodes a watcher ranks itself among for a claim ("Who claims first", PROTOCOL.md §5) are the bus's nodes: those
 * with a card on main. Heartbeat refs pushed by hand with no card behind them (200 of them in a probe) counted as
 * able nodes, each one rank step ahead of a real node half the time, and held its claim back by 23 s.
 */
describe('the nodes a claim is ranked among', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let alpha: BusContext;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    await bus.addNode('beta');
    alpha = await openBus(bus.home('alpha'));
  });
  afterAll(async () => {
    await alpha?.repo.close();
    await bus?.cleanup();
  });

  it('are the nodes with a card on main: a live heartbeat with no card behind it is no able node', async () => {
    const snap = await readTrustedSnapshot(alpha, await alpha.repo.sync());
    const at = Date.now();
    const seen = { oid: 'a'.repeat(40), since: at, counted: at, after: null };
    const ghosts = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`ghost${i}`, seen]));
    const obs: Observations = { listedAt: at, nodes: { alpha: seen, beta: seen, ...ghosts } };
    const fleet = await rankFleet(alpha, snap, obs);
    expect(fleet.map((n) => [n.node, n.live])).toEqual([['alpha', true], ['beta', true]]);
    expect(ableNodes({ runner: 'manual' }, fleet, 'alpha')).toEqual(['alpha', 'beta']);
  });
});
