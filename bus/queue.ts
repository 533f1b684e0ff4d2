import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Changes made on this node that the remote has not accepted yet: a dispatch or a cancel given while the remote
 * was unreachable (seed 001's laptop off the VPN), or one being delivered right now. Each is a file in
 * `<home>/queue/`, written by atomic rename before anything is sent and removed once the remote holds it, so a
 * crash or an outage loses nothing. Any later command of this node, and its watcher at every wake, delivers
 * them (bus/ops/deliver.ts). Several processes may deliver at once: delivery is idempotent (a handoff already on
 * the bus with the same content counts as delivered).
 */
export type QueueEntry =
  | { kind: 'dispatch'; id: string; path: string; text: string; title: string; queuedAt: string; chosenId: boolean; batch?: QueueBatch; signature?: QueuedSignature }
  | { kind: 'cancel'; id: string; by: string; reason?: string; at: string; queuedAt: string; signature?: QueuedSignature };

/** The signature of the queued file (its sidecar, `signatures/<path>.sig`), delivered in the same commit. */
export interface QueuedSignature {
  path: string;
  content: string;
}

/**
 * Handoffs that must reach the bus together, in one commit (a fan-out: its integration task waits for all the
 * others). Each member names the batch; delivery sends a batch only when all `size` members are queued, and all
 * of them or none (bus/ops/deliver.ts). `group`: refuse the batch when other live tasks already have that group.
 */
export interface QueueBatch {
  key: string;
  size: number;
  /** The commit's subject when the batch is delivered on its own. */
  subject: string;
  group?: string;
}

export const queueDir = (home: string) => join(home, 'queue');
const fileOf = (home: string, e: Pick<QueueEntry, 'kind' | 'id'>) => join(queueDir(home), `${e.id}.${e.kind}.json`);

export function putQueue(home: string, entry: QueueEntry): void {
  mkdirSync(queueDir(home), { recursive: true });
  const path = fileOf(home, entry);
  const tmp = `${path}.${process.pid}-${randomBytes(3).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(entry, null, 2));
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Every queued change, oldest first. Files that are not queue entries (half-written, edited by hand) are skipped. */
export function listQueue(home: string): QueueEntry[] {
  let names: string[];
  try {
    names = readdirSync(queueDir(home)).filter((n) => /\.(dispatch|cancel)\.json$/.test(n));
  } catch {
    return [];
  }
  const out: QueueEntry[] = [];
  for (const name of names) {
    try {
      const e = JSON.parse(readFileSync(join(queueDir(home), name), 'utf8')) as QueueEntry;
      if ((e.kind === 'dispatch' || e.kind === 'cancel') && typeof e.id === 'string') out.push(e);
    } catch {
      // Removed by another process between the listing and the read.
    }
  }
  return out.sort((a, b) => (a.queuedAt < b.queuedAt ? -1 : a.queuedAt > b.queuedAt ? 1 : 0));
}

export function isQueued(home: string, e: Pick<QueueEntry, 'kind' | 'id'>): boolean {
  try {
    readFileSync(fileOf(home, e));
    return true;
  } catch {
    return false;
  }
}

export function removeQueue(home: string, e: Pick<QueueEntry, 'kind' | 'id'>): void {
  rmSync(fileOf(home, e), { force: true });
}

/** A change the bus will never accept (its id was taken meanwhile) is kept for a person, with the reason. */
export function rejectQueue(home: string, e: QueueEntry, reason: string): string {
  const dir = join(queueDir(home), 'rejected');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${e.id}.${e.kind}.json`);
  writeFileSync(path, JSON.stringify({ ...e, rejected: reason }, null, 2));
  removeQueue(home, e);
  return path;
}
