import type { TreeEntry } from './objects.js';
import { isOid } from '../git/oid.js';

/**
 * Git object encodings, so that commits are built in memory and written with node:zlib: isomorphic-git deflates
 * through the web CompressionStream, which costs ~0.5 ms per object on Node 20 (measured; docs/PERFORMANCE.md).
 */
export interface GitObject {
  type: 'blob' | 'tree' | 'commit';
  content: Uint8Array;
  /**
   * Its id and its loose file's bytes, when a commit of this node wrote it (bus/store/objects.ts): a push to a
   * local remote copies the file as it is, rather than deflate the object again.
   */
  loose?: { oid: string; deflated: Uint8Array };
}

/**
 * An entry's sort key as a string whose char codes are its name's UTF-8 bytes, a subtree's name as if it ended in
 * "/" (git's order): JavaScript compares strings by UTF-16 code units, which for such a string is byte order. An
 * ASCII name is its own key.
 */
function sortKey(e: TreeEntry): string {
  const name = NON_ASCII.test(e.path) ? Buffer.from(e.path, 'utf8').toString('latin1') : e.path;
  return e.type === 'tree' ? `${name}/` : name;
}

/**
 * A tree object's bytes: the entries in git's order, each `mode name\0` and the 20 bytes of its id, written into one
 * buffer. Each key made once and compared as a string, not a Buffer made for each side of every comparison: a
 * dispatch on a bus of 200 live tasks encodes a folder of 200 entries, cold (issue 14, docs/PERFORMANCE.md "A
 * dispatch on a bus of 200 tasks, under the line").
 */
export function encodeTree(entries: readonly TreeEntry[]): Uint8Array {
  // Every id is one the store read or wrote (objects.ts holds packed trees to it too): one that is not would write a
  // damaged tree, so it is a fault here, not a tree to write.
  for (const e of entries) if (!isOid(e.oid)) throw new Error(`tree entry ${e.path}: ${e.oid} is not an object id`);
  const keyed = entries.map((e) => ({ e, key: sortKey(e) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let size = 0;
  for (const { e } of keyed) size += modeOf(e).length + 2 + Buffer.byteLength(e.path, 'utf8') + 20;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const { e } of keyed) {
    const mode = modeOf(e);
    at += out.write(mode, at, 'latin1');
    out[at++] = 0x20;
    at += out.write(e.path, at, 'utf8');
    out[at++] = 0;
    out.write(e.oid, at, 'hex');
    at += 20;
  }
  return out;
}

/** Git writes tree modes without a leading zero ("40000", not "040000"). */
function modeOf(e: TreeEntry): string {
  return e.mode === '040000' ? '40000' : e.mode.replace(/^0+/, '');
}

/**
 * A tree's entries. Decoded from two strings made once per tree (the bytes as latin1 and as hex) and sliced per
 * entry, not with three Buffer calls per entry: a live folder's tree has an entry per file (5,000 pending tasks:
 * 5,000 entries, read by every command), and a short process runs this code cold. A name with a non-ASCII byte is
 * decoded as UTF-8 on its own.
 */
export function decodeTree(content: Uint8Array): TreeEntry[] {
  const buf = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  const text = buf.toString('latin1');
  const hex = buf.toString('hex');
  const out: TreeEntry[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const space = text.indexOf(' ', i);
    const nul = space < 0 ? -1 : text.indexOf('\0', space);
    if (space < 0 || nul < 0 || nul + 21 > n) throw new Error('corrupt tree object');
    const mode = modeAt(text, i, space);
    let path = text.slice(space + 1, nul);
    if (NON_ASCII.test(path)) path = buf.toString('utf8', space + 1, nul);
    const oid = hex.slice(2 * (nul + 1), 2 * (nul + 21));
    const type = mode === '040000' ? 'tree' : mode === '160000' ? 'commit' : 'blob';
    out.push({ mode, path, oid, type });
    i = nul + 21;
  }
  decodedFrom.set(out, buf);
  return out;
}

/** Each listing decodeTree made, with the bytes it was decoded from (held as long as the listing is). */
const decodedFrom = new WeakMap<readonly TreeEntry[], Buffer>();

/** The bytes a listing was decoded from, when decodeTree made it (tree-diff.ts compares trees by their bytes). */
export function treeBytesOf(entries: readonly TreeEntry[]): Buffer | undefined {
  return decodedFrom.get(entries);
}

/** A character outside ASCII: a name that has one is UTF-8 of more bytes than characters. */
export const NON_ASCII = /[^\x00-\x7f]/;

/**
 * An entry's mode: the common ones as the one string each, not a new one per entry (a folder of 5,000 live tasks
 * listed at every command is 5,000 strings fewer for the young generation to copy).
 */
function modeAt(text: string, start: number, end: number): string {
  if (end - start === 6 && text.startsWith('100644', start)) return '100644';
  if (end - start === 5 && text.startsWith('40000', start)) return '040000';
  const raw = text.slice(start, end);
  return raw.length === 6 ? raw : raw.padStart(6, '0');
}

export interface Signature {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  timestamp: number;
}

export function encodeCommit(c: { tree: string; parents: string[]; author: Signature; message: string }): Uint8Array {
  const sig = (s: Signature) => `${s.name.replace(/[<>\n]/g, '')} <${s.email.replace(/[<>\n]/g, '')}> ${s.timestamp} +0000`;
  const lines = [`tree ${c.tree}`, ...c.parents.map((p) => `parent ${p}`), `author ${sig(c.author)}`, `committer ${sig(c.author)}`, '', c.message];
  return Buffer.from(lines.join('\n'));
}
