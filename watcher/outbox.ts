import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isDiskFull, writeFileAtomicSync } from '../bus/local-io.js';
import { join } from 'node:path';
import type { RespondInput } from '../bus/ops/respond.js';
import type { PendingPush } from './workspace/push.js';

/**
 * Results waiting to be pushed: each is written here before the push is tried, and removed only once the
 * remote has accepted it, so a remote that is down, or a crash in between, loses nothing. A result the bus no
 * longer accepts (the task was reclaimed while this node was cut off) moves to `outbox/rejected/` for a person.
 */
export interface OutboxEntry {
  id: string;
  attempt: number;
  queuedAt: string;
  input: Omit<RespondInput, 'now'>;
  /** A project task's branch, pushed before the response (watcher/workspace/deliver-branch.ts). */
  push?: PendingPush;
}

const dirOf = (home: string) => join(home, 'outbox');
const fileOf = (home: string, id: string, attempt: number) => join(dirOf(home), `${id}.${attempt}.json`);

const reservationOf = (home: string, id: string, attempt: number) => join(dirOf(home), `${id}.${attempt}.reserved`);

/** Room kept for one result: more than a response can hold (its sections are capped, bus/ops/respond.ts). */
export const RESERVED_BYTES = 256 * 1024;

/**
 * Keeps room for a run's result before the run starts: a run that fills the disk (its output, its files) would
 * otherwise leave no room to store what it ended with. Best effort: false when even this did not fit.
 */
export function reserveOutbox(home: string, id: string, attempt: number): boolean {
  try {
    mkdirSync(dirOf(home), { recursive: true });
    writeFileSync(reservationOf(home, id, attempt), Buffer.alloc(RESERVED_BYTES));
    return true;
  } catch {
    try {
      rmSync(reservationOf(home, id, attempt), { force: true });
    } catch {
      // nothing more to do: the result will be held in memory if it cannot be stored
    }
    return false;
  }
}

export function dropReservation(home: string, id: string, attempt: number): void {
  rmSync(reservationOf(home, id, attempt), { force: true });
}

/** Reservations of runs a crashed watcher left behind. */
export function dropAllReservations(home: string): void {
  try {
    for (const n of readdirSync(dirOf(home))) if (n.endsWith('.reserved')) rmSync(join(dirOf(home), n), { force: true });
  } catch {
    // no outbox yet
  }
}

/** Stores a result; on a full disk the run's reservation is given up to make the room. Throws when even that fails. */
export function putOutbox(home: string, entry: OutboxEntry): void {
  mkdirSync(dirOf(home), { recursive: true });
  const path = fileOf(home, entry.id, entry.attempt);
  const text = JSON.stringify(entry, null, 2);
  try {
    writeFileAtomicSync(path, text, `${path}.tmp`);
  } catch (err) {
    const reserved = reservationOf(home, entry.id, entry.attempt);
    if (!isDiskFull(err) || !existsSync(reserved)) throw err;
    rmSync(reserved, { force: true });
    writeFileAtomicSync(path, text, `${path}.tmp`);
  }
  dropReservation(home, entry.id, entry.attempt);
}

export function listOutbox(home: string): OutboxEntry[] {
  let names: string[];
  try {
    names = readdirSync(dirOf(home)).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: OutboxEntry[] = [];
  for (const name of names.sort()) {
    try {
      out.push(JSON.parse(readFileSync(join(dirOf(home), name), 'utf8')) as OutboxEntry);
    } catch {
      // Half-written by a crash before its rename: the .tmp name keeps it out of this listing.
    }
  }
  return out;
}

export function removeOutbox(home: string, id: string, attempt: number): void {
  rmSync(fileOf(home, id, attempt), { force: true });
}

/**
 * The tasks whose result this node keeps: waiting in the outbox, or set aside for a person
 * (`outbox/rejected/<id>.<attempt>.json`). Their runs happened, so their claims are not released to run again (a
 * restart, an orphaned claim); the first are delivered, the second wait for the person.
 */
export function keptResultIds(home: string): Set<string> {
  const ids = new Set(listOutbox(home).map((e) => e.id));
  try {
    for (const n of readdirSync(join(dirOf(home), 'rejected'))) if (n.endsWith('.json')) ids.add(n.slice(0, n.lastIndexOf('.', n.length - '.json'.length - 1)));
  } catch {
    // none set aside
  }
  return ids;
}

export function rejectOutbox(home: string, entry: OutboxEntry, reason: string): string {
  const dir = join(dirOf(home), 'rejected');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${entry.id}.${entry.attempt}.json`);
  writeFileSync(path, JSON.stringify({ ...entry, rejected: reason }, null, 2));
  removeOutbox(home, entry.id, entry.attempt);
  return path;
}
