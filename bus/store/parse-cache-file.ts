import { createHash } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import type { Parsed } from '../model/task-view.js';
import type { Handoff } from '../../schemas/handoff.js';

/**
 * The bytes of one parse-cache file (docs/ARCHITECTURE.md "Snapshot and model", "The parse cache"): the parse
 * results of the files of one live folder, by name and blob oid. Pure: encode and decode, no I/O.
 *
 * A file is `MAGIC`, one JSON header line, then a v8-serialized array of [name, oid, parsed], then (format 2) a
 * v8-serialized array of [name, oid, facts] for the folder's handoffs: the few fields that rule a task out for a
 * node or pick it for housekeeping (HandoffFacts), so that `claim --next` and a watcher's housekeeping need not
 * deserialize every parse result. The header names the gitbus build and the format, the folder and its tree oid,
 * and each payload's length and sha256: a file of another
 * build, another folder, or cut short, or bytes that merely look like one, decode to null and are rebuilt. The cache
 * is only ever a faster way to a parse result the node could compute again from the blob; it decides nothing.
 */
export const MAGIC = 'gitbus-parse-cache\n';

/**
 * Bump when what parseBusFile returns for the same bytes changes shape or meaning (a schema, a check, a message):
 * every cache file of an older format is then ignored. The build identity in the key covers most changes anyway.
 */
export const PARSE_CACHE_FORMAT = 2;

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

/** What of a handoff decides whether a node may ever take it, and whether housekeeping looks at it. */
export type HandoffFacts = Pick<Handoff, 'to' | 'labels' | 'runner' | 'command' | 'after' | 'schedule'>;

/** The facts of one handoff file: null when it did not parse. */
export interface CachedFacts {
  name: string;
  oid: string;
  facts: HandoffFacts | null;
}

/** The facts of a parse result of a handoff (null: it did not parse). Pure. */
export function factsOf(parsed: Parsed<unknown>): HandoffFacts | null {
  if (!parsed.ok) return null;
  const h = parsed.data as Handoff;
  const out: HandoffFacts = {};
  if (h.to !== undefined) out.to = h.to;
  if (h.labels !== undefined) out.labels = h.labels;
  if (h.runner !== undefined) out.runner = h.runner;
  if (h.command !== undefined) out.command = h.command;
  if (h.after !== undefined) out.after = h.after;
  if (h.schedule !== undefined) out.schedule = h.schedule;
  return out;
}

interface Header extends CacheKey {
  format: number;
  length: number;
  sha256: string;
  entries: number;
  factsLength: number;
  factsSha256: string;
  facts: number;
}

const OID = /^[0-9a-f]{40}$/;

export function encodeCacheFile(key: CacheKey, entries: readonly CachedEntry[], facts: readonly CachedFacts[] = []): Buffer {
  const payload = serialize(entries.map((e) => [e.name, e.oid, e.parsed]));
  const factsPayload = serialize(facts.map((f) => [f.name, f.oid, f.facts]));
  const header: Header = { format: PARSE_CACHE_FORMAT, ...key, length: payload.length, sha256: sha256(payload), entries: entries.length, factsLength: factsPayload.length, factsSha256: sha256(factsPayload), facts: facts.length };
  return Buffer.concat([Buffer.from(`${MAGIC}${JSON.stringify(header)}\n`, 'utf8'), payload, factsPayload]);
}

/** The header of a cache file this build wrote for `want`, and where its payloads start; null for any other file. */
function headerOf(bytes: Buffer, want: Omit<CacheKey, 'tree'> & { tree?: string }): { header: Header; at: number } | null {
  if (bytes.length < MAGIC.length || bytes.toString('utf8', 0, MAGIC.length) !== MAGIC) return null;
  const nl = bytes.indexOf(0x0a, MAGIC.length);
  if (nl < 0 || nl - MAGIC.length > 4096) return null;
  const header = JSON.parse(bytes.toString('utf8', MAGIC.length, nl)) as Partial<Header> | null;
  if (!header || typeof header !== 'object') return null;
  if (header.format !== PARSE_CACHE_FORMAT || header.build !== want.build || header.folder !== want.folder) return null;
  if (want.tree !== undefined && header.tree !== want.tree) return null;
  if (typeof header.length !== 'number' || typeof header.factsLength !== 'number' || bytes.length !== nl + 1 + header.length + header.factsLength) return null;
  return { header: header as Header, at: nl + 1 };
}

/**
 * The handoff facts of a cache file (CachedFacts), or null when it is not one this build wrote for `want`: a
 * reader that needs only these skips the parse results, most of the file. Keyed by blob oid, with the name.
 */
export function decodeCacheFacts(bytes: Buffer, want: Omit<CacheKey, 'tree'> & { tree?: string }): Map<string, CachedFacts> | null {
  try {
    const found = headerOf(bytes, want);
    if (!found) return null;
    const { header, at } = found;
    const payload = bytes.subarray(at + header.length);
    if (sha256(payload) !== header.factsSha256) return null;
    const rows: unknown = deserialize(payload);
    if (!Array.isArray(rows) || rows.length !== header.facts) return null;
    const out = new Map<string, CachedFacts>();
    for (const row of rows as unknown[]) {
      if (!Array.isArray(row) || row.length !== 3) return null;
      const [name, oid, facts] = row as [unknown, unknown, unknown];
      if (typeof name !== 'string' || typeof oid !== 'string' || !OID.test(oid) || (facts !== null && (typeof facts !== 'object' || Array.isArray(facts)))) return null;
      out.set(oid, { name, oid, facts: facts as HandoffFacts | null });
    }
    return out;
  } catch {
    // Not JSON, not v8 data: a foreign or damaged file, which is rebuilt.
    return null;
  }
}

/**
 * The entries of a cache file, or null when it is not one this build wrote for `want` (folder and build; the tree
 * may differ when `anyTree`, since an entry is valid by its own name and oid whatever tree listed it).
 */
export function decodeCacheFile(bytes: Buffer, want: Omit<CacheKey, 'tree'> & { tree?: string }): CachedEntry[] | null {
  try {
    const found = headerOf(bytes, want);
    if (!found) return null;
    const { header, at } = found;
    const payload = bytes.subarray(at, at + header.length);
    // The whole file is checked: one damaged anywhere is rebuilt by the next save, not half used.
    if (sha256(payload) !== header.sha256 || sha256(bytes.subarray(at + header.length)) !== header.factsSha256) return null;
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
