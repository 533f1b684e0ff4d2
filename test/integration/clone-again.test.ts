import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { openBus, type BusContext } from '../../bus/context.js';
import { cloneIsWhole, ensureClone } from '../../bus/clone-repair.js';
import { reclone } from '../../bus/shallow-clone.js';
import { makeBus } from '../helpers/bus.js';

/**
 * A clone gone from under a long-lived process is cloned again at its next sync (bus/repo.ts), and a watcher syncs
 * from more than one place at once (results beside claims): the reclones must not undo each other, nor move a clone
 * another process just made aside as damaged.
 */
describe('cloning again', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let ctx: BusContext;
  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    ctx = await openBus(bus.home('alpha'));
  });
  afterAll(async () => {
    await ctx?.repo.close();
    await bus?.cleanup();
  });
  const home = () => dirname(ctx.paths.clone);
  const beside = () => readdirSync(home()).filter((n) => n.startsWith('clone.git.'));

  it('two syncs of one process that find the clone gone make one clone between them, and leave nothing beside it', async () => {
    renameSync(ctx.paths.clone, `${ctx.paths.clone}.gone`);
    await Promise.all([ctx.repo.sync(), ctx.repo.sync(), ensureClone(ctx.paths.clone, ctx.repo.transport)]);
    expect(cloneIsWhole(ctx.paths.clone)).toBe(true);
    expect(beside()).toEqual(['clone.git.gone']);
  });

  it('a reclone that finds the clone whole again by its end keeps it, and throws its own copy away', async () => {
    const before = beside();
    const r = await reclone(ctx.paths.clone, ctx.repo.transport, () => true);
    expect(r.kept).toBeNull();
    expect(beside()).toEqual(before);
    expect(cloneIsWhole(ctx.paths.clone)).toBe(true);
  });
});
