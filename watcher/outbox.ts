import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../bus/local-io.js';
import { join } from 'node:path';
import type { RespondInput } from '../bus/ops/respond.js';

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
}

const dirOf = (home: string) => join(home, 'outbox');
const fileOf = (home: string, id: string, attempt: number) => join(dirOf(home), `${id}.${attempt}.json`);

export function putOutbox(home: string, entry: OutboxEntry): void {
  mkdirSync(dirOf(home), { recursive: true });
  const path = fileOf(home, entry.id, entry.attempt);
  writeFileAtomicSync(path, JSON.stringify(entry, null, 2), `${path}.tmp`);
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

export function rejectOutbox(home: string, entry: OutboxEntry, reason: string): string {
  const dir = join(dirOf(home), 'rejected');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${entry.id}.${entry.attempt}.json`);
  writeFileSync(path, JSON.stringify({ ...entry, rejected: reason }, null, 2));
  removeOutbox(home, entry.id, entry.attempt);
  return path;
}
