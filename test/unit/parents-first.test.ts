import { describe, expect, it } from 'vitest';
import { parentsFirst } from '../../bus/git/parents-first.js';

const c = (oid: string, ...parents: string[]) => ({ oid, parents });

/** Each commit after every parent of it that is among them. */
function ordered(out: { oid: string; parents: readonly string[] }[]): boolean {
  const at = new Map(out.map((x, i) => [x.oid, i]));
  return out.every((x, i) => x.parents.every((p) => !at.has(p) || (at.get(p) as number) < i));
}

describe('commits written parents first', () => {
  it('a merge whose two lines share a commit: the shared commit before both lines, the merge last', () => {
    // Found as a walk from the merge finds them: M, its second parent's line, then the first parent.
    const found = [c('M', 'P1', 'P2'), c('P2', 'X'), c('X', 'B'), c('P1', 'X')];
    // Reversed, as written before: P1 came before its parent X.
    expect(ordered([...found].reverse())).toBe(false);
    const out = parentsFirst(found);
    expect(ordered(out)).toBe(true);
    expect(out.map((x) => x.oid).sort()).toEqual(['M', 'P1', 'P2', 'X']);
    expect(out.at(-1)?.oid).toBe('M');
  });

  it('a line of 20,000 commits (no recursion), parents outside the set ignored, each commit once', () => {
    const line = Array.from({ length: 20_000 }, (_, i) => c(`c${i}`, ...(i === 0 ? ['known'] : [`c${i - 1}`])));
    const out = parentsFirst([...line].reverse());
    expect(out.map((x) => x.oid)).toEqual(line.map((x) => x.oid));
    const diamond = [c('D', 'B', 'C'), c('B', 'A'), c('C', 'A'), c('A', 'root'), c('E', 'D', 'A')];
    const d = parentsFirst(diamond);
    expect(ordered(d)).toBe(true);
    expect(d).toHaveLength(5);
  });
});
