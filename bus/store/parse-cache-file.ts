import { createHash } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import type { Parsed } from '../model/task-view.js';

/**
 * The bytes of one parse-cache file (docs/ARCHITECTURE.md "Snapshot and model", "The parse cache"): the parse
 * results of the files of one live folder, by name and blob oid. Pure: encode and decode, no I/O.
 *
 * A file is `MAGIC`, one JSON header line, then a v8-serialized array of [name, oid, parsed]. The header names the
 * gitbus build and the format, the folder and its tree oid, and the payload's length and sha256: a file of another
 * build, another folder, or cut short, or bytes that merely look like one, decode to null and are rebuilt. The cache
 * is only ever a faster way to a parse result the node could compute again from the blob; it decides nothing.
 */
export const MAGIC = 'gitbus-parse-cache\n';

/**
 * Bump when what parseBusFile returns for the same bytes changes shape or meaning (a schema, a check, a message):
 * every cache file of an older format is then ignored. The build identity in the key covers most changes anyway.
 */
export const PARSE_CACHE_FORMAT = 1;

export interface CacheKey {
  /** gitbus's version, the build (bundle chunk or module file), and PARSE_CACHE_FORMAT. */
  build: string;
  folder: string;
  tree: string;
}

export interface CachedEntry {
  name: string;
  oid: string;
  parsed: Parsed<unknown>;
}

interface Header extends CacheKey {
  format: number;
  length: number;
  sha256: string;
  entries: number;
}

const OID = /^[0-9a-f]{40}$/;

export function encodeCacheFile(key: CacheKey, entries: readonly CachedEntry[]): Buffer {
  const payload = serialize(entries.map((e) => [e.name, e.oid, e.parsed]));
  const header: Header = { format: PARSE_CACHE_FORMAT, ...key, length: payload.length, sha256: sha256(payload), entries: entries.length };
  return Buffer.concat([Buffer.from(`${MAGIC}${JSON.stringify(header)}\n`, 'utf8'), payload]);
}

/**
 * The entries of a cache file, or null when it is not one this build wrote for `want` (folder and build; the tree
 * may differ when `anyTree`, since an entry is valid by its own name and oid whatever tree listed it).
 */
export function decodeCacheFile(bytes: Buffer, want: Omit<CacheKey, 'tree'> & { tree?: string }): CachedEntry[] | null {
  try {
    if (bytes.length < MAGIC.length || bytes.toString('utf8', 0, MAGIC.length) !== MAGIC) return null;
    const nl = bytes.indexOf(0x0a, MAGIC.length);
    if (nl < 0 || nl - MAGIC.length > 4096) return null;
    const header = JSON.parse(bytes.toString('utf8', MAGIC.length, nl)) as Partial<Header> | null;
    if (!header || typeof header !== 'object') return null;
    if (header.format !== PARSE_CACHE_FORMAT || header.build !== want.build || header.folder !== want.folder) return null;
    if (want.tree !== undefined && header.tree !== want.tree) return null;
    const payload = bytes.subarray(nl + 1);
    if (payload.length !== header.length || sha256(payload) !== header.sha256) return null;
    const rows: unknown = deserialize(payload);
    if (!Array.isArray(rows) || rows.length !== header.entries) return null;
    const out: CachedEntry[] = [];
    for (const row of rows as unknown[]) {
      if (!Array.isArray(row) || row.length !== 3) return null;
      const [name, oid, parsed] = row as [unknown, unknown, unknown];
      if (typeof name !== 'string' || typeof oid !== 'string' || !OID.test(oid) || !isParsed(parsed)) return null;
      out.push({ name, oid, parsed });
    }
    return out;
  } catch {
    // Not JSON, not v8 data: a foreign or damaged file, which is rebuilt.
    return null;
  }
}

function isParsed(p: unknown): p is Parsed<unknown> {
  if (!p || typeof p !== 'object') return false;
  const o = p as Record<string, unknown>;
  if (o['ok'] === true) return typeof o['body'] === 'string' && Array.isArray(o['warnings']) && o['data'] !== undefined;
  return o['ok'] === false && Array.isArray(o['problems']);
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
