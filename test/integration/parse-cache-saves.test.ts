import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus, type BusContext } from '../../bus/context.js';
import { currentSnapshot } from '../../bus/ops/query.js';
import { makeBus } from '../helpers/bus.js';
import { gitCli } from '../helpers/cli.js';

/**
 * A long-lived process (a watcher) reads one snapshot after another, each with one more handoff, and saves its parse
 * results after reading them all (bus/model/snapshot-disk-cache.ts saveParsedToDisk): a file for the folder's tree is
 * written once enough of its entries are new to the disk (DISK_NEW_SHARE of them), however many snapshots came
 * between, and not before. Between two files it does not look at every entry again at each snapshot: only once enough
 * blobs were parsed since its last look (issue 14), which must never keep a file from being written.
 */
const FIRST = 60;
let bus: Awaited<ReturnType<typeof makeBus>>;
let ctx: BusContext;

beforeAll(async () => {
  bus = await makeBus({ node: 'alpha' });
  await bus.addNode('beta');
  for (let i = 0; i < FIRST; i++) await bus.dispatch('beta', [`task ${i}`, '--to', 'beta']);
  ctx = await openBus(bus.home('alpha'));
}, 120_000);

afterAll(async () => {
  await ctx?.repo.close();
  await bus?.cleanup();
});

describe("a watcher's parse cache files", () => {
  it('are written once a twentieth of the folder is new, at the snapshot that makes it so, through one handoff a snapshot', async () => {
    const handoffsTree = () => gitCli(['--git-dir', bus.remote, 'rev-parse', 'main:handoffs']).trim();
    const fileOf = (tree: string) => join(ctx.paths.clone, 'gitbus-cache', 'parsed', `handoffs-${tree}.cache`);
    const read = async () => {
      const snap = await currentSnapshot(ctx);
      await snap.viewsOf(snap.ids());
      snap.saveParsed();
    };
    await read();
    // The first read of this process writes the tree it parsed whole (the join's file was for an older tree).
    expect(existsSync(fileOf(handoffsTree()))).toBe(true);
    const written: number[] = [];
    for (let added = 1; added <= 12; added++) {
      await bus.dispatch('beta', [`more ${added}`, '--to', 'beta']);
      await read();
      if (existsSync(fileOf(handoffsTree()))) written.push(added);
    }
    // 61 to 72 entries: four new ones (5 %, rounded up) make a file worth writing, counted from the last file.
    expect(written).toEqual([4, 8, 12]);
  }, 120_000);
});
