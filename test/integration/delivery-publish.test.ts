import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusContext } from '../../bus/context.js';
import type { DeliveryOutcome, LandedPush } from '../../bus/ops/delivery.js';
import { makeBus } from '../helpers/bus.js';
import { ROOT, gitCli } from '../helpers/cli.js';
import { claimInProcess, respondInProcess, showInProcess } from '../helpers/in-process.js';

/**
 * bus/ops/delivery.ts publishDelivery, what a watcher calls once a refused push lands (docs/PROTOCOL.md §3a, "A push
 * that lands later"): written only over this node's response of that attempt that said `pushed: false`, once; it
 * waits for a response not on the bus yet, and gives up (`moot`) on one it can never complete.
 */
describe('publishing a push that landed later', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home: string;
  let id: string;
  const head = 'a'.repeat(40);
  let publish: (landed: LandedPush) => Promise<DeliveryOutcome>;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    home = bus.home('alpha');
    id = await bus.dispatch('alpha', ['work that pushes later']);
    await claimInProcess(home, id);
    const { openBus } = (await import(pathToFileURL(join(ROOT, 'dist/bus/context.js')).href)) as { openBus: (home: string) => Promise<BusContext> };
    const { publishDelivery } = (await import(pathToFileURL(join(ROOT, 'dist/bus/ops/delivery.js')).href)) as typeof import('../../bus/ops/delivery.js');
    publish = async (landed) => {
      const ctx = await openBus(home);
      try {
        return await publishDelivery(ctx, landed);
      } finally {
        await ctx.repo.close();
      }
    };
  });
  afterAll(async () => bus?.cleanup());

  it('waits for the response, refuses what is not its result, writes once', async () => {
    const landed = { id, attempt: 1, branch: 'feature/x', headCommit: head };
    expect(await publish(landed)).toMatchObject({ outcome: 'wait', why: expect.stringContaining('not on the bus yet') });
    await respondInProcess(home, id, { status: 'succeeded', project: { repo: '/srv/app.git', branch: 'feature/x', baseCommit: 'b'.repeat(40), headCommit: head, pushed: false, pushError: 'pre-receive hook declined' } });
    expect(await publish({ ...landed, headCommit: 'c'.repeat(40) })).toMatchObject({ outcome: 'moot', why: expect.stringContaining('is not the result the response') });
    expect(await publish({ ...landed, attempt: 2 })).toMatchObject({ outcome: 'moot', why: expect.stringContaining('not attempt 2 of this node') });
    expect(await publish({ ...landed, id: '20261204-000000-nosuch' })).toMatchObject({ outcome: 'moot', why: expect.stringContaining('not on main') });
    expect(await publish({ ...landed, branch: `feature/x-moved-${head.slice(0, 8)}` })).toMatchObject({ outcome: 'written' });
    expect(await publish(landed)).toMatchObject({ outcome: 'already' });
    const shown = await showInProcess<{ branch: { branch: string; pushed: boolean; delivered: { path: string } } }>(home, id);
    expect(shown.branch).toMatchObject({ branch: `feature/x-moved-${head.slice(0, 8)}`, pushed: true, delivered: { path: `deliveries/${id}.1.md` } });
  });

  it('names the URL pushed to, without credentials, for a project name, and show fetches from it', async () => {
    const named = await bus.dispatch('alpha', ['work on a node.yaml project']);
    await claimInProcess(home, named);
    await respondInProcess(home, named, { status: 'succeeded', project: { repo: 'app', branch: 'feature/y', baseCommit: 'b'.repeat(40), headCommit: head, pushed: false, pushError: 'pre-receive hook declined' } });
    expect(await publish({ id: named, attempt: 1, branch: 'feature/y', headCommit: head, url: 'https://me:s3cret@git.example.com/app.git' })).toMatchObject({ outcome: 'written' });
    const file = gitCli(['show', `main:deliveries/${named}.1.md`], bus.remote);
    expect(file).toContain('url: https://git.example.com/app.git');
    expect(file).not.toContain('s3cret');
    const shown = await showInProcess<{ branch: { repo: string; fetch: string } }>(home, named);
    expect(shown.branch.repo).toBe('app');
    expect(shown.branch.fetch).toContain('https://git.example.com/app.git');
    expect(shown.branch.fetch).toBe(`git fetch https://git.example.com/app.git refs/heads/feature/y`);
  });
});
