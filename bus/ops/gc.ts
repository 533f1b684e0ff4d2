import { monotonicMs } from '../monotonic.js';
import { homePaths, loadNodeConfig } from '../home.js';
import { sweepLeftovers } from '../leftovers.js';
import { pruneClone, PRUNE_GRACE_MS, type ClonePruneReport } from '../store/clone-prune.js';
import { pruneArchiveTip, type ArchiveTipPruneReport } from '../archive/tip-prune.js';

export interface GcOptions {
  /** Loose objects nothing kept names are removed once older than this (default an hour). */
  graceMs?: number;
  dryRun?: boolean;
}

export interface GcResult extends ClonePruneReport {
  clone: string;
  graceMs: number;
  /** Temp files of killed processes removed from the clone's object folders. */
  leftovers: number;
  /** The archive's tip repository inside the clone (a remote without path reads); null when there is none. */
  archiveTip: ArchiveTipPruneReport | null;
  tookMs: number;
}

/**
 * `gitbus gc`: the housekeeping of this node's clone (bus/store/clone-prune.ts), now, as a watcher does it at start
 * and hourly. The clone only: it neither reads nor writes the remote, so it works offline, and nothing on the bus
 * changes.
 */
export async function gc(home: string, opts: GcOptions = {}): Promise<GcResult> {
  // A home without a node says so, with the command that makes one.
  await loadNodeConfig(home);
  const paths = homePaths(home);
  const started = monotonicMs();
  const graceMs = opts.graceMs ?? PRUNE_GRACE_MS;
  const leftovers = opts.dryRun ? 0 : sweepLeftovers(paths, { objects: true }).length;
  const report = await pruneClone(paths.clone, { graceMs, ...(opts.dryRun ? { dryRun: true } : {}) });
  const archiveTip = await pruneArchiveTip(paths.clone, { graceMs, ...(opts.dryRun ? { dryRun: true } : {}) });
  return { clone: paths.clone, graceMs, leftovers, ...report, archiveTip, tookMs: Math.round(monotonicMs() - started) };
}
