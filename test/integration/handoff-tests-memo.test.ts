import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus, type BusContext } from '../../bus/context.js';
import { claim } from '../../bus/ops/claim.js';
import { currentSnapshot } from '../../bus/ops/query.js';
import type { HandoffFacts } from '../../bus/store/parse-cache-file.js';
import { makeBus } from '../helpers/bus.js';

/**
 * Snapshot.handoffIdsWhere: what claim --next and housekeeping rule tasks out with is worked out once per tree of
 * the handoffs folder, so a long-lived watcher's wake does not judge every pending handoff again (issue 14,
 * 5,000 pending). The answers must be those of judging every handoff afresh.
 */
describe('handoff tests remembered per handoffs tree', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let ctx: BusContext;
  const ids: Record<string, string> = {};
  let judged = 0;
  const gpu = (h: HandoffFacts) => {
    judged++;
    return (h.labels ?? []).includes('gpu');
  };

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    ids['plain'] = await bus.dispatch('alpha', ['plain', '--command', 'true', '--priority', '5']);
    ids['gpu'] = await bus.dispatch('alpha', ['on a gpu', '--command', 'true', '--label', 'gpu']);
    ids['after'] = await bus.dispatch('alpha', ['after plain', '--command', 'true', '--after', ids['plain'] as string]);
    ctx = await openBus(bus.home('alpha'));
  });
  afterAll(async () => {
    await ctx?.repo.close();
    await bus?.cleanup();
  });

  it('judges each handoff once while the handoffs folder is unchanged, and again once a dispatch changes it', async () => {
    const first = await currentSnapshot(ctx);
    expect(await first.handoffIdsWhere('gpu', gpu, false)).toEqual([ids['gpu']]);
    expect(judged).toBe(3);
    // A claim changes the claims folder only: the answer is remembered.
    expect((await claim(ctx, { next: true })).id).toBe(ids['plain']);
    const second = await currentSnapshot(ctx);
    expect(second.commit).not.toBe(first.commit);
    expect(await second.handoffIdsWhere('gpu', gpu, false)).toEqual([ids['gpu']]);
    expect(judged).toBe(3);
    // A new handoff: judged again, and found (a process's later answers come from memory, not from the disk).
    ids['gpu2'] = await bus.dispatch('alpha', ['another gpu task', '--command', 'true', '--label', 'gpu']);
    const third = await currentSnapshot(ctx);
    expect((await third.handoffIdsWhere('gpu', gpu, false)).sort()).toEqual([ids['gpu'], ids['gpu2']].sort());
    expect(judged).toBe(7);
  });

  it('keeps answers of different keys apart, and matches judging every handoff afresh', async () => {
    const snap = await currentSnapshot(ctx);
    const withAfter = await snap.handoffIdsWhere('after', (h) => (h.after?.length ?? 0) > 0, false);
    expect(withAfter).toEqual([ids['after']]);
    const fresh: string[] = [];
    for (const id of snap.ids()) if (((await snap.handoffOf(id))?.labels ?? []).includes('gpu')) fresh.push(id);
    expect(await snap.handoffIdsWhere('gpu', gpu, false)).toEqual(fresh);
  });
});
