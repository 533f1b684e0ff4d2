import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus, type BusContext } from '../../bus/context.js';
import { transact } from '../../bus/cas.js';
import { gitObjectId } from '../../bus/git/loose-object.js';
import { objectFile } from '../../bus/git/object-path.js';
import { makeBus } from '../helpers/bus.js';
import { gitCli } from '../helpers/cli.js';

/**
 * A compare-and-swap round whose main moved while it decided (another node pushed) is lost before its commit is
 * built, where the remote is a path (bus/repo.ts movedFrom): on a bus pushed to many times a second most lost races
 * are lost by then, and each wrote a commit, its trees and blobs into the clone that nothing would ever name
 * (issue 14, "keep lost races cheap").
 */
describe('a round lost while it decided', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let ctx: BusContext;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    await bus.addNode('beta');
    ctx = await openBus(bus.home('alpha'));
  });
  afterAll(async () => {
    await ctx?.repo.close();
    await bus?.cleanup();
  });

  it('writes nothing of its commit, and the next round decides again and pushes', async () => {
    const first = 'written by the round that lost\n';
    const second = 'written by the round that won\n';
    const decided: (string | null)[] = [];
    const r = await transact(ctx, 'test', async (snap, attempt) => {
      decided.push(snap.commit);
      // Another node pushes while this round decides.
      if (attempt === 1) await bus.dispatch('beta', ['pushed meanwhile', '--to', 'beta']);
      return { result: {}, commit: { changes: [{ path: 'notes/lost-early.md', content: attempt === 1 ? first : second }], message: `test: attempt ${attempt}` } };
    });
    expect(r.attempts).toBe(2);
    expect(decided[1]).not.toBe(decided[0]);
    expect(gitCli(['--git-dir', bus.remote, 'show', 'main:notes/lost-early.md'])).toBe(second);
    const blob = (text: string) => objectFile(ctx.paths.clone, gitObjectId('blob', Buffer.from(text)));
    expect(existsSync(blob(second))).toBe(true);
    expect(existsSync(blob(first)), 'the lost round wrote its blob into the clone').toBe(false);
  });
});
