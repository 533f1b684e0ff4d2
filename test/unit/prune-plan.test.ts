import { describe, expect, it } from 'vitest';
import { historyToKeep, type CommitFacts } from '../../bus/store/prune-plan.js';

const NOW = 10_000_000;
const HOUR = 3600_000;

/** A clone's commits: each name → its parents and how long ago it arrived (hours). */
function clone(commits: Record<string, [parents: string[], hoursAgo: number]>): (oid: string) => Promise<CommitFacts | null> {
  return async (oid) => {
    const c = commits[oid];
    return c ? { parents: c[0], arrivedMs: NOW - c[1] * HOUR } : null;
  };
}

const rules = { now: NOW, graceMs: HOUR, depth: 2 };
const sorted = (s: ReadonlySet<string>) => [...s].sort();

describe('historyToKeep', () => {
  it('keeps the tip and the commits within the depth below it, and names the last kept one a boundary', async () => {
    // e <- d <- c <- b <- a, all old.
    const commits = clone({ a: [['b'], 5], b: [['c'], 5], c: [['d'], 5], d: [['e'], 5], e: [[], 5] });
    const plan = await historyToKeep(['a'], commits, rules);
    expect(sorted(plan.keep)).toEqual(['a', 'b', 'c']);
    expect(sorted(plan.boundary)).toEqual(['c']);
  });

  it('keeps deeper commits that arrived within the grace, and stops at the first one that is neither', async () => {
    const commits = clone({ a: [['b'], 0], b: [['c'], 0], c: [['d'], 0], d: [['e'], 0.5], e: [['f'], 2], f: [[], 0] });
    const plan = await historyToKeep(['a'], commits, rules);
    // f arrived recently but lies below e, which goes: the walk never reaches it.
    expect(sorted(plan.keep)).toEqual(['a', 'b', 'c', 'd']);
    expect(sorted(plan.boundary)).toEqual(['d']);
  });

  it('keeps every tip whatever its age, walks each, and counts a commit by its least distance from one', async () => {
    // main: m <- x <- y <- z; a second tip h is a parentless heartbeat; another tip t sits on y.
    const commits = clone({ m: [['x'], 9], x: [['y'], 9], y: [['z'], 9], z: [[], 9], h: [[], 9], t: [['y'], 9] });
    const plan = await historyToKeep(['m', 'h', 't'], commits, { ...rules, depth: 1 });
    expect(sorted(plan.keep)).toEqual(['h', 'm', 't', 'x', 'y']);
    expect(sorted(plan.boundary)).toEqual(['y']);
  });

  it('makes no boundary where the clone lacks the parent already (a shallow clone), nor for a merge whose parents both stay', async () => {
    const commits = clone({ a: [['b', 'c'], 5], b: [['gone'], 5], c: [['gone'], 5] });
    const plan = await historyToKeep(['a'], commits, rules);
    expect(sorted(plan.keep)).toEqual(['a', 'b', 'c']);
    expect(plan.boundary.size).toBe(0);
  });

  it('keeps deeper commits committed since committedSince, as a fetch asks for them, and stops below them', async () => {
    const at = (hoursAgo: number) => NOW - hoursAgo * HOUR;
    const facts: Record<string, CommitFacts> = {
      a: { parents: ['b'], arrivedMs: at(5), committedMs: at(0) },
      b: { parents: ['c'], arrivedMs: at(5), committedMs: at(0.2) },
      c: { parents: ['d'], arrivedMs: at(5), committedMs: at(0.5) },
      d: { parents: ['e'], arrivedMs: at(5), committedMs: at(0.9) },
      e: { parents: [], arrivedMs: at(5), committedMs: at(3) },
    };
    const plan = await historyToKeep(['a'], async (oid) => facts[oid] ?? null, { ...rules, depth: 1, committedSince: at(1) });
    expect(sorted(plan.keep)).toEqual(['a', 'b', 'c', 'd']);
    expect(sorted(plan.boundary)).toEqual(['d']);
  });

  it('keeps nothing for a tip the clone does not hold', async () => {
    const plan = await historyToKeep(['nowhere'], clone({}), rules);
    expect(plan.keep.size).toBe(0);
    expect(plan.boundary.size).toBe(0);
  });
});
