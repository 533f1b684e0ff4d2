import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus, type BusContext } from '../../bus/context.js';
import { transact } from '../../bus/cas.js';
import { gitObjectId } from '../../bus/git/loose-object.js';
import { objectFile } from '../../bus/git/object-path.js';
import { readLooseRef } from '../../bus/store/local-ref.js';
import { makeBus } from '../helpers/bus.js';
import { looseObjects } from '../helpers/clone-objects.js';
import { gitCli } from '../helpers/cli.js';

/**
 * A transaction's sync does not write the fetched main into the clone before its push (bus/repo.ts `deferRef`): the
 * pushed commit is written instead, which carries it, and a transaction that pushes nothing, or fails, writes the
 * fetched main at its end. Meanwhile this process reads the fetched main (issue 14: the rename of the ref after a
 * fetch took ~1.7 ms of a dispatch on a main other nodes moved). A round lost while it decided writes nothing at all.
 */
describe("a transaction's fetched main, written once", () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let ctx: BusContext;
  const remoteMain = () => gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']).trim();
  const cloneMain = () => readLooseRef(ctx.paths.clone, 'refs/heads/main');

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    await bus.addNode('beta');
    ctx = await openBus(bus.home('alpha'));
  });
  afterAll(async () => {
    await ctx?.repo.close();
    await bus?.cleanup();
  });

  it('decides from the fetched main while the clone still names the one before, then writes the pushed commit', async () => {
    await ctx.repo.sync();
    const before = cloneMain();
    await bus.dispatch('beta', ['moved by beta', '--to', 'beta']);
    const moved = remoteMain();
    expect(moved).not.toBe(before);
    const seen: { clone: string | null | undefined; local: string | null; snap: string | null }[] = [];
    const r = await transact(ctx, 'test', async (snap) => {
      seen.push({ clone: cloneMain(), local: await ctx.repo.localHead(), snap: snap.commit });
      return { result: {}, commit: { changes: [{ path: 'notes/deferred.md', content: 'x\n' }], message: 'test: a commit on the fetched main' } };
    });
    expect(seen).toEqual([{ clone: before, local: moved, snap: moved }]);
    expect(r.commit).toBe(remoteMain());
    expect(cloneMain()).toBe(r.commit);
    expect(gitCli(['--git-dir', bus.remote, 'rev-parse', `${r.commit}^`]).trim()).toBe(moved);
  });

  it('writes the fetched main at the end of a transaction that pushes nothing, and of one that fails', async () => {
    await bus.dispatch('beta', ['moved again', '--to', 'beta']);
    const moved = remoteMain();
    await transact(ctx, 'test', async () => ({ result: {} }));
    expect(cloneMain()).toBe(moved);

    await bus.dispatch('beta', ['and again', '--to', 'beta']);
    const again = remoteMain();
    await expect(
      transact(ctx, 'test', async () => {
        throw new Error('the decision fails');
      }),
    ).rejects.toThrow('the decision fails');
    expect(cloneMain()).toBe(again);
  });

  it('never puts back an older main over one another process of this node wrote meanwhile', async () => {
    await bus.dispatch('beta', ['moved once more', '--to', 'beta']);
    // A second context on the same home: another process of this node, with a clone it shares.
    const other = await openBus(bus.home('alpha'));
    try {
      let pushed: string | null = null;
      await transact(ctx, 'test', async () => {
        pushed = (await transact(other, 'test', async () => ({ result: {}, commit: { changes: [{ path: 'notes/other.md', content: 'y\n' }], message: 'test: another process' } }))).commit;
        return { result: {} };
      });
      expect(pushed).toBe(remoteMain());
      expect(cloneMain()).toBe(pushed);
    } finally {
      await other.repo.close();
    }
  });

  it("keeps each ref's fetched tip apart: a transaction on another ref leaves main's as it was", async () => {
    gitCli(['--git-dir', bus.remote, 'update-ref', 'refs/heads/side', remoteMain()]);
    await bus.dispatch('beta', ['moved for the side test', '--to', 'beta']);
    const moved = remoteMain();
    let seen: string | null = null;
    await transact(ctx, 'test', async () => {
      await transact(ctx, 'test', async () => ({ result: {}, commit: { changes: [{ path: 'notes/side.md', content: 'z\n' }], message: 'test: the side ref' } }), { ref: 'refs/heads/side' });
      seen = await ctx.repo.localHead();
      return { result: {} };
    });
    expect(seen).toBe(moved);
    expect(cloneMain()).toBe(moved);
  });

  it('writes nothing of a round whose main moved while it decided: the next round decides again and pushes', async () => {
    // bus/cas.ts movedFrom, where the remote is a path: on a bus pushed to many times a second most lost rounds are
    // lost by then, and each wrote a commit, its trees and blobs into the clone that nothing would name (issue 14).
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

  it('an idempotent step (the same bytes again) ends in one round however main moves meanwhile, and writes nothing', async () => {
    const same = gitCli(['--git-dir', bus.remote, 'show', 'main:gitbus.yaml']);
    const before = new Set(looseObjects(ctx.paths.clone));
    let rounds = 0;
    const r = await transact(ctx, 'test', async () => {
      rounds++;
      await bus.dispatch('beta', [`pushed during round ${rounds}`, '--to', 'beta']);
      return { result: {}, commit: { changes: [{ path: 'gitbus.yaml', content: same }], message: 'test: nothing new' } };
    });
    expect(rounds).toBe(1);
    expect(r).toMatchObject({ attempts: 1, commit: null });
    // Not even its commit went into the clone: every loose object there is one main names or had before.
    const named = new Set(gitCli(['--git-dir', ctx.paths.clone, 'rev-list', '--objects', '--all']).split('\n').map((l) => l.split(' ')[0]));
    const stray = looseObjects(ctx.paths.clone).filter((o) => !named.has(o) && !before.has(o));
    expect(stray).toEqual([]);
  });
});
