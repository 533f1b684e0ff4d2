import { readFileSync } from 'node:fs';
import { isDiskFull, writeFileAtomicSync } from './local-io.js';
import { join } from 'node:path';
import { observe, type Observations } from './model/liveness.js';

/**
 * What this node has observed of others' heartbeats, kept in its home so that the lease clock survives between
 * CLI invocations and watcher restarts. Replaced by atomic rename and read without a lock: when two processes of
 * a node update it at once one update is lost, which only ever restarts a clock later (the safe direction:
 * a node is judged silent later, never sooner).
 */
export function updateObservations(home: string, refs: ReadonlyMap<string, string>, now = Date.now()): Observations {
  const path = join(home, 'liveness.json');
  const next = observe(readObservations(home), refs, now);
  try {
    writeFileAtomicSync(path, JSON.stringify(next));
  } catch (err) {
    // A full disk must not stop a node from reading the bus; unsaved first sightings are simply made again
    // later, which only delays an expiry (the safe direction).
    if (!isDiskFull(err)) throw err;
  }
  return next;
}

/** What this node observed last, unchanged: for showing while the remote cannot be reached. */
export function readObservations(home: string): Observations {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(home, 'liveness.json'), 'utf8'));
    if (parsed && typeof parsed === 'object') return parsed as Observations;
  } catch {
    // First observation, or an unreadable file: start the clocks now (the safe direction: later expiry).
  }
  return {};
}
