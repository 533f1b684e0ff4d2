import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { withLocalLockSync } from './lock.js';
import { appendLedger, readLedger, writeLedger } from './jsonl-ledger.js';

/**
 * The tasks this home put on the bus that `gitbus collect` has not accounted for yet: `<home>/dispatched.jsonl`, one
 * JSON line per delivered handoff. A task that ends and is archived between two collects has left main by the time
 * collect looks, and main alone cannot say that this node ever dispatched it; this file can, so collect asks the
 * archive about exactly those. Appended at delivery (bus/ops/deliver.ts), thinned by collect.
 */
export interface DispatchedTask {
  id: string;
  title: string;
  /** When it was queued (this machine's clock). */
  at: string;
  /**
   * Its end was collected while its branch was not on the project remote: kept only so that a delivery
   * (docs/PROTOCOL.md §3a) is still reported once when the task was archived before the next collect.
   */
  awaitsPush?: true;
}

/** Past this size the oldest half goes at the next append: a node that never collects keeps a bounded file. */
const MAX_BYTES = 4 * 1024 * 1024;

export function dispatchedPath(home: string): string {
  return join(home, 'dispatched.jsonl');
}

/** Adds delivered handoffs. Never throws: the delivery already happened, and this is bookkeeping for collect. */
export function noteDispatched(home: string, tasks: DispatchedTask[]): void {
  try {
    appendLedger(dispatchedPath(home), tasks.map((t) => ({ id: t.id, title: t.title, at: t.at, ...(t.awaitsPush ? { awaitsPush: true as const } : {}) })), MAX_BYTES, parseTask);
  } catch {
    // A full disk or a lock held for too long: collect then misses only the archived ones among these.
  }
}

/** The tasks noted and not yet forgotten, oldest first, each id once (its first note). */
export function readDispatched(home: string): DispatchedTask[] {
  const seen = new Set<string>();
  return readLedger(dispatchedPath(home), parseTask).filter((t) => !seen.has(t.id) && Boolean(seen.add(t.id)));
}

/**
 * Keeps the noted tasks as `revise` returns them, and drops those it returns null for (collect drops what it has
 * reported or can never report, and marks what it reported that still awaits its push). Never throws: a note that
 * stays is reported again at worst, and collect's report must not fail for its bookkeeping (a folder put where the
 * file goes is only not written to).
 */
export function reviseDispatched(home: string, revise: (t: DispatchedTask) => DispatchedTask | null): void {
  const file = dispatchedPath(home);
  if (!existsSync(file)) return;
  try {
    withLocalLockSync(`${file}.lock`, () => writeLedger(file, readDispatched(home).flatMap((t) => revise(t) ?? [])));
  } catch {
    // As noteDispatched: bookkeeping only.
  }
}

/** A line of the file, or null for one a crash cut short or a person edited into something else. */
function parseTask(v: unknown): DispatchedTask | null {
  const t = (typeof v === 'object' && v !== null ? v : {}) as Partial<DispatchedTask>;
  if (typeof t.id !== 'string' || typeof t.title !== 'string' || typeof t.at !== 'string') return null;
  return { id: t.id, title: t.title, at: t.at, ...(t.awaitsPush === true ? { awaitsPush: true as const } : {}) };
}
