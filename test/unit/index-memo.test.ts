import { describe, it, expect } from 'vitest';
import { IndexMemo, indexTree, type LiveTree } from '../../bus/model/index-tree.js';
import type { TreeEntry } from '../../bus/store/objects.js';
import type { TreeIndex } from '../../bus/model/types.js';

const blob = (path: string, oid = `oid-${path}`): TreeEntry => ({ path, oid, mode: '100644', type: 'blob' });

/** A live tree from folder listings; each folder's tree oid is made from what it lists, as git's would be. */
function live(commit: string, folders: Record<string, TreeEntry[]>): LiveTree {
  const trees = new Map<string, string>();
  for (const [f, entries] of Object.entries(folders)) trees.set(f, `${f}:${entries.map((e) => `${e.path}=${e.oid}`).join(',')}`);
  return { commit, root: [blob('gitbus.yaml')], folders: new Map(Object.entries(folders)), trees };
}

/** The index as plain data, order included. */
const plain = (i: TreeIndex) => ({
  tasks: [...i.tasks].map(([id, t]) => [id, t.handoff, [...t.claims], [...t.releases], t.cancel, t.response]),
  nodes: [...i.nodes],
  problems: i.problems,
});

describe('IndexMemo', () => {
  it('gives the same index as indexing from scratch, over a run of commits that change folders', () => {
    const memo = new IndexMemo();
    const handoffs = [blob('a.md'), blob('b.md'), blob('c.md'), blob('Bad.md')];
    const commits: Record<string, TreeEntry[]>[] = [
      { handoffs },
      { handoffs, claims: [blob('a.1.md')] },
      { handoffs, claims: [blob('a.1.md'), blob('ghost.1.md')], releases: [blob('a.1.md')] },
      { handoffs, claims: [blob('a.1.md'), blob('a.2.md')], releases: [blob('a.1.md')], responses: [blob('a.md')] },
      // a dispatch: the handoffs folder changes, one handoff's blob too
      { handoffs: [blob('0.md'), blob('a.md'), blob('b.md', 'oid-b2'), blob('c.md')], claims: [blob('b.1.md')], cancels: [blob('c.md'), blob('orphan.md')], nodes: [blob('alpha.md')] },
      { handoffs },
      { handoffs: [] },
      { handoffs, claims: [blob('a.1.md')] },
    ];
    commits.forEach((folders, i) => {
      const tree = live(`c${i}`, folders);
      expect(plain(indexTree(tree, memo)), `commit ${i}`).toEqual(plain(indexTree(tree)));
    });
  });

  it('hands back the same TaskFiles for a task whose files did not change, and new ones for those that did', () => {
    const memo = new IndexMemo();
    const handoffs = [blob('a.md'), blob('b.md')];
    const first = indexTree(live('c1', { handoffs }), memo);
    const second = indexTree(live('c2', { handoffs, claims: [blob('a.1.md')] }), memo);
    expect(second.tasks.get('b')).toBe(first.tasks.get('b'));
    expect(second.tasks.get('a')).not.toBe(first.tasks.get('a'));
    expect(second.tasks.get('a')?.claims.get(1)?.path).toBe('claims/a.1.md');
    // The earlier index is left as it was.
    expect(first.tasks.get('a')?.claims.size).toBe(0);
    const third = indexTree(live('c3', { handoffs: [blob('a.md'), blob('b.md', 'new')], claims: [blob('a.1.md')] }), memo);
    expect(third.tasks.get('a')).toBe(second.tasks.get('a'));
    expect(third.tasks.get('b')?.handoff?.oid).toBe('new');
  });
});

describe('TaskFiles of a task without claims or releases', () => {
  it('share one empty map that refuses changes; a task with claims has maps of its own', () => {
    const index = indexTree(live('c1', { handoffs: [blob('a.md'), blob('b.md'), blob('c.md')], claims: [blob('a.1.md'), blob('a.2.md')], releases: [blob('a.1.md')] }));
    const a = index.tasks.get('a');
    const b = index.tasks.get('b');
    const c = index.tasks.get('c');
    expect([...(a?.claims.keys() ?? [])]).toEqual([1, 2]);
    expect([...(a?.releases.keys() ?? [])]).toEqual([1]);
    expect(b?.claims.size).toBe(0);
    expect(b?.claims).toBe(c?.releases);
    expect(() => b?.claims.set(1, { path: 'claims/b.1.md', oid: 'x' })).toThrow('changed in place');
    // A copy (what bus/trust/node-files.ts makes before it changes a task's files) is an ordinary map.
    const copy = new Map(b?.claims);
    copy.set(1, { path: 'claims/b.1.md', oid: 'x' });
    expect(copy.size).toBe(1);
    expect(c?.claims.size).toBe(0);
  });
});
