import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NO_OBSERVATIONS, observe, type Observations } from './model/liveness.js';

/**
 * What this node has observed of others' heartbeats, kept in its home so that the lease clock survives between
 * CLI invocations and watcher restarts. `listedAt` is when `refs` were listed (this node's clock). Call with the
 * clone lock held.
 */
export function updateObservations(home: string, refs: ReadonlyMap<string, string>, listedAt: number, leaseMs: number): Observations {
  const path = join(home, 'liveness.json');
  const prev = readObservations(home);
  if (listedAt <= 0) return prev; // nothing listed yet
  const next = observe(prev, refs, listedAt, leaseMs);
  if (next === prev) return prev;
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(next));
  renameSync(tmp, path);
  return next;
}

export function readObservations(home: string): Observations {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(home, 'liveness.json'), 'utf8'));
    if (parsed && typeof parsed === 'object' && 'nodes' in parsed && 'listedAt' in parsed) return parsed as Observations;
  } catch {
    // First observation, or an unreadable file.
  }
  // Nothing usable (or the file of an older gitbus, without listing times): every clock starts at the next
  // listing, the safe direction (later expiry).
  return NO_OBSERVATIONS;
}
