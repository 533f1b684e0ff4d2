import { readFileSync } from 'node:fs';
import { isDiskFull, writeFileAtomicSync } from './local-io.js';
import { withLocalLockSync } from './lock.js';
import { join } from 'node:path';
import { NO_OBSERVATIONS, observe, type Observations } from './model/liveness.js';

/**
 * What this node has observed of others' heartbeats, kept in its home so that the lease clock survives between
 * CLI invocations and watcher restarts. `listedAt` is when `refs` were listed (this node's clock). Several
 * processes of a node update it: the read-modify-write runs under a short lock of its own (never held across
 * network I/O), and the file is replaced atomically. `holding`: the open claims of each node in the main this
 * listing goes with (bus/ops/claim-holders.ts), when the caller read it.
 */
export function updateObservations(home: string, refs: ReadonlyMap<string, string>, listedAt: number, leaseMs: number, holding?: ReadonlyMap<string, readonly string[]>): Observations {
  const path = join(home, 'liveness.json');
  return withLocalLockSync(`${path}.lock`, () => {
    const prev = readObservations(home);
    if (listedAt <= 0) return prev; // nothing listed yet
    const next = observe(prev, refs, listedAt, leaseMs, holding);
    if (next === prev) return prev;
    try {
      writeFileAtomicSync(path, JSON.stringify(next));
    } catch (err) {
      // A full disk must not stop a node from reading the bus; unsaved first sightings are simply made again
      // later, which only delays an expiry (the safe direction).
      if (!isDiskFull(err)) throw err;
    }
    return next;
  });
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
