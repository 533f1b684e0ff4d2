import { readFileSync } from 'node:fs';
import { isDiskFull, writeFileAtomicSync } from './local-io.js';
import { withLocalLockSync } from './lock.js';
import { listingLagMs, NO_OBSERVATIONS, observe, type Observations } from './model/liveness.js';
import { joinPlain } from './join-plain.js';

/**
 * What this node has observed of others' heartbeats, kept in its home so that the lease clock survives between
 * CLI invocations and watcher restarts. `listedAt` is when `refs` were listed (this node's clock). Several
 * processes of a node update it: a write's read-modify-write runs under a short lock of its own (never held across
 * network I/O), and the file is replaced atomically, so a fold that turns out to change nothing to write is decided
 * from a read without the lock. `holding`: the open claims of each node in the main this
 * listing goes with (bus/ops/claim-holders.ts), when the caller read it.
 */
export function updateObservations(home: string, refs: ReadonlyMap<string, string>, listedAt: number, leaseMs: number, holding?: ReadonlyMap<string, readonly string[]>): Observations {
  const path = joinPlain(home, 'liveness.json');
  if (listedAt <= 0) return readObservations(home); // nothing listed yet
  // Most calls fold in what the file holds already: a watcher's wake asks with one listing for its reaping, its
  // claims and its ranking. That is decided from a read without the lock (the file is replaced whole, so the read
  // is of one version), and nothing is written: a lock and a write per ask were most of an idle watcher's wake on a
  // busy bus (issue 14).
  const seen = foldInto(readObservationsText(home), refs, listedAt, leaseMs, holding);
  if (seen.text === null) return seen.next;
  return withLocalLockSync(`${path}.lock`, () => {
    const { next, text } = foldInto(readObservationsText(home), refs, listedAt, leaseMs, holding);
    if (text === null) return next;
    try {
      writeFileAtomicSync(path, text);
    } catch (err) {
      // A full disk must not stop a node from reading the bus; unsaved first sightings are simply made again
      // later, which only delays an expiry (the safe direction).
      if (!isDiskFull(err)) throw err;
    }
    return next;
  });
}

/**
 * The observations with one listing folded in, and their text to write: null when the file holds them already, or
 * differs only by a listing time a moment older (listingLag): the caller decides from `next` all the same.
 */
function foldInto(file: string | null, refs: ReadonlyMap<string, string>, listedAt: number, leaseMs: number, holding?: ReadonlyMap<string, readonly string[]>): { next: Observations; text: string | null } {
  const prev = parseObservations(file);
  const next = observe(prev, refs, listedAt, leaseMs, holding);
  if (next === prev) return { next, text: null };
  const text = JSON.stringify(next);
  if (text === file) return { next, text: null };
  const lag = prev.listedAt === null || next.listedAt === null ? Number.POSITIVE_INFINITY : next.listedAt - prev.listedAt;
  if (lag >= 0 && lag < listingLagMs(leaseMs) && JSON.stringify({ ...next, listedAt: prev.listedAt }) === file) return { next, text: null };
  return { next, text };
}

export function readObservations(home: string): Observations {
  return parseObservations(readObservationsText(home));
}

function readObservationsText(home: string): string | null {
  try {
    return readFileSync(joinPlain(home, 'liveness.json'), 'utf8');
  } catch {
    return null; // first observation, or an unreadable file
  }
}

function parseObservations(text: string | null): Observations {
  try {
    const parsed: unknown = text === null ? null : JSON.parse(text);
    if (parsed && typeof parsed === 'object' && 'nodes' in parsed && 'listedAt' in parsed) return parsed as Observations;
  } catch {
    // An unreadable file.
  }
  // Nothing usable (or the file of an older gitbus, without listing times): every clock starts at the next
  // listing, the safe direction (later expiry).
  return NO_OBSERVATIONS;
}
