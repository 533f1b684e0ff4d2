import { appendFileSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { withLocalLockSync } from './lock.js';
import { writeFileAtomicSync } from './local-io.js';

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
}

/** Past this size the oldest half goes at the next append: a node that never collects keeps a bounded file. */
const MAX_BYTES = 4 * 1024 * 1024;

export function dispatchedPath(home: string): string {
  return join(home, 'dispatched.jsonl');
}

/** Adds delivered handoffs. Never throws: the delivery already happened, and this is bookkeeping for collect. */
export function noteDispatched(home: string, tasks: DispatchedTask[]): void {
  if (tasks.length === 0) return;
  const file = dispatchedPath(home);
  try {
    withLocalLockSync(`${file}.lock`, () => {
      // After a line a crash cut short, a new line starts on a line of its own, so that it is not lost with the cut one.
      const lead = endsCut(file) ? '\n' : '';
      appendFileSync(file, lead + tasks.map((t) => `${JSON.stringify({ id: t.id, title: t.title, at: t.at })}\n`).join(''), { mode: 0o600 });
      if (statSync(file).size > MAX_BYTES) {
        // Junk lines go first; the oldest half of the notes only when what is left is still too big.
        const all = readLines(file);
        const bytes = all.reduce((n, t) => n + Buffer.byteLength(JSON.stringify(t)) + 1, 0);
        writeLines(file, bytes > MAX_BYTES / 2 ? all.slice(Math.floor(all.length / 2)) : all);
      }
    });
  } catch {
    // A full disk or a lock held for too long: collect then misses only the archived ones among these.
  }
}

/** The tasks noted and not yet forgotten, oldest first, each id once (its first note). */
export function readDispatched(home: string): DispatchedTask[] {
  return readLines(dispatchedPath(home));
}

/**
 * Keeps only the noted tasks for which `keep` holds (collect drops what it has reported or can never report). Never
 * throws: a note that stays is reported again at worst, and collect's report must not fail for its bookkeeping (a
 * folder put where the file goes is only not written to).
 */
export function keepDispatched(home: string, keep: (t: DispatchedTask) => boolean): void {
  const file = dispatchedPath(home);
  if (!existsSync(file)) return;
  try {
    withLocalLockSync(`${file}.lock`, () => writeLines(file, readLines(file).filter(keep)));
  } catch {
    // As noteDispatched: bookkeeping only.
  }
}

function readLines(file: string): DispatchedTask[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const seen = new Set<string>();
  const out: DispatchedTask[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const t = JSON.parse(line) as Partial<DispatchedTask>;
      // A line cut by a crash, or edited by hand, is skipped rather than failing every collect.
      if (typeof t.id !== 'string' || typeof t.title !== 'string' || typeof t.at !== 'string' || seen.has(t.id)) continue;
      seen.add(t.id);
      out.push({ id: t.id, title: t.title, at: t.at });
    } catch {
      continue;
    }
  }
  return out;
}

function writeLines(file: string, tasks: DispatchedTask[]): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileAtomicSync(file, tasks.map((t) => `${JSON.stringify(t)}\n`).join(''), undefined, { mode: 0o600 });
}

/** Whether the file exists and does not end with a newline. */
function endsCut(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    closeSync(fd);
  }
}
