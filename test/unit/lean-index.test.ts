import { createHash } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { indexTree } from '../../bus/model/index-tree.js';
import { LEAN_OTHER_MAX, leanIndex } from '../../bus/model/lean-index.js';
import type { FolderTree } from '../../bus/model/snapshot-disk-cache.js';
import { decodeTree, encodeTree } from '../../bus/store/encode.js';
import type { TreeEntry } from '../../bus/store/objects.js';
import { prng as rng } from '../helpers/seeded-random.js';

const oidOf = (n: number): string => n.toString(16).padStart(40, '0');
const file = (path: string, n: number, mode = '100644'): TreeEntry => ({ path, oid: oidOf(n), mode, type: mode === '040000' ? 'tree' : 'blob' });

/** A tree's bytes with its entries in the order given (a hand-made tree), not git's. */
const rawTree = (entries: readonly TreeEntry[]): Buffer => Buffer.concat(entries.flatMap((e) => [Buffer.from(`${e.mode.replace(/^0+/, '')} ${e.path}\0`), Buffer.from(e.oid, 'hex')]));

/**
 * A folder as a snapshot holds one read from its tree's bytes (live-folders.ts folderTreeOf), in git's order, or
 * with `shuffle` in another (a hand-made tree).
 */
function folderTree(name: string, entries: TreeEntry[], shuffle?: () => number): FolderTree {
  const bytes = shuffle ? rawTree([...entries].sort(() => shuffle() - 0.5)) : Buffer.from(encodeTree(entries));
  const decoded = decodeTree(bytes);
  return { tree: treeId(bytes), entries: decoded, count: decoded.length, bytes };
}

/** A tree's id as git names it: what is known of a tree by its id never changes (lean-index.ts keeps scans by it). */
const treeId = (bytes: Buffer): string => createHash('sha1').update(`tree ${bytes.length}\0`).update(bytes).digest('hex');

/** Ids with the characters that sort around ".": "a-b" sorts before "a.md" and "a0" after it. */
const IDS = ['a', 'a-b', 'a0', 'a_c', 'b', 'b-1', 'c', 'c9', 'd', 'task-00001', 'task-00002', 'zz', '0', '9-x'];

/** A random commit's live folders: every handoff clean unless `dirty`, the other folders with claims, ends and orphans. */
function randomFolders(next: () => number, dirty: boolean): Map<string, FolderTree> {
  let n = 1;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const some = (p: number) => IDS.filter(() => next() < p);
  const handoffs = some(0.6).map((id) => file(`${id}.md`, n++, pick(['100644', '100755', '100664'])));
  if (dirty) handoffs.push(pick([file('Bad.md', n++), file('notes.txt', n++), file('README.md', n++), file('x.md', n++, '120000'), file('y.md', n++, '040000'), file('a.1.md', n++)]));
  const folders = new Map<string, FolderTree>([['handoffs', folderTree('handoffs', handoffs)]]);
  // The other folders are not checked for order: a hand-made one may list its files in any.
  const other = (name: string, entries: TreeEntry[]) => folderTree(name, entries, next() < 0.3 ? next : undefined);
  const attempts = (ids: string[]) => ids.flatMap((id) => (next() < 0.3 ? [file(`${id}.1.md`, n++), file(`${id}.2.md`, n++)] : [file(`${id}.1.md`, n++)]));
  if (next() < 0.7) folders.set('claims', other('claims', attempts(some(0.3))));
  if (next() < 0.4) folders.set('releases', other('releases', attempts(some(0.15))));
  if (next() < 0.4) folders.set('responses', other('responses', some(0.2).map((id) => file(`${id}.md`, n++))));
  if (next() < 0.3) folders.set('cancels', other('cancels', [...some(0.1).map((id) => file(`${id}.md`, n++)), ...(next() < 0.3 ? [file('Nope.md', n++)] : [])]));
  if (next() < 0.3) folders.set('deliveries', other('deliveries', attempts(some(0.1))));
  if (next() < 0.5) folders.set('nodes', other('nodes', [file('alpha.md', n++), file('beta.md', n++)]));
  return folders;
}

