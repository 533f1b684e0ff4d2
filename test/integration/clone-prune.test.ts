import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { pruneClone } from '../../bus/store/clone-prune.js';
import { writeLooseObject, writeLooseObjectIfNew } from '../../bus/git/loose-object.js';
import { objectFile } from '../../bus/git/object-path.js';
import { fs } from '../../bus/node-fs.js';
import { homePaths } from '../../bus/home.js';
import { openBus } from '../../bus/context.js';
import { gitCli } from '../helpers/cli.js';
import { ageClone, looseObjects } from '../helpers/clone-objects.js';
import { makeBus } from '../helpers/bus.js';
import { directCopyOff } from '../helpers/direct-env.js';
import { archivedTask, showInProcess, statusInProcess } from '../helpers/in-process.js';

const HOUR = 3600_000;

const has = (gitdir: string, oid: string) => existsSync(objectFile(gitdir, oid));
const history = (gitdir: string) => gitCli(['--git-dir', gitdir, 'rev-list', 'refs/heads/main']).trim().split('\n');

/**
 * The housekeeping of a node's clone (bus/store/clone-prune.ts): a node fetches every commit of the bus and, before
 * it, kept every object of every one of them for good. Real clones of a real bus, read back with the git CLI.
 */
describe('pruning a node clone', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let clone: string;
  const ids: string[] = [];

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    clone = homePaths(await bus.addNode('beta')).clone;
    // Ten commits, each a dispatch, all fetched by beta's next command.
    for (let i = 0; i < 10; i++) ids.push(await bus.dispatch('alpha', [`task ${i}`, '--command', 'true']));
    await statusInProcess(bus.home('beta'));
  });
  afterAll(async () => bus?.cleanup());

  it('keeps main and the commits the depth keeps, with whole trees, removes the older history, and git reads the clone as before', async () => {
    const before = history(clone);
    expect(before.length).toBeGreaterThanOrEqual(11);
    const oldest = before[before.length - 1] as string;
    const removedCommit = before[5] as string;
    ageClone(clone);
    const looseBefore = looseObjects(clone).length;

    const dry = await pruneClone(clone, { keepRecentlyCommitted: false, depth: 3, dryRun: true });
    expect(dry.removed).toBeGreaterThan(0);
    expect(looseObjects(clone)).toHaveLength(looseBefore);
    expect(existsSync(join(clone, 'shallow')) && readFileSync(join(clone, 'shallow'), 'utf8').includes(before[3] as string)).toBe(false);

    const r = await pruneClone(clone, { keepRecentlyCommitted: false, depth: 3 });
    expect(r).toMatchObject({ dryRun: false, removed: dry.removed, loose: looseBefore, young: 0, newBoundaries: 1, packs: 0 });
    expect(looseObjects(clone)).toHaveLength(looseBefore - r.removed);
    // The tip and three commits below it; the fourth is the new boundary.
    expect(history(clone)).toEqual(before.slice(0, 4));
    expect(readFileSync(join(clone, 'shallow'), 'utf8')).toContain(before[3]);
    expect(has(clone, removedCommit)).toBe(false);
    expect(has(clone, oldest)).toBe(false);
    // Whole trees for every kept commit: fsck walks them and names nothing missing.
    const fsck = gitCli(['--git-dir', clone, 'fsck', '--no-dangling', '--connectivity-only']);
    expect(fsck).not.toMatch(/missing|broken/);
    // A second run finds nothing more to remove.
    expect((await pruneClone(clone, { keepRecentlyCommitted: false, depth: 3 })).removed).toBe(0);
  });

  it('leaves a clone every command still works with: the next fetch, a status, a show and a dispatch from it', async () => {
    const next = await bus.dispatch('alpha', ['after the prune', '--command', 'true']);
    const status = await statusInProcess<{ tasks: { id: string }[] }>(bus.home('beta'));
    expect(status.tasks.map((t) => t.id)).toEqual(expect.arrayContaining([...ids, next]));
    expect((await showInProcess<{ summary: { title: string } }>(bus.home('beta'), ids[0] as string)).summary.title).toBe('task 0');
    const mine = await bus.dispatch('beta', ['from beta', '--command', 'true']);
    expect(gitCli(['--git-dir', bus.remote, 'show', `main:handoffs/${mine}.md`])).toContain('from beta');
    expect(gitCli(['--git-dir', bus.remote, 'fsck', '--no-dangling'])).not.toMatch(/missing|broken/);
  });

  it('leaves a clone git upload-pack serves: a fetch that tells the remote the new boundary brings what changed', async () => {
    for (let i = 0; i < 3; i++) await bus.dispatch('alpha', [`more ${i}`, '--command', 'true']);
    await statusInProcess(bus.home('beta'));
    ageClone(clone);
    expect((await pruneClone(clone, { keepRecentlyCommitted: false, depth: 1 })).newBoundaries).toBe(1);
    const restore = directCopyOff();
    try {
      const later = await bus.dispatch('alpha', ['through upload-pack', '--command', 'true']);
      const status = await statusInProcess<{ tasks: { id: string }[] }>(bus.home('beta'));
      expect(status.tasks.map((t) => t.id)).toContain(later);
    } finally {
      restore();
    }
    expect(gitCli(['--git-dir', clone, 'fsck', '--no-dangling', '--connectivity-only'])).not.toMatch(/missing|broken/);
  });

  it('keeps an object nothing names while it is younger than the grace, and one a write found there and freshened', async () => {
    const fresh = await writeLooseObject(fs, clone, 'blob', Buffer.from('written a moment ago\n'));
    const reused = await writeLooseObject(fs, clone, 'blob', Buffer.from('written long ago, then again\n'));
    const stale = await writeLooseObject(fs, clone, 'blob', Buffer.from('written long ago\n'));
    const longAgo = (Date.now() - 2 * HOUR) / 1000;
    utimesSync(objectFile(clone, reused), longAgo, longAgo);
    utimesSync(objectFile(clone, stale), longAgo, longAgo);
    // A commit being built finds the object there: it freshens it rather than write it again.
    expect((await writeLooseObjectIfNew(fs, clone, 'blob', Buffer.from('written long ago, then again\n'))).created).toBe(false);
    expect(statSync(objectFile(clone, reused)).mtimeMs).toBeGreaterThan(Date.now() - HOUR);
    // So does a command that asks whether the clone has it (a fetch, a push, an archive read deciding what to copy).
    const asked = await writeLooseObject(fs, clone, 'blob', Buffer.from('asked about\n'));
    utimesSync(objectFile(clone, asked), longAgo, longAgo);
    const ctx = await openBus(bus.home('beta'));
    try {
      expect(await ctx.repo.hasObject(asked)).toBe(true);
    } finally {
      await ctx.repo.close();
    }

    const r = await pruneClone(clone, { keepRecentlyCommitted: false, depth: 3 });
    expect(r.young).toBeGreaterThanOrEqual(2);
    expect(has(clone, fresh)).toBe(true);
    expect(has(clone, reused)).toBe(true);
    expect(has(clone, asked)).toBe(true);
    expect(has(clone, stale)).toBe(false);
  });

  it('keeps what a ref names that is no commit of main: an annotated tag of old history, a blob too large to read', async () => {
    for (let i = 0; i < 5; i++) await bus.dispatch('alpha', [`for the tag ${i}`, '--command', 'true']);
    await statusInProcess(bus.home('beta'));
    const old = history(clone)[4] as string;
    gitCli(['--git-dir', clone, ...['-c', 'user.name=p', '-c', 'user.email=p@p'], 'tag', '-a', '-m', 'kept', 'kept-tag', old]);
    const huge = await writeLooseObject(fs, clone, 'blob', Buffer.alloc(65 * 1024 * 1024));
    gitCli(['--git-dir', clone, 'update-ref', 'refs/gitbus/heartbeats/junk', huge]);
    try {
      ageClone(clone);
      await pruneClone(clone, { keepRecentlyCommitted: false, depth: 1 });
      expect(has(clone, huge)).toBe(true);
      expect(has(clone, old)).toBe(true);
      expect(gitCli(['--git-dir', clone, 'fsck', '--no-dangling', '--connectivity-only'])).not.toMatch(/missing|broken/);
    } finally {
      gitCli(['--git-dir', clone, 'update-ref', '-d', 'refs/gitbus/heartbeats/junk']);
      gitCli(['--git-dir', clone, 'tag', '-d', 'kept-tag']);
    }
  });

  it('removes nothing and names the object when a tree it keeps cannot be read', async () => {
    const tip = history(clone)[0] as string;
    const root = gitCli(['--git-dir', clone, 'rev-parse', `${tip}^{tree}`]).trim();
    const stale = await writeLooseObject(fs, clone, 'blob', Buffer.from('garbage to remove\n'));
    const longAgo = (Date.now() - 2 * HOUR) / 1000;
    utimesSync(objectFile(clone, stale), longAgo, longAgo);
    const file = objectFile(clone, root);
    const good = readFileSync(file);
    fs.chmodSync(file, 0o644);
    writeFileSync(file, Buffer.from('not zlib at all'));
    try {
      await expect(pruneClone(clone, { keepRecentlyCommitted: false, depth: 3 })).rejects.toMatchObject({ code: 'CLONE_DAMAGED', data: { oid: root } });
      expect(has(clone, stale)).toBe(true);
      // A file that inflates, but to no tree's entries.
      writeFileSync(file, deflateSync(Buffer.from('tree 10\0not a tree', 'latin1')));
      await expect(pruneClone(clone, { keepRecentlyCommitted: false, depth: 3 })).rejects.toMatchObject({ code: 'CLONE_DAMAGED', data: { oid: root } });
      expect(has(clone, stale)).toBe(true);
    } finally {
      writeFileSync(file, good);
    }
  });
});

/**
 * An archived task read through git's services (path reads) lands in the clone as the task's folder and its files,
 * which no ref of a node that never synced the archive names. Read again later, the folder is found and freshened;
 * its files, not asked about, must stay with it.
 */
describe('pruning after reading an archived task through upload-pack', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let restore = (): void => undefined;
  afterAll(async () => {
    restore();
    await bus?.cleanup();
  });

  it('keeps the files of a folder a later read freshened, so the task reads again after the prune', async () => {
    restore = directCopyOff();
    bus = await makeBus({ node: 'alpha' });
    const id = await archivedTask(bus.home('alpha'), 'archived long ago');
    const beta = await bus.addNode('beta');
    const clone = homePaths(beta).clone;
    expect((await showInProcess<{ state: string }>(beta, id)).state).toBe('succeeded');
    ageClone(clone);
    expect((await showInProcess<{ state: string }>(beta, id)).state).toBe('succeeded');
    const r = await pruneClone(clone);
    expect(r.young).toBeGreaterThan(0);
    expect((await showInProcess<{ state: string }>(beta, id)).state).toBe('succeeded');
  });
});
