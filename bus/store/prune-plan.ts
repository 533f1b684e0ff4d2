/**
 * How far a commit's time may lag behind its parent's without a node missing it (clocks that disagree), in seconds:
 * a fetch brings the history committed since the commit the node last saw, less this (bus/history-fetch.ts), and a
 * prune keeps the history committed within this of main's tip, so that a fetch never asks for pruned commits back
 * (a remote asked for history since a time sends a client's boundary's parents again when they are newer).
 */
export const HISTORY_SKEW_S = 3600;

/** What the housekeeping of a node's clone knows of one commit it holds. */
export interface CommitFacts {
  readonly parents: readonly string[];
  /** When its file arrived in this clone (its mtime, by this machine's clock), in ms; 0 for a packed one. */
  readonly arrivedMs: number;
  /** Its committer time, in ms (the committer's clock); undefined when unknown. */
  readonly committedMs?: number;
}

export interface HistoryRules {
  readonly now: number;
  /** A commit that arrived within this is kept, however deep below a tip. */
  readonly graceMs: number;
  /** A commit at most this many steps below a tip is kept, however old. */
  readonly depth: number;
  /** A commit committed at or after this (ms) is kept too. */
  readonly committedSince?: number;
}

export interface HistoryPlan {
  /** The commits kept: the tips and the history the rules keep below them. */
  readonly keep: ReadonlySet<string>;
  /**
   * Kept commits with a parent the clone holds and does not keep: their history goes, so the clone's shallow list
   * must name them (git, and gitbus's own walks, then look no further down).
   */
  readonly boundary: ReadonlySet<string>;
}

/**
 * Which history a clone keeps. Pure, given `commitOf` (null: the clone lacks that commit, the boundary of a shallow
 * clone). Every tip is kept; below the tips a commit is kept while it is within `depth` steps of one, arrived within
 * the grace, or was committed since `committedSince`, and the walk goes no further down a path than its first commit that is neither: what lies
 * below it arrived before it (a fetch writes a commit only after its parents).
 *
 * The depth is for the processes of the node that read the clone while housekeeping runs: one that read main a
 * moment ago may walk from the next tip down to it (bus/store/ancestry.ts), and must find it; the grace is for the
 * commits whose trees a process may still be reading (a derived status, a watcher's last wake).
 */
export async function historyToKeep(tips: Iterable<string>, commitOf: (oid: string) => Promise<CommitFacts | null>, rules: HistoryRules): Promise<HistoryPlan> {
  const keep = new Set<string>();
  const cut = new Set<string>();
  const parentsOf = new Map<string, readonly string[]>();
  // Breadth first from every tip at once: a commit is first met at its least distance from a tip.
  let level = [...new Set(tips)];
  const met = new Set(level);
  for (let distance = 0; level.length > 0; distance++) {
    const next: string[] = [];
    for (const oid of level) {
      const facts = await commitOf(oid);
      if (facts === null) continue;
      const recent = rules.committedSince !== undefined && facts.committedMs !== undefined && facts.committedMs >= rules.committedSince;
      if (distance > rules.depth && facts.arrivedMs < rules.now - rules.graceMs && !recent) {
        cut.add(oid);
        continue;
      }
      keep.add(oid);
      parentsOf.set(oid, facts.parents);
      for (const p of facts.parents) {
        if (met.has(p)) continue;
        met.add(p);
        next.push(p);
      }
    }
    level = next;
  }
  const boundary = new Set<string>();
  for (const [oid, parents] of parentsOf) if (parents.some((p) => cut.has(p))) boundary.add(oid);
  return { keep, boundary };
}
