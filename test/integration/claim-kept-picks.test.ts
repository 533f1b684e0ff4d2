import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus, type BusContext } from '../../bus/context.js';
import { claim, claimDecider } from '../../bus/ops/claim.js';
import { cancel } from '../../bus/ops/cancel.js';
import { readTrustedSnapshot } from '../../bus/trust/node-files.js';
import { makeBus } from '../helpers/bus.js';

/**
 * A claim's round after one that picked (its push refused, or main moved since its peek) claims the same tasks again
 * while they are still claimable, reading only them (bus/ops/claim.ts keptPicks): the window from reading main to
 * the push stays short on a busy bus. What it may no longer claim is decided anew from the whole queue.
 */
describe("a claim's later rounds keep its picks", () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let alpha: BusContext;
  let beta: BusContext;
  const ids: Record<string, string> = {};
  /** main as alpha reads it now: a round of alpha's compare-and-swap decides from this. */
  const now = async () => readTrustedSnapshot(alpha, await alpha.repo.sync());

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    await bus.addNode('beta');
    ids['a'] = await bus.dispatch('alpha', ['a', '--command', 'true', '--priority', '5']);
    ids['b'] = await bus.dispatch('alpha', ['b', '--command', 'true', '--priority', '5']);
    alpha = await openBus(bus.home('alpha'));
    beta = await openBus(bus.home('beta'));
  });
  afterAll(async () => {
    await alpha?.repo.close();
    await beta?.repo.close();
    await bus?.cleanup();
  });

  it('claims the same task in the next round though a task ahead of it in the queue arrived meanwhile', async () => {
    const lost: string[] = [];
    const decide = claimDecider(alpha, { next: true }, { max: 1 }, () => new Date(), { onLostRace: (why) => lost.push(why) });
    const first = await decide(await now(), 1);
    expect(first.result.claims.map((c) => c.id)).toEqual([ids['a']]);
    // A task of a higher priority: decided anew, the queue's head would be it.
    const urgent = await bus.dispatch('alpha', ['urgent', '--command', 'true', '--priority', '9']);
    const second = await decide(await now(), 2);
    expect(second.result.claims.map((c) => ({ id: c.id, attempt: c.attempt }))).toEqual([{ id: ids['a'], attempt: 1 }]);
    expect(second.commit?.changes.map((c) => c.path)).toEqual([`claims/${ids['a']}.1.md`]);
    // A fresh decider, with nothing picked before, takes the queue's head.
    const fresh = await claimDecider(alpha, { next: true }, { max: 1 }, () => new Date())(await now(), 1);
    expect(fresh.result.claims.map((c) => c.id)).toEqual([urgent]);
    expect(lost).toEqual([]);
  });

  it('decides anew when its pick was taken by another node, or cancelled, and reports no lost race while it finds another', async () => {
    const lost: string[] = [];
    const decide = claimDecider(alpha, { next: true, runners: ['shell'] }, { max: 1 }, () => new Date(), { onLostRace: (why) => lost.push(why) });
    const first = (await decide(await now(), 1)).result.claims[0]?.id;
    expect(first).toBeDefined();
    // beta claims what alpha picked.
    await claim(beta, { id: first as string });
    const second = (await decide(await now(), 2)).result.claims[0]?.id;
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    // The next pick is cancelled before the next round.
    await cancel(beta, second as string);
    const third = (await decide(await now(), 3)).result.claims[0]?.id;
    expect([first, second]).not.toContain(third);
    expect(lost).toEqual([]);
  });
});
