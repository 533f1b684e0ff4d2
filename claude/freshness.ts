import { hostname } from 'node:os';
import type { BusContext } from '../bus/context.js';
import { isAlive } from '../bus/lock.js';
import type { Snapshot } from '../bus/model/snapshot.js';
import { localSnapshot } from '../bus/ops/query.js';
import { MAIN } from '../bus/repo.js';
import { outageCode } from '../bus/remote-failure.js';
import { readOwner, watcherLockPath } from '../watcher/watcher-lock.js';

/** A watcher of this home runs on this machine, and so keeps the clone's main current at every wake. */
export function watcherRuns(home: string): boolean {
  const owner = readOwner(watcherLockPath(home));
  return owner !== null && owner.host === hostname() && isAlive(owner.pid);
}

/** How long a hook lets its one ref listing take before it goes on with what the clone has. */
const LISTING_BUDGET_MS = 3_000;

/**
 * main as this node knows it, brought up to date with one ref listing (and a fetch only if main moved) when no
 * watcher of this home does that already — a laptop that only dispatches runs none. The listing gets a few
 * seconds; an unreachable or slow remote leaves the clone as it was, since a hook must never hold the session.
 */
export async function currentEnough(ctx: BusContext, wantRemote: boolean): Promise<Snapshot> {
  if (wantRemote && !watcherRuns(ctx.paths.home)) {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([ctx.repo.sync(MAIN), new Promise((resolve) => (timer = setTimeout(resolve, LISTING_BUDGET_MS)))]);
    } catch (err) {
      if (outageCode(err) === null) throw err;
    } finally {
      clearTimeout(timer);
    }
  }
  return localSnapshot(ctx);
}
