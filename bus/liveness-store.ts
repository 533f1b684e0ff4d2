import { readFileSync } from 'node:fs';
import { isDiskFull, writeFileAtomicSync } from './local-io.js';
import { join } from 'node:path';
import { observe, type Observations } from './model/liveness.js';

/**
 * What this node has observed of others' heartbeats, kept in its home so that the lease clock survives between
 * CLI invocations and watcher restarts. Call with the clone lock held.
 */
export function updateObservations(home: string, refs: ReadonlyMap<string, string>, now = Date.now()): Observations {
  const path = join(home, 'liveness.json');
  let prev: Observations = {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (parsed && typeof parsed === 'object') prev = parsed as Observations;
  } catch {
    // First observation, or an unreadable file: start the clocks now (the safe direction: later expiry).
  }
  const next = observe(prev, refs, now);
  try {
    writeFileAtomicSync(path, JSON.stringify(next));
  } catch (err) {
    // A full disk must not stop a node from reading the bus; unsaved first sightings are simply made again
    // later, which only delays an expiry (the safe direction).
    if (!isDiskFull(err)) throw err;
  }
  return next;
}
