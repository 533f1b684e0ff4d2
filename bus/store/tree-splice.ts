import { NON_ASCII } from './encode.js';
import type { TreeEntry } from './objects.js';
import { isOid } from '../git/oid.js';

/**
 * A tree changed in a few entries, made from its bytes: the entries found by halving, the new ones written, the rest
 * copied in runs. A commit changes a folder by an entry or two, and decoding the folder's every entry and encoding
 * them all again cost a dispatch on a bus of 600 tasks ~3 ms (issue 14: "no command may cost more as the bus grows").
 * Pure.
 *
 * Only for bytes that decodeTree and encodeTree (encode.ts) would give back as they are: entries in strictly
 * increasing git order (a folder's name as if it ended in "/"), ASCII names without a slash, modes without a leading
 * zero, no file and folder of one name. Anything else (a tree made by hand) is null, and the caller decodes and
 * encodes it, as before.
 */
export interface ScannedTree {
  readonly bytes: Buffer;
  /** The bytes as latin1: one character a byte. */
  readonly text: string;
  /** Where each entry starts, and where its name's NUL is (its id is the 20 bytes after). */
  readonly starts: readonly number[];
  readonly nuls: readonly number[];
}

/** The entries' bounds, or null when the bytes are not such a tree. */
export function scanTree(bytes: Buffer): ScannedTree | null {
  const text = bytes.toString('latin1');
  const starts: number[] = [];
  const nuls: number[] = [];
  const folders: string[] = [];
  let prev = '';
  for (let at = 0; at < text.length; ) {
    const space = text.indexOf(' ', at);
    const nul = space < 0 ? -1 : text.indexOf('\0', space);
    if (space <= at || nul < 0 || nul + 21 > text.length || text.charCodeAt(at) === 0x30) return null;
    const name = text.slice(space + 1, nul);
    // A name with a slash (a tree made with --literally) would be taken for a folder's key.
    if (NON_ASCII.test(name) || name.includes('/')) return null;
    const key = text.startsWith('40000 ', at) ? `${name}/` : name;
    if (starts.length > 0 && !(prev < key)) return null;
    prev = key;
    starts.push(at);
    nuls.push(nul);
    if (key !== name) folders.push(name);
    at = nul + 21;
  }
  const t = { bytes, text, starts, nuls };
  // A file and a folder of one name sort apart (`x`, `x.md`, `x/`): decodeTree would keep one of them.
  return folders.some((name) => indexOfKey(t, name) >= 0) ? null : t;
}

/** The entry named `name`, as decodeTree gives it, or undefined. */
export function findEntry(t: ScannedTree, name: string): TreeEntry | undefined {
  // A folder sorts as `name/`, anything else as `name`: one of the two places.
  for (const key of [name, `${name}/`]) {
    const i = indexOfKey(t, key);
    if (i >= 0) return entryAt(t, i);
  }
  return undefined;
}

/**
 * The tree's bytes with `edits` made: each name's entry replaced by the one given, or removed for null, the entries
 * between copied as they are. Names are ASCII here (scanTree); an edit's entry is checked as encodeTree checks it.
 */
export function spliceTree(t: ScannedTree, edits: ReadonlyMap<string, TreeEntry | null>): Buffer {
  const drop = new Set<number>();
  const add: { at: number; key: string; bytes: Buffer }[] = [];
  for (const [name, entry] of edits) {
    for (const key of [name, `${name}/`]) {
      const i = indexOfKey(t, key);
      if (i >= 0) drop.add(i);
    }
    if (entry === null) continue;
    if (!isOid(entry.oid)) throw new Error(`tree entry ${entry.path}: ${entry.oid} is not an object id`);
    const key = entry.type === 'tree' ? `${entry.path}/` : entry.path;
    const mode = entry.mode === '040000' ? '40000' : entry.mode.replace(/^0+/, '');
    const head = Buffer.from(`${mode} ${entry.path}\0`, 'utf8');
    add.push({ at: insertionPoint(t, key), key, bytes: Buffer.concat([head, Buffer.from(entry.oid, 'hex')]) });
  }
  add.sort((a, b) => a.at - b.at || (a.key < b.key ? -1 : 1));
  const parts: Buffer[] = [];
  let run = 0; // the start of the run of entries copied next
  let k = 0;
  const n = t.starts.length;
  const endOf = (i: number): number => (i < n ? (t.starts[i] as number) : t.bytes.length);
  for (let i = 0; i <= n; i++) {
    const adding = k < add.length && (add[k] as { at: number }).at === i;
    if (!adding && !drop.has(i) && i < n) continue;
    if (run < endOf(i)) parts.push(t.bytes.subarray(run, endOf(i)));
    for (; k < add.length && (add[k] as { at: number }).at === i; k++) parts.push((add[k] as { bytes: Buffer }).bytes);
    run = drop.has(i) ? (t.nuls[i] as number) + 21 : endOf(i);
  }
  return Buffer.concat(parts);
}

/** The index of the entry whose key is `key`, or -1. */
function indexOfKey(t: ScannedTree, key: string): number {
  const i = insertionPoint(t, key);
  return i < t.starts.length && keyAt(t, i) === key ? i : -1;
}

/** The index of the first entry whose key is not below `key`. */
function insertionPoint(t: ScannedTree, key: string): number {
  let lo = 0;
  let hi = t.starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keyAt(t, mid) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function keyAt(t: ScannedTree, i: number): string {
  const start = t.starts[i] as number;
  const nul = t.nuls[i] as number;
  const space = t.text.indexOf(' ', start);
  const name = t.text.slice(space + 1, nul);
  return t.text.startsWith('40000 ', start) ? `${name}/` : name;
}

function entryAt(t: ScannedTree, i: number): TreeEntry {
  const start = t.starts[i] as number;
  const nul = t.nuls[i] as number;
  const space = t.text.indexOf(' ', start);
  const raw = t.text.slice(start, space);
  const mode = raw.length === 6 ? raw : raw.padStart(6, '0');
  return { mode, path: t.text.slice(space + 1, nul), oid: t.bytes.toString('hex', nul + 1, nul + 21), type: mode === '040000' ? 'tree' : mode === '160000' ? 'commit' : 'blob' };
}
