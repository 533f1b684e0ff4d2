import { describe, it, expect } from 'vitest';
import { baseTaskView } from '../../bus/model/task-view.js';
import { pickManyFromQueue, spreadHash, spreadQueue, SPREAD_WINDOW } from '../../bus/model/planner.js';
import type { TaskFiles } from '../../bus/model/types.js';

const files = (id: string): TaskFiles => ({ id, handoff: { path: `handoffs/${id}.md`, oid: 'h' }, claims: new Map(), releases: new Map() });
const v = (id: string, priority = 0) => baseTaskView(files(id), { handoff: { ok: true, data: { title: id, priority }, body: '', warnings: [] } });
/** A queue in queue order (priority, then FIFO), with ids like a dispatch makes them. */
const queue = (n: number, prefix: string, priority = 0) => Array.from({ length: n }, (_, i) => v(`${prefix}-${String(i).padStart(4, '0')}-x${(i * 7919).toString(36)}`, priority));
const nodes = Array.from({ length: 8 }, (_, i) => `w${i}`);

describe('spreadQueue (herd: concurrent claimers pick different tasks)', () => {
  it('gives eight nodes mostly different first picks from the same queue', () => {
    let distinct = 0;
    const trials = 100;
    for (let t = 0; t < trials; t++) {
      const q = queue(40, `20261130-1200${String(t).padStart(2, '0')}`);
      distinct += new Set(nodes.map((n) => spreadQueue(q, n)[0]?.id)).size;
    }
    // Random picks among 16 give 8 * (1 - (15/16)^8) = 6.4 distinct on average; the head of the queue would give 1.
    expect(distinct / trials).toBeGreaterThan(5.5);
  });

  it('is the same order at every decision for one node, and a different one for another', () => {
    const q = queue(16, 'same');
    expect(spreadQueue(q, 'w1').map((x) => x.id)).toEqual(spreadQueue([...q], 'w1').map((x) => x.id));
    expect(spreadQueue(q, 'w1').map((x) => x.id)).not.toEqual(spreadQueue(q, 'w2').map((x) => x.id));
    expect(spreadHash('w1', 'a')).toBe(spreadHash('w1', 'a'));
  });

  it('keeps priority order: a higher priority always comes first, however the hash ranks', () => {
    const q = [...queue(3, 'high', 9), ...queue(20, 'low', 0)];
    for (const n of nodes) {
      const out = spreadQueue(q, n);
      expect(out.slice(0, 3).every((x) => x.handoff?.priority === 9)).toBe(true);
      expect(out.length).toBe(q.length);
      expect(new Set(out.map((x) => x.id)).size).toBe(q.length);
    }
  });

  it('keeps FIFO up to the window: nothing passes a task from more than window-1 places behind it', () => {
    const q = queue(50, 'fifo');
    const place = new Map(q.map((x, i) => [x.id, i]));
    for (const n of nodes) {
      // Whatever comes before a task in the spread order was at most window-1 places behind it in the queue.
      let furthest = -1;
      let worst = 0;
      for (const x of spreadQueue(q, n)) {
        worst = Math.max(worst, furthest - (place.get(x.id) ?? 0));
        furthest = Math.max(furthest, place.get(x.id) ?? 0);
      }
      expect(worst).toBeLessThan(SPREAD_WINDOW);
      expect(worst).toBeGreaterThan(0);
    }
  });

  it('lets a batch take its picks in the node spread order, with the runner caps as before', () => {
    const q = queue(20, 'batch');
    const picks = pickManyFromQueue(spreadQueue(q, 'w3'), 1, 4).map((x) => x.id);
    expect(picks).toEqual(spreadQueue(q, 'w3').slice(0, 4).map((x) => x.id));
    expect(picks.every((id) => q.slice(0, SPREAD_WINDOW).some((x) => x.id === id))).toBe(true);
  });
});
