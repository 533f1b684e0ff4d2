import { monotonicMs } from '../bus/monotonic.js';
import { pruneArchiveTip } from '../bus/archive/tip-prune.js';
import { pruneClone, PRUNE_GRACE_MS } from '../bus/store/clone-prune.js';
import type { WatchEvent } from './watch-events.js';

/** How often a watcher prunes its node's clone. */
export const CLONE_GC_EVERY_MS = 3600_000;

/**
 * The clone's housekeeping while a watcher runs: once at start, then every `everyMs`, one run at a time. A busy bus
 * brings a watcher a commit every few seconds, and each left its objects in the clone for good (about 40-65 KiB a
 * commit on a bus of 1,000 live tasks): an hour of them is what a clone holds beyond what it keeps. A failure (a
 * damaged object, a full disk) is the watcher's to report; the next run tries again.
 */
export function cloneGc(clone: string, onEvent: (e: WatchEvent) => void, report: (err: unknown) => void, everyMs = CLONE_GC_EVERY_MS): { stop(): void } {
  let running: Promise<void> | null = null;
  const once = () => {
    running ??= (async () => {
      const started = monotonicMs();
      try {
        const r = await pruneClone(clone);
        // The archive's tip repository, where the remote serves no path reads: its earlier tips (bus/archive/tip-prune.ts).
        const tip = await pruneArchiveTip(clone, { graceMs: PRUNE_GRACE_MS });
        const removed = r.removed + (tip?.removed ?? 0);
        if (removed > 0) onEvent({ type: 'clone-pruned', removed, freedBytes: r.removedBytes + (tip?.removedBytes ?? 0), kept: r.named, tookMs: Math.round(monotonicMs() - started) });
      } catch (err) {
        report(err);
      }
    })().finally(() => (running = null));
  };
  once();
  const timer = setInterval(once, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
