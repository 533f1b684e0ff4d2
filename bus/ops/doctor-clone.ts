import { fs } from '../node-fs.js';
import { join } from 'node:path';
import { pruneClone, PRUNED_STAMP } from '../store/clone-prune.js';
import { firstLine } from '../../schemas/errors.js';
import { ok, warn, type Check } from './doctor-check.js';

/** A clone with at least this many loose objects to remove, and not pruned for a day, is worth a warning. */
const WORTH_PRUNING = 1000;
const DAY_MS = 24 * 3600_000;

/**
 * `home.clone-size`: what a prune of the clone would remove now (a dry run of bus/store/clone-prune.ts), and when it
 * was last pruned. A watcher prunes hourly; a node that never runs one (a laptop that only dispatches) keeps every
 * commit it fetched until `gitbus gc`.
 */
export async function cloneSizeCheck(clone: string, now = Date.now()): Promise<Check> {
  let last: number | null = null;
  try {
    last = fs.statSync(join(clone, PRUNED_STAMP)).mtimeMs;
  } catch {
    last = null;
  }
  let r;
  try {
    r = await pruneClone(clone, { dryRun: true, now });
  } catch (err) {
    return warn('home.clone-size', `the clone cannot be pruned: ${firstLine(err)}`, 'run any gitbus command with the remote reachable (it fetches damaged objects of main again), then "gitbus gc"');
  }
  const when = last === null ? 'never pruned' : `last pruned ${new Date(last).toISOString()}`;
  const mib = (r.removedBytes / 1024 / 1024).toFixed(1);
  const detail = `${r.loose} loose objects, ${r.removed} of them (${mib} MiB of their bytes) old history or old tips that a prune would remove; ${when}`;
  if (r.removed >= WORTH_PRUNING && (last === null || now - last > DAY_MS)) {
    return warn('home.clone-size', detail, 'run "gitbus gc" (it works offline); a watcher on this node (gitbus watch, or gitbus service install) prunes its clone hourly');
  }
  return ok('home.clone-size', detail);
}
