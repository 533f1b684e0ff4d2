import { existsSync, statSync } from 'node:fs';
import type { BusContext } from '../bus/context.js';
import { ownFilesMarker, signOwnFiles } from '../bus/trust/sign-own-files.js';
import { pinPath } from '../bus/trust/pin.js';
import type { Snapshot } from '../bus/model/snapshot.js';
import { archivable, archive } from '../bus/ops/archive.js';
import { cancelDoomed } from '../bus/ops/dependency-cancel.js';
import { reapExpired } from '../bus/ops/reap.js';
import { release } from '../bus/ops/release.js';
import { dispatchDue, type UnrenderableSchedule } from '../bus/ops/schedule.js';
import type { Running } from './claimed-run.js';
import type { EnvWatch } from './env-watch.js';
import type { RemoteHealth } from './remote-health.js';
import { orphanedClaims, recoverClaims } from './restart-recovery.js';
import { outageCode } from '../bus/remote-failure.js';
import type { ResultDelivery } from './result-delivery.js';
import type { WatchOptions } from './watch-events.js';
import { unpinnedRootNotice } from './trust-unpinned.js';

export interface HousekeepingDeps {
  ctx: BusContext;
  opts: WatchOptions;
  health: RemoteHealth;
  report: (err: unknown) => void;
  /** One look at the remote, which the wake's later peeks start from; null when it failed (the failure noted). */
  look: () => Promise<Snapshot | null>;
  /** main as this node last saw it (bus/cas.ts, TransactOptions.peek). */
  peek: () => Promise<Snapshot>;
  /** This watcher's runs by task id. */
  running: ReadonlyMap<string, Running>;
  /** Results on their way to the bus (watcher/result-delivery.ts). */
  delivery: Pick<ResultDelivery, 'flush' | 'held'>;
  /** Claims of this watcher on their way to the remote. */
  claiming: () => number;
  /** Environment profiles (watcher/env-watch.ts). */
  env: EnvWatch;
}

export interface Housekeeping {
  /** Restart recovery has run (at start, or at the first wake that reached the remote). */
  readonly recovered: boolean;
  /** Restart recovery at start, the remote being reachable; its failure is the watcher's. */
  recover: () => Promise<void>;
  /** One round of housekeeping (one at a time: a call while one runs shares it). True when the wake may go on to claim. */
  keep: () => Promise<boolean>;
}

/**
 * What a wake does before it claims (docs/ARCHITECTURE.md, the watcher): restart recovery if it is still due,
 * queued results delivered, orphaned claims released, cancelled runs stopped, tasks of silent nodes reaped, due
 * schedules dispatched, tasks whose dependency failed cancelled, finished tasks archived, environment profiles
 * applied. All from one look at the remote, each syncing again only when it has something to write.
 */
