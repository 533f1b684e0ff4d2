import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openBus, type BusContext } from '../../bus/context.js';
import { claim } from '../../bus/ops/claim.js';
import { publishHeartbeat } from '../../bus/ops/heartbeat.js';
import { reapExpired } from '../../bus/ops/reap.js';
import { release } from '../../bus/ops/release.js';
import { busStatus } from '../../bus/ops/status.js';
import { makeBus } from '../helpers/bus.js';
import { gitCli } from '../helpers/cli.js';

/**
 * A takeover (reclaiming, reaping) judges a holder by its heartbeat as `status` does: a ref that holds no commit
 * (an annotated tag pushed with plain git) is no beat, so its node is one that never beat (unleased), not one whose
 * beat stood still for a lease. Without this, the same bus showed gamma `unleased` while claim took its task over.
 */
describe('a heartbeat ref that holds an annotated tag, at a takeover', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  const LEASE_MS = 3000;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha', initArgs: ['--lease', '3s', '--heartbeat', '1s', '--poll', '1s', '--max-attempts', '2'] });
    await bus.addNode('beta');
    await bus.addNode('gamma');
  });
  afterAll(async () => {
    await bus?.cleanup();
  });

  const as = async <T>(node: string, body: (ctx: BusContext) => Promise<T>): Promise<T> => {
    const ctx = await openBus(bus.home(node));
    try {
      return await body(ctx);
    } finally {
      await ctx.repo.close();
    }
  };

  it('is no beat: a silent holder with a commit is taken over, one with a tag is unleased and keeps its claim', async () => {
    const idBeta = await bus.dispatch('alpha', ['held by a node that beat once', '--command', 'true']);
    const idGamma = await bus.dispatch('alpha', ['held by a node whose ref is a tag', '--command', 'true']);
    const idLast = await bus.dispatch('alpha', ['at its last attempt, held by the tag node', '--command', 'true']);
    await as('beta', async (ctx) => {
      await claim(ctx, { id: idBeta });
      await publishHeartbeat(ctx, []);
    });
    await as('gamma', async (ctx) => {
      await claim(ctx, { id: idGamma });
      await claim(ctx, { id: idLast });
      await release(ctx, idLast, 'again');
      expect((await claim(ctx, { id: idLast })).attempt).toBe(2);
    });
    // gamma's heartbeat ref: an annotated tag of main, pushed by hand.
    const work = join(bus.dir, 'work');
    gitCli(['clone', '-q', bus.remote, work]);
    gitCli(['tag', '-a', '-m', 'not a heartbeat', 'beat-tag', 'HEAD'], work);
    gitCli(['push', '-q', 'origin', 'beat-tag:refs/gitbus/heartbeats/gamma'], work);

    await as('alpha', async (ctx) => {
      // alpha watches both refs stand still for longer than the lease, listing well within half of it each time.
      const from = Date.now();
      let status = await busStatus(ctx);
      while (Date.now() - from < LEASE_MS * 1.6) {
        await new Promise((r) => setTimeout(r, 400));
        status = await busStatus(ctx);
      }
      const shown = Object.fromEntries(status.nodes.map((n) => [n.node, n.liveness]));
      expect(shown).toMatchObject({ beta: 'silent', gamma: 'unleased' });

      // gamma's last attempt: a silent holder's task there would be failed by the reap.
      const reaped = await reapExpired(ctx);
      expect(reaped.map((r) => r.id)).not.toContain(idLast);

      const taken = await claim(ctx, { id: idBeta });
      expect(taken.reclaimed).toEqual({ attempt: 1, node: 'beta' });
      await expect(claim(ctx, { id: idGamma })).rejects.toMatchObject({ code: 'TASK_STATE', data: expect.objectContaining({ holder: 'gamma' }) });
    });
  }, 60_000);
});
