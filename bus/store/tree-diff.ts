import { NON_ASCII } from './encode.js';
import type { TreeEntry } from './objects.js';

/**
 * The entries of two trees that the other does not hold as they are (the same name, mode and id), from the trees'
 * bytes: only those entries are decoded. A bus keeps its live tasks side by side in one folder, and a fetch, a
 * derived status and a claim's kept answer each compare the folder of two commits that differ by a task or two:
 * decoding both listings made and dropped two objects and three strings per live task (issue 14). The bytes both
 * trees begin and end with are found by comparing ranges (memcmp), their entries' bounds by a scan for each name's
 * end; the entries between are walked side by side. Pure.
 *
 * Null when either is not a tree's encoding, or the entries between are not in strictly increasing byte order of
 * their names (git's order sorts a folder as if its name ended in "/", and a hand-made tree may be in any): the caller
 * compares decoded listings instead. Entries both trees hold alike at the same place are alike whatever their order.
 */
export function treeDiff(before: Uint8Array, after: Uint8Array): { before: TreeEntry[]; after: TreeEntry[] } | null {
  const a = asBuffer(before);
  const b = asBuffer(after);
  const shorter = Math.min(a.length, b.length);
  const head = alikeFor(shorter, (n) => a.compare(b, 0, n, 0, n) === 0);
  const tail = alikeFor(shorter - head, (n) => a.compare(b, b.length - n, b.length, a.length - n, a.length) === 0);
  // The entries wholly inside the common head, and those wholly inside the common tail (where both trees' entries
  // start at the same distance from their ends), are alike.
  // Entries' ends are found in latin1 strings (one character a byte): a string's indexOf is V8's own, where a
  // Buffer's goes through a binding at each call, and a loop over bytes is interpreted the first time a command
  // runs it (0.7 ms for a folder of 85 tasks in a profile, issue 14).
  const ta = a.toString('latin1');
  const tb = b.toString('latin1');
  const from = lastStartWithin(ta, 0, head);
  if (from === null) return null;
  const toA = firstStartFrom(ta, from, a.length - tail);
  const toB = firstStartFrom(tb, from, b.length - tail);
  if (toA === null || toB === null) return null;
  const alikeEnd = a.length - toA === b.length - toB;
  const endA = alikeEnd ? toA : a.length;
  const endB = alikeEnd ? toB : b.length;
  return walk(a.subarray(from, endA), ta.slice(from, endA), b.subarray(from, endB), tb.slice(from, endB));
}

/** The largest n <= max for which `alike(n)` holds, `alike` holding for every smaller n too. */
function alikeFor(max: number, alike: (n: number) => boolean): number {
  if (max <= 0 || alike(max)) return Math.max(max, 0);
  let lo = 0;
  let hi = max - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (alike(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The start of the last entry that begins at or after `at` and ends by `limit` (`at` when none does); null on a cut entry. */
function lastStartWithin(buf: string, at: number, limit: number): number | null {
  let start = at;
  for (;;) {
    const end = entryEnd(buf, start);
    if (end === null) return start === buf.length ? start : null;
    if (end > limit) return start;
    start = end;
  }
}

/** The start of the first entry at or after `limit`, scanning from the entry at `at` (the end when none); null on a cut entry. */
function firstStartFrom(buf: string, at: number, limit: number): number | null {
  let start = at;
  while (start < limit) {
    const end = entryEnd(buf, start);
    if (end === null) return null;
    start = end;
  }
  return start;
}

/** Where the entry at `start` ends (after its name's NUL and 20-byte id); null at the end, or for bytes that end first. */
function entryEnd(buf: string, start: number): number | null {
  if (start >= buf.length) return null;
  const nul = buf.indexOf('\0', start);
  return nul >= 0 && nul + 21 <= buf.length ? nul + 21 : null;
}

/** The entries of two runs of entries that differ, walked side by side by name. */
function walk(a: Buffer, ta: string, b: Buffer, tb: string): { before: TreeEntry[]; after: TreeEntry[] } | null {
  const out: { before: TreeEntry[]; after: TreeEntry[] } = { before: [], after: [] };
  const x = new Walk(a, ta);
  const y = new Walk(b, tb);
  if (!x.next() || !y.next()) return null;
  while (!x.done || !y.done) {
    const order = x.done ? 1 : y.done ? -1 : compareBytes(a, x.name, x.nul, b, y.name, y.nul);
    if (order < 0) {
      out.before.push(x.entry());
      if (!x.next()) return null;
    } else if (order > 0) {
      out.after.push(y.entry());
      if (!y.next()) return null;
    } else {
      if (!sameBytes(a, x.start, x.nul, b, y.start, y.nul) || !sameBytes(a, x.nul, x.end, b, y.nul, y.end)) {
        out.before.push(x.entry());
        out.after.push(y.entry());
      }
      if (!x.next() || !y.next()) return null;
    }
  }
  return out;
}

/** A cursor over a tree's entries: the current one's mode from `start`, name from `name` to `nul`, id up to `end`. */
class Walk {
  done = false;
  start = 0;
  name = 0;
  nul = 0;
  end = 0;
  private prevName = -1;
  private prevNul = -1;

  /** `text`: the same bytes as a latin1 string, for finding an entry's bounds. */
  constructor(
    private readonly buf: Buffer,
    private readonly text: string,
  ) {}

  /** Moves to the next entry; false when the bytes there are not an entry, or its name is not after the last one's. */
  next(): boolean {
    const buf = this.buf;
    const at = this.end;
    if (this.done) return true;
    if (at === buf.length) {
      this.done = true;
      return true;
    }
    const spaceAt = this.text.indexOf(' ', at);
    const space = spaceAt < 0 ? buf.length : spaceAt;
    const nulAt = space < buf.length ? this.text.indexOf('\0', space + 1) : -1;
    const nul = nulAt < 0 ? buf.length : nulAt;
    if (space === at || space >= buf.length || nul + 21 > buf.length) return false;
    if (this.prevName >= 0 && compareBytes(buf, this.prevName, this.prevNul, buf, space + 1, nul) >= 0) return false;
    this.prevName = space + 1;
    this.prevNul = nul;
    this.start = at;
    this.name = space + 1;
    this.nul = nul;
    this.end = nul + 21;
    return true;
  }

  /** The current entry as decodeTree (encode.ts) decodes it. */
  entry(): TreeEntry {
    const buf = this.buf;
    const raw = buf.toString('latin1', this.start, this.name - 1);
    const mode = raw.length === 6 ? raw : raw.padStart(6, '0');
    let path = buf.toString('latin1', this.name, this.nul);
    if (NON_ASCII.test(path)) path = buf.toString('utf8', this.name, this.nul);
    return { mode, path, oid: buf.toString('hex', this.nul + 1, this.end), type: mode === '040000' ? 'tree' : mode === '160000' ? 'commit' : 'blob' };
  }
}


function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Byte order of x[xs, xe) and y[ys, ye). */
function compareBytes(x: Uint8Array, xs: number, xe: number, y: Uint8Array, ys: number, ye: number): number {
  const n = Math.min(xe - xs, ye - ys);
  for (let k = 0; k < n; k++) {
    const d = (x[xs + k] as number) - (y[ys + k] as number);
    if (d !== 0) return d;
  }
  return xe - xs - (ye - ys);
}

function sameBytes(x: Uint8Array, xs: number, xe: number, y: Uint8Array, ys: number, ye: number): boolean {
  if (xe - xs !== ye - ys) return false;
  for (let k = 0; k < xe - xs; k++) if (x[xs + k] !== y[ys + k]) return false;
  return true;
}
