import { describe, expect, it } from 'vitest';
import { cached, parseCacheGeneration, remember } from '../../bus/model/snapshot-memos.js';

describe('the in-process parse cache', () => {
  it('empties itself at 50,000 entries and counts it, so that trees marked as loaded into it are loaded again', () => {
    const before = parseCacheGeneration();
    const oid = (n: number) => n.toString(16).padStart(40, '0');
    remember('handoffs/first.md', oid(0), { ok: false, problems: [] });
    expect(cached('handoffs/first.md', oid(0))).toBeDefined();
    // A result depends on the path too: the same blob under another name is not a hit.
    expect(cached('handoffs/other.md', oid(0))).toBeUndefined();
    for (let i = 1; i <= 50_000 && parseCacheGeneration() === before; i++) remember(`handoffs/t${i}.md`, oid(i), { ok: false, problems: [] });
    expect(parseCacheGeneration()).toBe(before + 1);
    expect(cached('handoffs/first.md', oid(0))).toBeUndefined();
  });
});
