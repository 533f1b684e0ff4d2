import { readCacheFile, writeCacheFile } from './cache-files.js';
import { checksum, frame, readHeaderLine } from './header-line.js';

/**
 * The node's small keyed caches (the heartbeats as read, the bus settings and node.yaml as parsed): one file of JSON
 * entries, each value kept under the key it was computed from, framed like the parse cache (header-line.ts) and named
 * by build. Like every cache of the node's, only ever a faster way to what it could compute again: a file that is
 * missing, of another build or format, larger than its cap, cut short or damaged reads as empty, and is written again.
 */
export interface KeyedCacheKind {
  /** The file's first line, which tells it from any other file. */
  magic: string;
  format: number;
  /** A file larger than this is neither written nor read: what it keeps may come from untrusted files. */
  maxBytes: number;
  /** Whether a key is one this kind is keyed by (an object id, a file's name): a file with any other is ignored. */
  validKey: (key: string) => boolean;
}

/** The entries the file holds (unchecked values: the node's own file, checksummed), empty when there are none to use. */
export function loadKeyed(path: string, kind: KeyedCacheKind, build: string): Map<string, unknown> {
  const bytes = readCacheFile(path);
  return bytes ? decodeKeyed(bytes, kind, build) : new Map();
}

/** Writes the entries (a reader sees a whole file or none); false when it was not written. */
export function saveKeyed(dir: string, name: string, kind: KeyedCacheKind, entries: ReadonlyMap<string, unknown>, build: string): boolean {
  const bytes = encodeKeyed(entries, kind, build);
  return bytes !== null && writeCacheFile(dir, name, bytes);
}

/** The file's bytes; null when they would be more than the kind's cap. Pure. */
export function encodeKeyed(entries: ReadonlyMap<string, unknown>, kind: KeyedCacheKind, build: string): Buffer | null {
  // A key the kind would refuse on reading is not written: it would make the whole file read as empty.
  const payload = Buffer.from(JSON.stringify([...entries].filter(([k]) => kind.validKey(k))), 'utf8');
  if (payload.length > kind.maxBytes) return null;
  return frame(kind.magic, { format: kind.format, build, bytes: payload.length, checksum: checksum(payload) }, [payload]);
}

/** The entries of a file's bytes: empty when it is another build's, another format's, cut short or damaged. Pure. */
export function decodeKeyed(bytes: Buffer, kind: KeyedCacheKind, build: string): Map<string, unknown> {
  const none = new Map<string, unknown>();
  try {
    if (bytes.length > kind.maxBytes + 4096) return none;
    const read = readHeaderLine(bytes, kind.magic);
    if (!read || read.header['format'] !== kind.format || read.header['build'] !== build) return none;
    const payload = bytes.subarray(read.at);
    if (payload.length > kind.maxBytes || payload.length !== read.header['bytes'] || checksum(payload) !== read.header['checksum']) return none;
    const entries: unknown = JSON.parse(payload.toString('utf8'));
    if (!Array.isArray(entries)) return none;
    const out = new Map<string, unknown>();
    for (const e of entries) {
      if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || !kind.validKey(e[0]) || !e[1] || typeof e[1] !== 'object') return none;
      out.set(e[0], e[1]);
    }
    return out;
  } catch {
    return none;
  }
}

/**
 * Whether JSON gives `value` back as it is: plain objects and arrays of strings, finite numbers (not -0), booleans
 * and null. A parsed file holding anything else (YAML's .inf or .nan in a setting nobody reads) is not kept. Pure.
 */
export function jsonExact(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every(jsonExact);
  if (typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(value as Record<string, unknown>).every(jsonExact);
}
