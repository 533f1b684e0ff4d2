import { describe, expect, it } from 'vitest';
import { changedTaskIds } from '../../bus/model/index-tree.js';
import { queueKeyOf, sortQueue } from '../../bus/model/planner.js';
import type { TreeEntry } from '../../bus/store/objects.js';
import { dependentsOf, mergeByTask, mergeQueue } from '../../bus/ops/status-merge.js';
import type { TaskSummary } from '../../bus/ops/task-summary.js';
import { prng } from '../helpers/seeded-random.js';

const file = (path: string, oid = `oid-${path}`, mode = '100644'): TreeEntry => ({ path, oid, mode, type: mode === '040000' ? 'tree' : 'blob' });

describe('changedTaskIds (pure)', () => {
  it('names the tasks whose entries were added, removed or changed in id or mode, and no other', () => {
    const before = [file('a.md'), file('b.md'), file('c.md'), file('d.md'), file('e.md')];
    const after = [file('a.md'), file('b.md', 'oid-b2'), file('c.md', 'oid-c.md', '100755'), file('e.md'), file('f.md')];
    expect([...(changedTaskIds('handoffs', before, after) ?? [])].sort()).toEqual(['b', 'c', 'd', 'f']);
    expect(changedTaskIds('handoffs', before, before)?.size).toBe(0);
  });

  it('reads each folder by its own naming rules: a claim or release by its task, whatever the attempt', () => {
    expect([...(changedTaskIds('claims', [file('a.1.md')], [file('a.1.md'), file('a.2.md'), file('b.1.md')]) ?? [])].sort()).toEqual(['a', 'b']);
    expect([...(changedTaskIds('releases', [file('x.1.md')], []) ?? [])]).toEqual(['x']);
  });

  it('leaves out names that belong to no task (the index reports those afresh), but not a folder in a file\'s place', () => {
    const after = [file('README.md'), file('notes.txt'), file('Bad Name.md'), file('g.md', 'tree-g', '040000')];
    expect([...(changedTaskIds('handoffs', [], after) ?? [])]).toEqual(['g']);
  });

  it('says the same of two listings in name order, walked side by side, as of the same listings in any other order', () => {
    const rand = prng(14);
    for (let round = 0; round < 200; round++) {
      const names = Array.from({ length: 1 + Math.floor(rand() * 30) }, (_, i) => `t-${String(i).padStart(2, '0')}.md`);
      const listing = () => names.filter(() => rand() < 0.7).map((n) => (rand() < 0.2 ? file(n, `oid-${n}-${round}`) : rand() < 0.1 ? file(n, `oid-${n}`, '100755') : file(n)));
      const before = listing();
      const after = listing();
      const shuffled = (list: TreeEntry[]) => [...list].sort(() => rand() - 0.5).reverse();
      const walked = changedTaskIds('handoffs', before, after);
      expect(walked).not.toBeNull();
      expect([...(walked ?? [])].sort()).toEqual([...(changedTaskIds('handoffs', shuffled(before), shuffled(after)) ?? [])].sort());
    }
  });

  it('is null for a listing that names one path twice, which a comparison by name cannot speak for', () => {
    expect(changedTaskIds('handoffs', [file('a.md'), file('a.md', 'other')], [file('a.md')])).toBeNull();
    expect(changedTaskIds('handoffs', [file('a.md')], [file('a.md'), file('a.md', 'other')])).toBeNull();
  });
});

function summary(id: string, priority: number, created: string | null, state: TaskSummary['state'] = 'pending'): TaskSummary {
  return { id, state, title: id, from: 'x', created, to: null, labels: [], runner: 'shell', priority, attempts: 0, exhausted: false, claim: null, response: null, waitingFor: [], waitingOn: [], problems: [], repo: null, branch: null, group: null, claude: null, progress: null };
}

/** sortQueue's order over summaries, through the views it orders (the key it reads: priority, created, id). */
function sorted(list: TaskSummary[]): TaskSummary[] {
  const views = list.map((s) => ({ id: s.id, handoff: { priority: s.priority, ...(s.created ? { created: s.created } : {}) }, s }));
  return sortQueue(views).map((v) => v.s);
}

describe('mergeQueue (pure)', () => {
  it('gives what sorting the whole queue again gives, over random queues, drops and fresh tasks', () => {
    const random = prng(45);
    const created = () => (random() < 0.1 ? null : random() < 0.05 ? 'not a time' : new Date(Date.UTC(2026, 10, 1) + Math.floor(random() * 50) * 60_000).toISOString());
    for (let round = 0; round < 200; round++) {
      const base = sorted(Array.from({ length: Math.floor(random() * 40) }, (_, i) => summary(`t${i}`, Math.floor(random() * 3) - 1, created())));
      const drop = new Set(base.filter(() => random() < 0.2).map((s) => s.id));
      // A fresh task is one dropped and worked out again (its priority or time may have changed), or a new one.
      const fresh = [...[...drop].filter(() => random() < 0.6), ...Array.from({ length: Math.floor(random() * 5) }, (_, i) => `n${i}`)].map((id) => summary(id, Math.floor(random() * 3) - 1, created()));
      const kept = base.filter((s) => !drop.has(s.id));
      expect(mergeQueue(base, drop, sorted(fresh), (s) => queueKeyOf(s.priority, s.created, s.id), (s) => s.id).map((s) => s.id), `round ${round}`).toEqual(sorted([...kept, ...fresh]).map((s) => s.id));
    }
  });
});

describe('dependentsOf and mergeByTask (pure)', () => {
  it('finds the tasks that name a changed task as a dependency, not the changed ones themselves', () => {
    const deps: [string, string[]][] = [['b', ['a']], ['c', ['x', 'y']], ['a', ['z']], ['d', ['q']]];
    expect([...dependentsOf(deps, new Set(['a', 'y']))].sort()).toEqual(['b', 'c']);
    expect(dependentsOf(deps, new Set()).size).toBe(0);
  });

  it('takes each live task\'s entry from the fresh map when it was redone, else from the base, in the given order', () => {
    const base = new Map([['a', 1], ['b', 2], ['gone', 3]]);
    const fresh = new Map([['b', 20], ['new', 40]]);
    // `c` was redone and has nothing now; `a` was not and keeps its base entry.
    expect(mergeByTask(['new', 'a', 'b', 'c'], base, new Set(['b', 'c', 'new']), fresh)).toEqual([['new', 40], ['a', 1], ['b', 20]]);
  });
});