export function housekeeping(deps: HousekeepingDeps): Housekeeping {
  const { ctx, opts, health, report, peek, running, delivery, env } = deps;
  const { fail, remoteFailed } = health;
  let recovered = false;

  /** Claims of this watcher it neither runs nor has a result for, as the last look found them. */
  let suspects = new Set<string>();
  /**
   * A claim whose push reached the remote while the answer was lost (the watcher took it for a failure) is held
   * by nobody: released once two looks in a row, with no claim of this watcher on the way in between, found it.
   */
  const releaseOrphans = async (snap: Snapshot): Promise<void> => {
    if (deps.claiming() > 0) {
      suspects = new Set();
      return;
    }
    const found = await orphanedClaims(ctx, snap, (id) => running.has(id) || [...delivery.held.values()].some((e) => e.id === id));
    const now = new Set(found.map((o) => `${o.id}.${o.attempt}`));
    for (const o of found) {
      if (!suspects.has(`${o.id}.${o.attempt}`)) continue;
      try {
        await release(ctx, o.id, 'this watcher never ran it: the claim reached the bus while its push seemed to fail');
        opts.onEvent({ type: 'released', id: o.id, attempt: o.attempt, reason: 'orphaned' });
        now.delete(`${o.id}.${o.attempt}`);
      } catch (err) {
        report(err);
      }
    }
    suspects = now;
  };

  /**
   * The start of every wake: one look at the remote, then, from that state, deliver queued results, stop the
   * runs whose task was cancelled, end tasks of silent nodes that nobody may take over, dispatch due schedules
   * and cancel tasks whose dependency ended without success. True when the remote answered (the wake may go on
   * to claim).
   */
  const housekeeping = async (): Promise<boolean> => {
    const snap = await deps.look();
    if (!snap) return false;
    await signOwnFilesOnPin();
    await unpinnedRoot(snap).catch(report);
    if (!recovered) {
      try {
        await recoverClaims(ctx, opts);
        recovered = true;
      } catch (err) {
        fail(err);
        // The remote went away during recovery: it is tried again at the next wake that reaches it, and nothing is
        // claimed before (a claim riding with a result waits for `recovered`). Any other failure is reported once
        // and not retried, so that a bad file of this node's cannot keep it from work for good.
        if (outageCode(err) !== null) return false;
        recovered = true;
      }
    }
    try {
      await delivery.flush();
      await releaseOrphans(snap);
      for (const r of running.values()) {
        if (r.cancel.signal.aborted || !snap.index.tasks.get(r.task.id)?.cancel) continue;
        const c = (await snap.view(r.task.id))?.cancel;
        // An unreadable cancel file still cancels (the task's state says so); it just cannot say by whom.
        r.cancelledBy = c ? { by: c.by, ...(c.reason ? { reason: c.reason } : {}) } : { by: 'an unreadable cancel file' };
        r.cancel.abort();
      }
      for (const x of await reapExpired(ctx, undefined, { peek: await peek() })) opts.onEvent({ type: 'reaped', id: x.id, status: x.status, reason: x.reason });
      const onUnrenderable = (u: UnrenderableSchedule) => opts.onEvent({ type: 'schedule-failed', template: u.template, reason: u.reason, fix: u.fix });
      for (const x of await dispatchDue(ctx, undefined, { peek: await peek(), onUnrenderable })) opts.onEvent({ type: 'scheduled', id: x.id, template: x.template, due: x.due });
      for (const x of await cancelDoomed(ctx, undefined, { peek: await peek() })) opts.onEvent({ type: 'cancelled', id: x.id, reason: x.reason });
      await archiveFinished();
    } catch (err) {
      fail(err);
    }
    // Environment profiles (watcher/env-watch.ts): a failure there is this machine's, never the remote's outage.
    await env.wake(await peek()).catch((err: unknown) => (remoteFailed(err) ? undefined : report(err)));
    return !health.isDown;
  };

  /**
   * A pin made while this watcher runs ("gitbus trust pin"): what this node wrote before is signed now, as the
   * watcher's start does, before anything reads this node's own claims and results as forgeries, reclaims its
   * finished tasks and writes their responses again (bus/trust/sign-own-files.ts). Once per pin file: a pin that
   * enforces nothing yet is not asked about at every wake.
   */
  let pinSeen = '';
  const unpinnedRoot = unpinnedRootNotice(ctx, opts.onEvent);
  const signOwnFilesOnPin = async (): Promise<void> => {
    const home = ctx.paths.home;
    if (existsSync(ownFilesMarker(home))) return;
    let pin: string;
    try {
      const st = statSync(pinPath(home));
      pin = `${st.ino} ${st.size} ${st.mtimeMs}`;
    } catch {
      return; // no pin: nothing is enforced, nothing to sign
    }
    if (pin === pinSeen) return;
    pinSeen = pin;
    await signOwnFiles(ctx).catch(fail);
  };

  /**
   * Finished tasks past `archiveAfter` go to the archive branch without anyone running `gitbus archive`, so
   * `status` does not grow without bound. Every watcher may try; archiving is idempotent compare-and-swap (an
   * entry already in the archive changes nothing, a file already gone from main is not removed twice), so each
   * task moves exactly once. Cheap: at most every few minutes, and only when the peeked state has such tasks.
   */
  let archiveLooked = 0;
  const archiveFinished = async (): Promise<void> => {
    const snap = await peek();
    const now = Date.now();
    const every = opts.archiveEveryMs ?? Math.min(ARCHIVE_EVERY_MS, snap.settings.archiveAfterMs);
    if (now - archiveLooked < every) return;
    archiveLooked = now;
    if ((await archivable(snap, now)).tasks.length === 0) return;
    const r = await archive(ctx);
    if (r.archiveCommit !== null || r.mainCommit !== null) opts.onEvent({ type: 'archived', ids: r.archived, kept: r.kept });
  };

  let keeping: Promise<boolean> | null = null;
  const keep = () =>
    (keeping ??= housekeeping()
      .catch((err: unknown) => {
        report(err);
        return false;
      })
      .finally(() => (keeping = null)));

  return {
    get recovered() {
      return recovered;
    },
    recover: async () => {
      await recoverClaims(ctx, opts);
      recovered = true;
    },
    keep,
  };
}

/** The longest a watcher waits between two looks for tasks to archive. */
const ARCHIVE_EVERY_MS = 5 * 60_000;
