import { describe, expect, it } from 'vitest';
import { decodeTree, encodeTree } from '../../bus/store/encode.js';
import type { TreeEntry } from '../../bus/store/objects.js';
import { treeDiff } from '../../bus/store/tree-diff.js';
import { prng } from '../helpers/seeded-random.js';

const oid = (n: number) => n.toString(16).padStart(40, '0');
const blob = (path: string, n: number, mode = '100644'): TreeEntry => ({ path, oid: oid(n), mode, type: 'blob' });

/** What treeDiff should say, from the decoded listings: the entries of each that the other lacks as they are. */
function expected(before: TreeEntry[], after: TreeEntry[]) {
  const key = (e: TreeEntry) => `${e.mode} ${e.path} ${e.oid}`;
  const inBefore = new Set(before.map(key));
  const inAfter = new Set(after.map(key));
  return { before: before.filter((e) => !inAfter.has(key(e))), after: after.filter((e) => !inBefore.has(key(e))) };
}

describe('treeDiff (pure)', () => {
  it('says which entries each tree lacks as they are, decoded as decodeTree decodes them, over random trees', () => {
    const rand = prng(46);
    for (let round = 0; round < 300; round++) {
      const names = Array.from({ length: Math.floor(rand() * 40) }, (_, i) => (i % 9 === 4 ? `é-${i}.md` : `t-${String(i).padStart(3, '0')}.md`));
      const listing = () =>
        names.filter(() => rand() < 0.8).map((n, i) => (rand() < 0.15 ? blob(n, round * 1000 + i) : rand() < 0.05 ? blob(n, i, '100755') : blob(n, i)));
      const before = decodeTree(encodeTree(listing()));
      const after = decodeTree(encodeTree(listing()));
      const got = treeDiff(encodeTree(before), encodeTree(after));
      expect(got).toEqual(expected(before, after));
    }
  });

  it('compares a folder, a submodule and a link by mode and id as any entry, and an empty tree with any', () => {
    const before: TreeEntry[] = [{ path: 'a', oid: oid(1), mode: '040000', type: 'tree' }, blob('b.md', 2), { path: 'c', oid: oid(3), mode: '160000', type: 'commit' }];
    const after: TreeEntry[] = [{ path: 'a', oid: oid(9), mode: '040000', type: 'tree' }, blob('b.md', 2, '120000'), { path: 'c', oid: oid(3), mode: '160000', type: 'commit' }];
    const d = decodeTree(encodeTree(before));
    const e = decodeTree(encodeTree(after));
    expect(treeDiff(encodeTree(before), encodeTree(after))).toEqual(expected(d, e));
    expect(treeDiff(new Uint8Array(0), encodeTree(after))).toEqual({ before: [], after: e });
    expect(treeDiff(encodeTree(before), new Uint8Array(0))).toEqual({ before: d, after: [] });
  });

  it('is null for bytes that are not a tree, or differing entries out of byte order (a hand-made tree, or git putting a folder after "x.md")', () => {
    const good = Buffer.from(encodeTree([blob('a.md', 1), blob('b.md', 2)]));
    const swapped = Buffer.concat([Buffer.from(encodeTree([blob('b.md', 2)])), Buffer.from(encodeTree([blob('a.md', 1)]))]);
    expect(treeDiff(good, swapped)).toBeNull();
    expect(treeDiff(good, good.subarray(0, good.length - 3))).toBeNull();
    expect(treeDiff(Buffer.from('100644 no-nul'), good)).toBeNull();
    // git's own order: the folder "x" sorts as "x/", after "x.md"; by bytes "x" comes first.
    const gitOrder = encodeTree([blob('x.md', 1), { path: 'x', oid: oid(2), mode: '040000', type: 'tree' }]);
    expect(treeDiff(gitOrder, good)).toBeNull();
    expect(treeDiff(good, good)).toEqual({ before: [], after: [] });
  });

  it('counts entries both trees hold alike at the same place as alike, a name twice among them too; any other is told', () => {
    // "a.md" twice in the first: the first of them is the other's first entry, the second differs from "b.md".
    const twice = Buffer.concat([Buffer.from(encodeTree([blob('a.md', 1)])), Buffer.from(encodeTree([blob('a.md', 1)]))]);
    const good = Buffer.from(encodeTree([blob('a.md', 1), blob('b.md', 2)]));
    expect(treeDiff(twice, good)).toEqual({ before: [blob('a.md', 1)], after: [blob('b.md', 2)] });
    // Many alike before and after a change in the middle: only the change is told.
    const many = (changed: number) => encodeTree(Array.from({ length: 500 }, (_, i) => blob(`t-${String(i).padStart(3, '0')}.md`, i === 250 ? changed : i)));
    expect(treeDiff(many(250), many(9999))).toEqual({ before: [blob('t-250.md', 250)], after: [blob('t-250.md', 9999)] });
  });
});
