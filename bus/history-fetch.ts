import { fs } from './node-fs.js';
import { fetchObjects } from './git/fetch.js';
import { FetchFailedError, FetchWantGoneError } from './git/fetch-errors.js';
import { readShallow } from './git/shallow.js';
import { updateShallow } from './git/shallow.js';
import { parentsOf, reaches } from './store/ancestry.js';
import { looseCommitTime } from './store/commit-time.js';
import { HISTORY_SKEW_S } from './store/prune-plan.js';
import { whileRemoteExists } from './transport/local-direct.js';
import { directFetch, type HistorySince } from './transport/local-direct-fetch.js';
import type { Transport } from './transport/transport.js';

/** What a fetch of main's history needs of the clone and the remote (bus/repo.ts gives it). */
export interface HistorySource {
  gitdir: string;
  transport: Transport;
  cache: object;
  /** The remote's path when its objects are copied directly (bus/transport/local-direct.ts), else null. */
  direct: string | null;
  has(oid: string): Promise<boolean>;
  /** Told each tree the direct copy read, with its bytes. */
  kept?(oid: string, bytes: Buffer): void;
}

/**
 * Fetches main's new tip `want` (`haves`: the clone's main) with the history committed since the commit this node
 * last saw (`local`; null for a ref without history to bound, a heartbeat), less HISTORY_SKEW_S for clocks that
 * disagree (sinceFor): directly, or through upload-pack as `git fetch --shallow-since` does. A node needs main's tree
 * and the way down to `local`, which was all committed after it; a branch a person merged, forked before the clone's
 * history begins (its join, or its last prune), would otherwise bring every node the bus's history below the fork.
 * Returns the tip and the commits whose parents were left out (`cut`): the caller adds them to the shallow list once
 * it has walked down to `local` (keepCut), and fetches the rest when the walk did not find it (fetchRest).
 */
export async function fetchSince(s: HistorySource, want: string, ref: string, haves: readonly string[], local: string | null): Promise<{ tip: string; cut: string[] }> {
  let since: Promise<number | undefined> | undefined;
  const sinceOnce = () => (since ??= local === null ? Promise.resolve(undefined) : sinceFor(s.gitdir, local));
  const direct = s.direct;
  if (direct !== null) {
    const limit: HistorySince = { since: sinceOnce, cut: [] };
    if (await whileRemoteExists(direct, () => directFetch(direct, s.gitdir, want, s.has, s.kept, limit))) return { tip: want, cut: limit.cut };
  }
  const from = await sinceOnce();
  if (from !== undefined) {
    try {
      const r = await fetchObjects({ fs, gitdir: s.gitdir, cache: s.cache, transport: s.transport, want, ref, haves: [...haves], deepenSince: from, holdNewShallow: true, explodeBelow: Number.POSITIVE_INFINITY });
      return { tip: r.fetched, cut: r.offered };
    } catch (err) {
      // A remote too old for deepen-since, or one with nothing committed since (a clock far behind, commits of the
      // boundary's second): as before. Over HTTP such a refusal is an empty answer, not the server's words, so any
      // failed exchange is tried again unbounded; a timeout or a moved ref is the fetch's.
      if (!(err instanceof FetchFailedError) || err instanceof FetchWantGoneError) throw err;
    }
  }
  // Every fetched pack becomes loose objects: the live tree is small, and loose objects are what this node reads
  // fastest, while isomorphic-git's pack reads are slow on Node 20. Over SSH the ref may have moved since the
  // listing, and the fetch is served only what it is shown then.
  const r = await fetchObjects({ fs, gitdir: s.gitdir, cache: s.cache, transport: s.transport, want, ref, haves: [...haves], explodeBelow: Number.POSITIVE_INFINITY });
  return { tip: r.fetched, cut: [] };
}

/**
 * The time (Unix seconds) a fetch's history starts at: what was committed since `local`, less the allowance, and
 * never older than the clone's own boundaries (its join, its prunes, the cuts it kept): a remote asked for history
 * since a time sends a boundary's parents again when they are newer, which would bring back what the clone left out
 * (the hour before a join, the history a prune removed below a commit dated by a slow clock).
 */
async function sinceFor(gitdir: string, local: string): Promise<number | undefined> {
  const localMs = await looseCommitTime(gitdir, local).catch(() => null);
  if (localMs === null) return undefined;
  let since = Math.floor(localMs / 1000) - HISTORY_SKEW_S;
  for (const b of await readShallow(gitdir)) {
    const at = await looseCommitTime(gitdir, b).catch(() => null);
    // One dated in this machine's future (a fast clock) would ask for nothing newer: left out until its time comes.
    if (at !== null && at <= Date.now()) since = Math.max(since, Math.floor(at / 1000) + 1);
  }
  // A `local` dated in this machine's future (a fast clock) would ask for nothing newer either: an hour ago instead.
  return localMs > Date.now() ? Math.min(since, Math.floor(Date.now() / 1000) - HISTORY_SKEW_S) : since;
}

/** The commits a bounded fetch left without parents, named in the shallow list (those that still lack one). */
export async function keepCut(s: HistorySource, cut: readonly string[]): Promise<void> {
  const boundary: string[] = [];
  for (const c of cut) {
    for (const p of (await parentsOf(s.gitdir, s.cache, c)) ?? []) {
      if (await s.has(p)) continue;
      boundary.push(c);
      break;
    }
  }
  if (boundary.length > 0) await updateShallow(s.gitdir, boundary);
}

/**
 * When the way from `tip` down to `local` is not in the clone after a bounded fetch (a commit on it committed by a
 * clock more than the allowance behind, or history another process of the node fetched bounded): the history below
 * `ends`, the commits whose parents the clone lacks, fetched as a fetch did before bounds, down to what the clone
 * holds. Through upload-pack: `tip` fetched again without a bound, the remote unaware of those ends.
 */
async function fetchRest(s: HistorySource, tip: string, local: string, ends: ReadonlySet<string>): Promise<void> {
  const direct = s.direct;
  if (direct !== null) {
    let copied = true;
    for (const e of ends) {
      for (const p of (await parentsOf(s.gitdir, s.cache, e)) ?? []) {
        if (await s.has(p)) continue;
        copied = copied && (await whileRemoteExists(direct, () => directFetch(direct, s.gitdir, p, s.has, s.kept)));
      }
    }
    if (copied) return;
  }
  await fetchObjects({ fs, gitdir: s.gitdir, cache: s.cache, transport: s.transport, want: tip, haves: [local], explodeBelow: Number.POSITIVE_INFINITY });
}

/**
 * Whether `tip` leads down to `lastSeen` once what a bounded fetch (of this process, or another of the node's) may
 * have left out is fetched: walked again first (another process may have fetched it meanwhile), then the history
 * below the walk's ends fetched down to what the clone holds, as a fetch did before bounds (fetchRest), and walked
 * once more. The clone's own boundaries (its join, its prunes, the cuts kept once a walk found its way) are no such
 * ends: none lies on the way down from a new tip, and below them is history the node never needs.
 */
export async function reachesFetchingRest(s: HistorySource, tip: string, lastSeen: string): Promise<boolean> {
  const ends = new Set<string>();
  if ((await reaches(s.gitdir, s.cache, tip, lastSeen, undefined, ends)) !== false) return true;
  for (const b of await readShallow(s.gitdir)) ends.delete(b);
  if (ends.size === 0) return false;
  await fetchRest(s, tip, lastSeen, ends);
  return (await reaches(s.gitdir, s.cache, tip, lastSeen)) !== false;
}
