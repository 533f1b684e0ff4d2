import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { removeFile } from './remove-file.js';
import { join } from 'node:path';
import { mathRandomHex } from '../schemas/math-random.js';
import { UnknownTaskError } from './errors.js';
import { resolveTaskId } from './model/resolve-id.js';
import { joinPlain } from './join-plain.js';

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

export const queueDir = (home: string) => joinPlain(home, 'queue');
const fileOf = (home: string, e: Pick<QueueEntry, 'kind' | 'id'>) => joinPlain(queueDir(home), `${e.id}.${e.kind}.json`);

export function putQueue(home: string, entry: QueueEntry): void {
  mkdirSync(queueDir(home), { recursive: true });
  writeEntry(fileOf(home, entry), entry);
}

function writeEntry(path: string, entry: QueueEntry): void {
  const tmp = `${path}.${process.pid}-${mathRandomHex(3)}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(entry, null, 2));
    renameSync(tmp, path);
  } catch (err) {
    removeFile(tmp);
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
      const e = JSON.parse(readFileSync(joinPlain(queueDir(home), name), 'utf8')) as QueueEntry;
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
  removeFile(fileOf(home, e));
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
const dequeuedDir = (home: string) => joinPlain(queueDir(home), 'dequeued');
const dequeuedOf = (home: string, id: string, kind: QueueEntry['kind']) => joinPlain(dequeuedDir(home), `${id}.${kind}.json`);

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
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      removeFile(cancelPath);
      throw err;
    }
    renameSync(cancelPath, fileOf(home, cancel));
    return false;
  }
  try {
    // A rename keeps the queue entry's time, which may be days old; the pair is aged by its cancel's time, and this
    // only keeps a dispatch left alone (its cancel queued by a delivery meanwhile) from looking old.
    const now = new Date();
    utimesSync(dequeuedOf(home, entry.id, 'dispatch'), now, now);
  } catch {
    // Requeued by a delivery already, or a file system without times: nothing is lost either way.
  }
  return true;
}

/**
 * After a delivery removed the queue entry of dispatch `sent`: when a cancel took that very entry out while the
 * delivery was sending it, the cancel goes in the queue now (true). The entry kept aside must be the one sent (its
 * time and text): a dispatch given the same id again later is not cancelled by an earlier cancel. Two deliveries
 * that both sent it queue it once.
 */
export function requeueIfDequeued(home: string, sent: Extract<QueueEntry, { kind: 'dispatch' }>): boolean {
  const kept = dequeuedOf(home, sent.id, 'dispatch');
  let was: Partial<Extract<QueueEntry, { kind: 'dispatch' }>>;
  try {
    was = JSON.parse(readFileSync(kept, 'utf8')) as Partial<Extract<QueueEntry, { kind: 'dispatch' }>>;
  } catch {
    return false; // none kept aside (the usual case), or requeued by another delivery
  }
  if (was.queuedAt !== sent.queuedAt || was.text !== sent.text) return false;
  let queued = true;
  try {
    renameSync(dequeuedOf(home, sent.id, 'cancel'), fileOf(home, { kind: 'cancel', id: sent.id }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    queued = false; // another delivery queued it
  }
  removeFile(kept);
  return queued;
}

/**
 * Forgets dequeued dispatches kept aside longer than DEQUEUED_KEPT_MS (by this machine's clock): a pair by its
 * cancel's time (written at the dequeue), a file left alone by its own.
 */
export function pruneDequeued(home: string, now = Date.now()): void {
  let names: string[];
  try {
    names = readdirSync(dequeuedDir(home));
  } catch {
    return;
  }
  const age = (name: string) => {
    try {
      return now - statSync(join(dequeuedDir(home), name)).mtimeMs;
    } catch {
      return null; // removed meanwhile
    }
  };
  // Judged first, removed after: a pair's cancel may be removed before its dispatch is looked at.
  const old = names.filter((name) => {
    const m = /^(.*)\.(dispatch|cancel)\.json$/.exec(name);
    const pair = m?.[2] === 'dispatch' ? `${m[1]}.cancel.json` : null;
    return ((pair !== null && names.includes(pair) ? age(pair) : age(name)) ?? 0) > DEQUEUED_KEPT_MS;
  });
  for (const name of old) removeFile(join(dequeuedDir(home), name));
}

export type QueuedDispatch = Extract<QueueEntry, { kind: 'dispatch' }>;

/**
 * The dispatch queued on this node that `ref` names (its id, or a unique prefix or suffix as for a live task), or
 * null: what `show`, `logs` and `wait` find for a task not on the bus yet. Several matches are refused as for
 * live tasks (UnknownTaskError with the candidates).
 */
export function queuedDispatch(home: string, ref: string): QueuedDispatch | null {
  const queued = listQueue(home).filter((e): e is QueuedDispatch => e.kind === 'dispatch');
  try {
    const id = resolveTaskId(queued.map((e) => e.id), ref);
    return queued.find((e) => e.id === id) ?? null;
  } catch (err) {
    if (err instanceof UnknownTaskError && (err.data['candidates'] as string[]).length <= 1) return null;
    throw err;
  }
}
