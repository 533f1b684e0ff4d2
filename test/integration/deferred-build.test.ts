import { describe, it, expect, afterEach, vi } from 'vitest';
import { cpSync, existsSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, buildCommit, type FileChange } from '../../bus/store/objects.js';
import { gitObjectId } from '../../bus/git/loose-object.js';
import { objectFile } from '../../bus/git/object-path.js';
import { fs as busFs } from '../../bus/node-fs.js';
import { gitCli, tempDir } from '../helpers/cli.js';
import { looseObjects, ageClone } from '../helpers/clone-objects.js';
import { pruneClone } from '../../bus/store/clone-prune.js';

/**
 * A commit built in memory (buildCommit's deferWrites, what a compare-and-swap round does: bus/cas.ts) is the commit
 * built by writing each object at once, and once written it leaves the clone as that one does: the same files, written
 * children first, an object found there freshened, and one found there but pruned meanwhile written again.
 */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0)) await c();
});
const author = { name: 'n', email: 'n@x.invalid' };
const now = new Date('2026-12-01T00:00:00Z');

async function twoRepos() {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const a = join(dir.path, 'a.git');
  gitCli(['init', '-q', '--bare', a]);
  const store = openStore(a);
  const base = await buildCommit(store, {
    parent: null,
    changes: [
      { path: 'keep/one.md', content: 'one\n' },
      { path: 'keep/deep/two.md', content: 'two\n' },
      { path: 'gone/x.md', content: 'x\n' },
      { path: 'existing.md', content: 'already here\n' },
    ],
    message: 'base',
    author,
    now,
  });
  gitCli(['--git-dir', a, 'update-ref', 'refs/heads/main', base.oid]);
  const b = join(dir.path, 'b.git');
  cpSync(a, b, { recursive: true });
  return { a, b, base };
}

const changes = (blobOid: string): FileChange[] => [
  { path: 'new/dup1.md', content: 'same bytes\n' },
  { path: 'new/dup2.md', content: 'same bytes\n' },
  { path: 'new/sub/dup3.md', content: 'same bytes\n' },
  { path: 'copy-of-existing.md', content: 'already here\n' },
  { path: 'byoid.md', content: { oid: blobOid } },
  { path: 'gone/x.md', content: null },
  { path: 'keep/deep/three.md', content: new Uint8Array([0, 1, 2, 255]) },
];

const files = (gitdir: string) =>
  Object.fromEntries(looseObjects(gitdir).sort().map((o) => [o, readFileSync(objectFile(gitdir, o)).toString('base64')]));

