import { describe, it, expect } from 'vitest';
import { baseTaskView } from '../../bus/model/task-view.js';
import { compareQueue, sortQueue } from '../../bus/model/planner.js';
import type { TaskFiles } from '../../bus/model/types.js';

const files = (id: string): TaskFiles => ({ id, handoff: { path: `handoffs/${id}.md`, oid: 'h' }, claims: new Map(), releases: new Map() });
const v = (id: string, priority: number | undefined, created: string | undefined) =>
  baseTaskView(files(id), { handoff: { ok: true, data: { title: id, ...(priority !== undefined ? { priority } : {}), ...(created !== undefined ? { created } : {}) }, body: '', warnings: [] } });

describe('sortQueue', () => {
  it('orders exactly as sorting with compareQueue: priority, then creation time (unknown last), then id', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    const views = Array.from({ length: 500 }, (_, i) => {
      const created = rnd(5) === 0 ? undefined : rnd(7) === 0 ? 'not a time' : new Date(Date.UTC(2026, 10, 1) + rnd(50) * 1000).toISOString();
      return v(`t-${String(rnd(1000)).padStart(4, '0')}-${i}`, rnd(4) === 0 ? undefined : rnd(5) - 2, created);
    });
    const expected = [...views].sort(compareQueue).map((x) => x.id);
    const input = [...views];
    const out = sortQueue(input);
    expect(out).toBe(input);
    expect(out.map((x) => x.id)).toEqual(expected);
  });
});
