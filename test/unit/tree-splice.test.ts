import { describe, expect, it } from 'vitest';
import { decodeTree, encodeTree } from '../../bus/store/encode.js';
import type { TreeEntry } from '../../bus/store/objects.js';
import { findEntry, scanTree, spliceTree, type ScannedTree } from '../../bus/store/tree-splice.js';
import { prng } from '../helpers/seeded-random.js';

const oid = (n: number) => n.toString(16).padStart(40, '0');
const entry = (path: string, n: number, mode = '100644'): TreeEntry => ({ path, oid: oid(n), mode, type: mode === '040000' ? 'tree' : mode === '160000' ? 'commit' : 'blob' });
/** scanTree's answer for bytes it must take. */
function scanned(bytes: Buffer): ScannedTree {
  const t = scanTree(bytes);
  if (t === null) throw new Error(`scanTree refused ${bytes.length} bytes it must take`);
  return t;
}
const MODES = ['100644', '100644', '100644', '100755', '120000', '040000', '160000'];

/** What the decoded way makes of `before` with `edits`: a map by name, encoded again (bus/store/objects.ts applyChanges). */
function expected(before: Uint8Array, edits: Map<string, TreeEntry | null>): Buffer {
  const byName = new Map(decodeTree(before).map((e) => [e.path, e]));
  for (const [name, e] of edits) {
    if (e === null) byName.delete(name);
    else byName.set(name, e);
  }
  return Buffer.from(encodeTree([...byName.values()]));
}

describe('a tree spliced from its bytes (bus/store/tree-splice.ts)', () => {
  it('gives the bytes decoding, changing and encoding give, over random trees and changes', () => {
    const rand = prng(58);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    for (let round = 0; round < 400; round++) {
      // Names that sort apart as files and folders: "a", "a-b", "a.md", "a/" (a folder "a").
      const names = Array.from({ length: Math.floor(rand() * 30) }, (_, i) => pick(['t', 'a', 'a-b', 'a.md', 'b', 'x']) + (rand() < 0.5 ? `-${i}` : ''));
      const listing = [...new Set(names)].map((n, i) => entry(n, round * 100 + i, pick(MODES)));
      const before = Buffer.from(encodeTree(listing));
      const t = scanned(before);
      for (const e of listing) expect(findEntry(t, e.path)).toEqual(decodeTree(before).find((d) => d.path === e.path));
      expect(findEntry(t, 'not-there')).toBeUndefined();
      const edits = new Map<string, TreeEntry | null>();
      for (let k = Math.floor(rand() * 5); k > 0; k--) {
        const name = rand() < 0.5 && listing.length > 0 ? pick(listing).path : pick(['a', 'a-b', 'a.md', 'new', 'z', '0']) + (rand() < 0.5 ? `-${k}` : '');
        edits.set(name, rand() < 0.3 ? null : entry(name, 900_000 + round * 10 + k, pick(MODES)));
      }
      expect(spliceTree(t, edits).equals(expected(before, edits)), `round ${round}: ${[...edits.keys()].join(', ')}`).toBe(true);
    }
  });

  it('adds to an empty tree, and removes every entry', () => {
    const empty = scanned(Buffer.alloc(0));
    expect(decodeTree(spliceTree(empty, new Map([['b.md', entry('b.md', 2)], ['a.md', entry('a.md', 1)]])))).toEqual([entry('a.md', 1), entry('b.md', 2)]);
    const two = scanned(Buffer.from(encodeTree([entry('a.md', 1), entry('b', 2, '040000')])));
    expect(spliceTree(two, new Map([['a.md', null], ['b', null]])).length).toBe(0);
  });

  it('is null for a tree that decoding and encoding would change: out of order, a name twice, a mode with a leading zero, a name not ASCII, cut short', () => {
    const raw = (...parts: [string, string, number][]) => Buffer.concat(parts.map(([mode, name, n]) => Buffer.concat([Buffer.from(`${mode} ${name}\0`, 'utf8'), Buffer.from(oid(n), 'hex')])));
    expect(scanTree(raw(['100644', 'a', 1], ['100644', 'b', 2]))).not.toBeNull();
    expect(scanTree(raw(['100644', 'b', 1], ['100644', 'a', 2]))).toBeNull();
    expect(scanTree(raw(['100644', 'a', 1], ['100644', 'a', 2]))).toBeNull();
    // A file and a folder of one name, apart in git's order.
    expect(scanTree(raw(['100644', 'x', 1], ['100644', 'x.md', 2], ['40000', 'x', 3]))).toBeNull();
    expect(scanTree(raw(['040000', 'a', 1]))).toBeNull();
    expect(scanTree(raw(['100644', 'é.md', 1]))).toBeNull();
    expect(scanTree(raw(['100644', 'a', 1]).subarray(0, 20))).toBeNull();
    expect(scanTree(Buffer.from(' a\0' + 'x'.repeat(20), 'latin1'))).toBeNull();
  });

  it('refuses an entry whose id is not an object id, as encodeTree does', () => {
    const t = scanned(Buffer.from(encodeTree([entry('a.md', 1)])));
    expect(() => spliceTree(t, new Map([['b.md', { ...entry('b.md', 2), oid: 'nope' }]]))).toThrow(/not an object id/);
  });
});