describe('a commit built in memory, then written', () => {
  it('a deferred build equals a direct one: oids, newOids, objects, loose bytes, and the clone after flush', async () => {
    const { a, b, base } = await twoRepos();
    const blobOid = gitObjectId('blob', Buffer.from('one\n'));
    const direct = await buildCommit(openStore(a), { parent: base.oid, changes: changes(blobOid), message: 'm', author, now });
    const deferred = await buildCommit(openStore(b), { parent: base.oid, changes: changes(blobOid), message: 'm', author, now, deferWrites: true });
    expect(deferred.oid).toBe(direct.oid);
    expect(deferred.tree).toBe(direct.tree);
    expect(deferred.newOids).toEqual(direct.newOids);
    expect(deferred.objects).toEqual(direct.objects);
    expect(deferred.objects.filter((o) => o.loose).length).toBeGreaterThan(0);
    // Nothing of it in b yet.
    const beforeFlush = files(b);
    const createdInA = Object.keys(files(a)).filter((o) => !(o in beforeFlush));
    expect(createdInA.length).toBeGreaterThan(0);
    for (const o of createdInA) expect(existsSync(objectFile(b, o))).toBe(false);
    deferred.writeObjects?.();
    expect(files(b)).toEqual(files(a));
    gitCli(['--git-dir', b, 'update-ref', 'refs/heads/main', deferred.oid]);
    gitCli(['--git-dir', b, 'fsck', '--strict', '--no-progress']);
  });

  it('flush writes children before parents, the commit last', async () => {
    const { b, base } = await twoRepos();
    const blobOid = gitObjectId('blob', Buffer.from('one\n'));
    const built = await buildCommit(openStore(b), { parent: base.oid, changes: changes(blobOid), message: 'm', author, now, deferWrites: true });
    const order: string[] = [];
    const orig = busFs.renameSync;
    vi.spyOn(busFs, 'renameSync').mockImplementation((from, to) => {
      const m = /objects\/([0-9a-f]{2})\/([0-9a-f]{38})$/.exec(String(to));
      if (m) order.push(m[1]! + m[2]!);
      return orig(from, to);
    });
    built.writeObjects?.();
    // Each object, when written, names only objects already in the clone.
    const seenSoFar = new Set(looseObjects(b).filter((o) => !order.includes(o)));
    expect(order.at(-1)).toBe(built.oid);
    for (const oid of order) {
      const type = gitCli(['--git-dir', b, 'cat-file', '-t', oid]).trim();
      if (type === 'tree') {
        for (const line of gitCli(['--git-dir', b, 'ls-tree', oid]).trim().split('\n')) {
          const named = line.split(/\s+/)[2]!;
          expect(seenSoFar.has(named), `${oid} names ${named} before it is written`).toBe(true);
        }
      }
      seenSoFar.add(oid);
    }
  });

  it('an object found in the clone at build time but removed since (a prune in another process) is written again', async () => {
    const { b, base } = await twoRepos();
    const built = await buildCommit(openStore(b), { parent: base.oid, changes: [{ path: 'copy-of-existing.md', content: 'already here\n' }], message: 'm', author, now, deferWrites: true });
    const existing = gitObjectId('blob', Buffer.from('already here\n'));
    expect(built.newOids).toContain(existing);
    // As a prune of another process that found it old and unnamed would.
    unlinkSync(objectFile(b, existing));
    built.writeObjects?.();
    gitCli(['--git-dir', b, 'update-ref', 'refs/heads/main', built.oid]);
    expect(existsSync(objectFile(b, existing)), 'the new tree names a blob the clone no longer holds').toBe(true);
  });

  it('an existing object found at build time is freshened at flush', async () => {
    const { b, base } = await twoRepos();
    ageClone(b);
    const existing = gitObjectId('blob', Buffer.from('already here\n'));
    const old = statSync(objectFile(b, existing)).mtimeMs;
    const built = await buildCommit(openStore(b), { parent: base.oid, changes: [{ path: 'copy-of-existing.md', content: 'already here\n' }], message: 'm', author, now, deferWrites: true });
    expect(statSync(objectFile(b, existing)).mtimeMs).toBe(old);
    built.writeObjects?.();
    expect(statSync(objectFile(b, existing)).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
  });

  for (const deferWrites of [false, true]) {
    it(`a real prune between build and flush (deferWrites ${deferWrites}) leaves the new tree's blob in the clone`, async () => {
      const { b, base } = await twoRepos();
      // An object the clone holds that nothing names (a lost round's blob, history pruned away), old.
      const orphan = gitCli(['--git-dir', b, 'hash-object', '-w', '--stdin'], undefined, 'orphan bytes\n').trim();
      ageClone(b);
      const built = await buildCommit(openStore(b), { parent: base.oid, changes: [{ path: 'o.md', content: 'orphan bytes\n' }], message: 'm', author, now, ...(deferWrites ? { deferWrites: true } : {}) });
      expect(built.objects.find((o) => o.type === 'blob' && gitObjectId('blob', o.content) === orphan)?.loose).toBeUndefined();
      await pruneClone(b, { keepRecentlyCommitted: false });
      built.writeObjects?.();
      expect(existsSync(objectFile(b, orphan)), 'the blob the new tree names').toBe(true);
    });
  }
});
