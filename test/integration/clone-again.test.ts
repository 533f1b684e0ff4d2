import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openBus, type BusContext } from '../../bus/context.js';
import { cloneIsWhole, ensureClone, RECLONE_WAIT_MS } from '../../bus/clone-repair.js';
import type { BusRepo } from '../../bus/repo.js';
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

  /** The node's transport, counting its listings: each reclone starts with one. */
  const counted = () => {
    const transport = ctx.repo.transport;
    let listings = 0;
    const proxy = new Proxy(transport, {
      get(target, key, receiver) {
        if (key === 'listRefs') {
          return () => {
            listings++;
            return target.listRefs();
          };
        }
        const v: unknown = Reflect.get(target, key, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as BusRepo['transport'];
    return { transport: proxy, listings: () => listings };
  };

  it('a reclone that fails on this machine is tried again after RECLONE_WAIT_MS, then twice that; meanwhile it fails as it did', async () => {
    // A clone whose fresh copy cannot be made beside it (its name one too long for the file system), as on a full
    // disk: after the listing.
    const dir = mkdtempSync(join(tmpdir(), 'gitbus-reclone-'));
    try {
      writeFileSync(join(dir, 'node.yaml'), '');
      const gitdir = join(dir, 'c'.repeat(250));
      const { transport, listings } = counted();
      let t = 1_000_000;
      const now = () => t;
      const first = await ensureClone(gitdir, transport, { waits: true, now }).catch((e: unknown) => e);
      expect(first).toMatchObject({ code: 'CLONE_DAMAGED' });
      expect(String((first as Error).message)).toContain(`at most every ${RECLONE_WAIT_MS / 1000} s`);
      expect(listings()).toBe(1);
      t += RECLONE_WAIT_MS - 1;
      await expect(ensureClone(gitdir, transport, { waits: true, now })).rejects.toBe(first);
      expect(listings()).toBe(1);
      // Where a person waits on the answer (a command, the MCP server, the web view): tried at once, every time.
      await expect(ensureClone(gitdir, transport, { now })).rejects.toMatchObject({ code: 'CLONE_DAMAGED' });
      expect(listings()).toBe(2);
      t += 1;
      await expect(ensureClone(gitdir, transport, { waits: true, now })).rejects.toThrow(`at most every ${(2 * RECLONE_WAIT_MS) / 1000} s`);
      expect(listings()).toBe(3);
      t += 2 * RECLONE_WAIT_MS - 1;
      await expect(ensureClone(gitdir, transport, { waits: true, now })).rejects.toMatchObject({ code: 'CLONE_DAMAGED' });
      expect(listings()).toBe(3);
      // Past the wait it is tried again, and the next wait is twice as long again (capped at RECLONE_WAIT_MAX_MS).
      t += 1;
      await expect(ensureClone(gitdir, transport, { waits: true, now })).rejects.toThrow(`at most every ${(4 * RECLONE_WAIT_MS) / 1000} s`);
      expect(listings()).toBe(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a reclone that fails because the remote is unreachable is tried at every call: the clone comes back with the remote', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gitbus-reclone-'));
    const remote = bus.remote;
    try {
      writeFileSync(join(dir, 'node.yaml'), '');
      const gitdir = join(dir, 'clone.git');
      const { transport, listings } = counted();
      const now = () => 0;
      renameSync(remote, `${remote}.away`);
      try {
        await expect(ensureClone(gitdir, transport, { waits: true, now })).rejects.toMatchObject({ code: 'CLONE_DAMAGED' });
        await expect(ensureClone(gitdir, transport, { waits: true, now })).rejects.toMatchObject({ code: 'CLONE_DAMAGED' });
        expect(listings()).toBe(2);
      } finally {
        renameSync(`${remote}.away`, remote);
      }
      await ensureClone(gitdir, transport, { waits: true, now });
      expect(cloneIsWhole(gitdir)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a home whose node.yaml is gone is not made again by a clone into it: NO_BUS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gitbus-reclone-'));
    try {
      const gitdir = join(dir, 'home', 'clone.git');
      await expect(ensureClone(gitdir, ctx.repo.transport)).rejects.toMatchObject({ code: 'NO_BUS' });
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
