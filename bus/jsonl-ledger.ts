import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { withLocalLockSync } from './lock.js';
import { writeFileAtomicSync } from './local-io.js';

/**
 * A home's bookkeeping file of JSON lines (dispatched.jsonl, groups.jsonl): appended under a lock, read line by line
 * skipping what does not parse (a line a crash cut short, or edited by hand), and kept under a size by dropping the
 * oldest half. Its callers never fail a command for it: the command's own work is done by the time it is written.
 */

/** Appends `entries`, then halves the file (keeping the newest) once it passes `maxBytes`. Throws what the disk does. */
export function appendLedger<T>(file: string, entries: readonly T[], maxBytes: number, parse: (v: unknown) => T | null): void {
  if (entries.length === 0) return;
  withLocalLockSync(`${file}.lock`, () => {
    // After a line a crash cut short, a new line starts on a line of its own, so that it is not lost with the cut one.
    const lead = endsCut(file) ? '\n' : '';
    appendFileSync(file, lead + entries.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
    if (statSync(file).size > maxBytes) {
      // Junk lines go first; the oldest half of the entries only when what is left is still too big.
      const all = readLedger(file, parse);
      const bytes = all.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)) + 1, 0);
      writeLedger(file, bytes > maxBytes / 2 ? all.slice(Math.floor(all.length / 2)) : all);
    }
  });
}

/** The entries `parse` accepts, oldest first; none when the file cannot be read. */
export function readLedger<T>(file: string, parse: (v: unknown) => T | null): T[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const e = parse(JSON.parse(line));
      if (e !== null) out.push(e);
    } catch {
      continue;
    }
  }
  return out;
}

export function writeLedger<T>(file: string, entries: readonly T[]): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileAtomicSync(file, entries.map((e) => `${JSON.stringify(e)}\n`).join(''), undefined, { mode: 0o600 });
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
