import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { BusContext } from '../../bus/context.js';
import { makeBus } from '../helpers/bus.js';
import { ROOT, gitCli, gitbus } from '../helpers/cli.js';
import { claimInProcess, respondInProcess } from '../helpers/in-process.js';

/**
 * bus/ops/archive.ts: a delivery (docs/PROTOCOL.md §3a) committed to main between the archive's two steps. Step 1
 * copied the task as it was; step 2 must not take the rest off main and leave the delivery there alone, with no
 * handoff and no copy in the archive (its watcher dropped its note once it was written). The steps are run one by
 * one, the delivery published between them: no timing involved.
 */
describe('a delivery written while its task is being archived', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  afterAll(async () => bus?.cleanup());

  it('keeps the task whole on main; the next run moves it with the delivery', async () => {
    bus = await makeBus({ node: 'alpha' });
    const home = bus.home('alpha');
    const id = await bus.dispatch('alpha', ['work that pushes later']);
    const other = await bus.dispatch('alpha', ['work done at once']);
    const head = 'a'.repeat(40);
    await claimInProcess(home, id);
    await respondInProcess(home, id, { status: 'succeeded', project: { repo: '/srv/app.git', branch: 'feature/x', baseCommit: 'b'.repeat(40), headCommit: head, pushed: false, pushError: 'pre-receive hook declined' } });
    await claimInProcess(home, other);
    await respondInProcess(home, other, { status: 'succeeded' });
    const from = async <T>(p: string): Promise<T> => (await import(pathToFileURL(join(ROOT, 'dist', p)).href)) as T;
    const { openBus } = await from<{ openBus: (home: string) => Promise<BusContext> }>('bus/context.js');
    const { publishDelivery } = await from<typeof import('../../bus/ops/delivery.js')>('bus/ops/delivery.js');
    const ops = await from<typeof import('../../bus/ops/archive.js')>('bus/ops/archive.js');
    const withBus = async <T>(f: (ctx: BusContext) => Promise<T>): Promise<T> => {
      const ctx = await openBus(home);
      try {
        return await f(ctx);
      } finally {
        await ctx.repo.close();
      }
    };
    const onMain = () => gitCli(['ls-tree', '-r', '--name-only', 'main'], bus.remote).split('\n').filter((p) => p.includes(id));
    const inArchive = () => gitCli(['ls-tree', '-r', '--name-only', 'archive'], bus.remote).split('\n').filter((p) => p.includes(id) && !p.startsWith('ids/'));

    const removed = await withBus(async (ctx) => {
      const plan = await ops.planArchive(ctx, { all: true });
      expect(plan.moves.map((m) => m.id).sort()).toEqual([id, other].sort());
      await ops.addToArchive(ctx, plan);
      expect(await withBus((c2) => publishDelivery(c2, { id, attempt: 1, branch: 'feature/x', headCommit: head }))).toMatchObject({ outcome: 'written' });
      return ops.removeFromMain(ctx, plan);
    });
    expect(removed.kept).toEqual([id]);
    // Main's commit names what it removed, not the task kept for the next run.
    const message = gitCli(['log', '-1', '--format=%B', 'main'], bus.remote);
    expect(message).toContain(other);
    expect(message).not.toContain(id);
    expect(onMain().sort()).toEqual([`claims/${id}.1.md`, `deliveries/${id}.1.md`, `handoffs/${id}.md`, `responses/${id}.md`].sort());
    expect(gitCli(['ls-tree', '-r', '--name-only', 'main'], bus.remote)).not.toContain(other);
    expect((await gitbus(['lint', '--json'], { home })).code).toBe(0);

    const again = await withBus((ctx) => ops.archive(ctx, { all: true }));
    // The archive month is that of the task's end, which was just now (UTC).
    const month = new Date().toISOString().slice(0, 7);
    expect(again).toMatchObject({ archived: [id], kept: [] });
    expect(onMain()).toEqual([]);
    expect(inArchive()).toContain(`${month}/${id}/delivery.1.md`);
    const shown = await gitbus(['show', id, '--json'], { home });
    expect(JSON.parse(shown.stdout)).toMatchObject({ branch: { pushed: true, delivered: { path: `${month}/${id}/delivery.1.md` } } });
  }, 120_000);
});
