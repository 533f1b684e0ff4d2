import { compareKeys, type QueueKey } from '../model/planner.js';

/*
 * The pure half of a status derived from an earlier commit's digest (status-derive.ts): which tasks to work out
 * again, and the earlier lists with those tasks' new entries put in their place. No I/O.
 */

/**
 * The tasks whose view may differ although none of their own files changed: those that name a changed task as a
 * dependency (a view applies its dependencies' states; a dependency's state is its own files', so one level is all).
 */
export function dependentsOf(deps: Iterable<readonly [string, readonly string[]]>, changed: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const [id, after] of deps) if (!changed.has(id) && after.some((d) => changed.has(d))) out.add(id);
  return out;
}

/**
 * `base` (in queue order) without the tasks in `drop`, with `fresh` (in queue order) put in their places: what
 * sorting all of them again would give, with a binary search per fresh task instead of a key per task. `key`: a
 * task's queue key (planner.ts queueKeyOf); `id`: its id.
 */
export function mergeQueue<T>(base: readonly T[], drop: ReadonlySet<string>, fresh: readonly T[], key: (t: T) => QueueKey, id: (t: T) => string): T[] {
  const kept = drop.size === 0 ? [...base] : base.filter((t) => !drop.has(id(t)));
  if (fresh.length === 0) return kept;
  const out: T[] = [];
  let from = 0;
  for (const f of fresh) {
    const k = key(f);
    let lo = from;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(key(kept[mid] as T), k) < 0) lo = mid + 1;
      else hi = mid;
    }
    for (let i = from; i < lo; i++) out.push(kept[i] as T);
    out.push(f);
    from = lo;
  }
  for (let i = from; i < kept.length; i++) out.push(kept[i] as T);
  return out;
}

/**
 * Per live task (`order`, the index's), its entry of `fresh` when it was worked out again, else of `base`; only
 * tasks with some. What DeriveFacts' `deps` and `taskProblems` become for the new commit.
 */
export function mergeByTask<T>(order: Iterable<string>, base: ReadonlyMap<string, T>, redone: ReadonlySet<string>, fresh: ReadonlyMap<string, T>): [string, T][] {
  const out: [string, T][] = [];
  for (const id of order) {
    const v = redone.has(id) ? fresh.get(id) : base.get(id);
    if (v !== undefined) out.push([id, v]);
  }
  return out;
}