function indexOf(root: TreeEntry[], folders: Map<string, FolderTree>) {
  const trees = new Map([...folders].map(([f, t]) => [f, t.tree]));
  return indexTree({ commit: 'c', root, folders: new Map([...folders].map(([f, t]) => [f, t.entries])), trees });
}

const ROOT: TreeEntry[] = [file('gitbus.yaml', 999_999)];

describe('the lean index', () => {
  it('answers as indexTree does for 400 random commits: problems, count, each task\'s files, claimed tasks, cards', () => {
    let lean = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const next = rng(seed);
      const folders = randomFolders(next, next() < 0.25);
      const root = next() < 0.1 ? [file('gitbus.yaml', 1, '120000'), file('claims', 2)] : ROOT;
      const full = indexOf(root, folders);
      const l = leanIndex({ commit: 'c', root }, folders);
      // Only a handoffs folder with an entry that is not a regular `<id>.md` file (the index's fast path) has none.
      const clean = (folders.get('handoffs')?.entries ?? []).every((e) => /^100(644|755|664)$/.test(e.mode) && /^[a-z0-9][a-z0-9_-]{0,63}\.md$/.test(e.path));
      expect(l !== null, `seed ${seed}`).toBe(clean);
      if (!l) continue;
      lean++;
      expect(l.problems, `seed ${seed}`).toEqual(full.problems);
      expect(l.count, `seed ${seed}`).toBe(full.tasks.size);
      expect([...l.nodes], `seed ${seed}`).toEqual([...full.nodes]);
      expect(l.settings, `seed ${seed}`).toEqual(full.settings);
      for (const id of [...IDS, 'Bad', 'nope', 'a.md']) {
        expect(l.has(id), `seed ${seed} ${id}`).toBe(full.tasks.has(id));
        expect(l.files(id), `seed ${seed} ${id}`).toEqual(full.tasks.get(id));
      }
      expect(l.files('a')).toBe(l.files('a'));
      const tasks = [...full.tasks.values()];
      expect(l.withFiles(['claims']), `seed ${seed}`).toEqual(tasks.filter((t) => t.claims.size > 0).map((t) => t.id));
      expect(l.withFiles(['releases']), `seed ${seed}`).toEqual(tasks.filter((t) => t.releases.size > 0).map((t) => t.id));
      expect(l.withFiles(['responses', 'cancels']), `seed ${seed}`).toEqual(tasks.filter((t) => t.response || t.cancel).map((t) => t.id));
      expect(l.withFiles(['deliveries']), `seed ${seed}`).toEqual(tasks.filter((t) => t.deliveries?.size).map((t) => t.id));
    }
    expect(lean).toBeGreaterThan(250);
  });

  it('is not had for a handoffs folder out of byte order or naming a file twice, nor with a big folder beside it', () => {
    const sorted = folderTree('handoffs', [file('a.md', 1), file('b.md', 2)]);
    expect(leanIndex({ commit: 'c', root: ROOT }, new Map([['handoffs', sorted]]))?.count).toBe(2);
    // A hand-made tree in another order, or with a name twice: a lookup by halves could miss a task.
    const raw = (names: string[]) => Buffer.concat(names.map((n, i) => Buffer.concat([Buffer.from(`100644 ${n}\0`), Buffer.from(oidOf(i + 1), 'hex')])));
    for (const names of [['b.md', 'a.md'], ['a.md', 'a.md']]) {
      const bytes = raw(names);
      const t: FolderTree = { tree: treeId(bytes), entries: decodeTree(bytes), count: names.length, bytes };
      expect(leanIndex({ commit: 'c', root: ROOT }, new Map([['handoffs', t]])), names.join(' ')).toBeNull();
    }
    // Listed without its bytes (a packed tree): the whole index is built.
    expect(leanIndex({ commit: 'c', root: ROOT }, new Map([['handoffs', { tree: sorted.tree, entries: sorted.entries, count: 2 }]]))).toBeNull();
    const many = Array.from({ length: LEAN_OTHER_MAX + 1 }, (_, i) => file(`t${i}.1.md`, i + 10));
    expect(leanIndex({ commit: 'c', root: ROOT }, new Map([['handoffs', sorted], ['claims', folderTree('claims', many)]]))).toBeNull();
  });
});
