import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
  writeEntry(fileOf(home, entry), entry);
}

function writeEntry(path: string, entry: QueueEntry): void {
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

/**
 * Dispatches taken out of the queue by a cancel while the remote was away (`queue/dequeued/`): `<id>.dispatch.json`,
 * the entry as it was, and `<id>.cancel.json`, the cancel that was asked for, ready to queue. Another process of this
 * node may have been sending the dispatch at that moment (it read the queue before): it looks here after its push
 * and queues that cancel (requeueIfDequeued), so a task cancelled while queued never runs.
 */
const dequeuedDir = (home: string) => join(queueDir(home), 'dequeued');
const dequeuedOf = (home: string, id: string, kind: QueueEntry['kind']) => join(dequeuedDir(home), `${id}.${kind}.json`);

/** How long a dequeued dispatch is kept: longer than any delivery that read it before it was taken out runs. */
export const DEQUEUED_KEPT_MS = 24 * 3600_000;

/**
 * Takes a queued dispatch out of the queue for `cancel`. The cancel is written first and the entry is then moved
 * (a rename: it fails when the entry is gone), so a delivery that removes the entry after its push either finds the
 * cancel beside the moved entry, or made the move fail. False when the entry was gone: delivered by another
 * process of this node meanwhile; the cancel is then queued like any other, to be delivered at the next contact.
 */
export function dequeueDispatch(home: string, entry: Extract<QueueEntry, { kind: 'dispatch' }>, cancel: Extract<QueueEntry, { kind: 'cancel' }>): boolean {
  mkdirSync(dequeuedDir(home), { recursive: true });
  const cancelPath = dequeuedOf(home, entry.id, 'cancel');
  writeEntry(cancelPath, cancel);
  try {
    renameSync(fileOf(home, entry), dequeuedOf(home, entry.id, 'dispatch'));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      rmSync(cancelPath, { force: true });
      throw err;
    }
  }
  renameSync(cancelPath, fileOf(home, cancel));
  return false;
}

/**
 * After a delivery removed the queue entry of dispatch `id`: when a cancel took that entry out while the delivery
 * was sending it, the cancel goes in the queue now (true). Two deliveries that both sent it queue it once.
 */
export function requeueIfDequeued(home: string, id: string): boolean {
  const sent = dequeuedOf(home, id, 'dispatch');
  if (!existsSync(sent)) return false;
  let queued = true;
  try {
    renameSync(dequeuedOf(home, id, 'cancel'), fileOf(home, { kind: 'cancel', id }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    queued = false; // another delivery queued it
  }
  rmSync(sent, { force: true });
  return queued;
}

/** Forgets dequeued dispatches older than DEQUEUED_KEPT_MS (by the files' mtime, this machine's clock). */
export function pruneDequeued(home: string, now = Date.now()): void {
  let names: string[];
  try {
    names = readdirSync(dequeuedDir(home));
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dequeuedDir(home), name);
    try {
      if (now - statSync(path).mtimeMs > DEQUEUED_KEPT_MS) rmSync(path, { force: true });
    } catch {
      // removed meanwhile
    }
  }
}
