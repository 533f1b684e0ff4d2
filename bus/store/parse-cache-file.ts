import type { Parsed } from '../model/task-view.js';
import type { Handoff } from '../../schemas/handoff.js';
import type { FileProblem } from '../../schemas/errors.js';
import { checksum, frame, readHeaderLine } from './header-line.js';

/**
 * The bytes of one parse-cache file (docs/ARCHITECTURE.md "Snapshot and model", "The parse cache"): the parse
 * results of the files of one live folder, by name and blob oid. Pure: encode and decode, no I/O.
 *
 * A file is `MAGIC`, one JSON header line, then a JSON array of [name, oid, parsed], then a JSON array of
 * [name, oid, facts, problems, unsupportedProtocol] for the folder's handoffs: the fields that rule a task out for
 * a node, pick it for housekeeping, and show it in `status` (HandoffFacts), with the parse's warnings or problems, so that `claim --next`, a watcher's housekeeping and `status` need not deserialize every parse result. The header names the gitbus build and the format, the folder and its tree oid,
 * and each payload's length and checksum: a file of another
 * build, another folder, or cut short, or bytes that merely look like one, decode to null and are rebuilt. The cache
 * is only ever a faster way to a parse result the node could compute again from the blob; it decides nothing.
 */
export const MAGIC = 'gitbus-parse-cache\n';

/**
 * Bump when what parseBusFile returns for the same bytes changes shape or meaning (a schema, a check, a message):
 * every cache file of an older format is then ignored. The build identity in the key covers most changes anyway.
 */
export const PARSE_CACHE_FORMAT = 4;
// Format 3 is JSON where 2 was v8.serialize: parse results are plain data (no dates, maps or undefined in arrays),
// and V8's JSON.parse decoded 5,000 handoffs' results in about half the time of v8.deserialize (PERFORMANCE.md).

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

/**
 * What of a handoff decides whether a node may ever take it, whether housekeeping looks at it, its state before
 * the other files of its task (protocol, schedule, after) and what `status` lists of it (TaskSummary).
 */
export const HANDOFF_FACTS = ['to', 'labels', 'runner', 'command', 'after', 'schedule', 'protocol', 'title', 'from', 'created', 'priority', 'repo', 'branch', 'group'] as const;
export type HandoffFacts = Pick<Handoff, (typeof HANDOFF_FACTS)[number]>;

/** The facts of one handoff file: null when it did not parse. */
export interface CachedFacts {
  name: string;
  oid: string;
  facts: HandoffFacts | null;
  /** The parse's warnings, or its problems when it did not parse: what status and lint say of the file. */
  problems: FileProblem[];
  /** A handoff of a newer protocol than this gitbus knows (it did not parse). */
  unsupportedProtocol?: number;
}

/** The facts row of a handoff file from its parse result. Pure. */
export function factsOf(name: string, oid: string, parsed: Parsed<unknown>): CachedFacts {
  if (!parsed.ok) return { name, oid, facts: null, problems: parsed.problems, ...(parsed.unsupportedProtocol !== undefined ? { unsupportedProtocol: parsed.unsupportedProtocol } : {}) };
  const h = parsed.data as Handoff;
  const out: Partial<Record<keyof HandoffFacts, unknown>> = {};
  for (const k of HANDOFF_FACTS) if (h[k] !== undefined) out[k] = h[k];
  return { name, oid, facts: out as HandoffFacts, problems: parsed.warnings };
}

/** The parse result a facts row stands for, as much of it as a row view needs (no body). Pure. */
export function parsedOfRow(row: CachedFacts): Parsed<HandoffFacts> {
  if (row.facts) return { ok: true, data: row.facts, body: '', warnings: row.problems };
  return { ok: false, problems: row.problems, ...(row.unsupportedProtocol !== undefined ? { unsupportedProtocol: row.unsupportedProtocol } : {}) };
}

interface Header extends CacheKey {
  format: number;
  length: number;
  checksum: string;
  entries: number;
  factsLength: number;
  factsChecksum: string;
  facts: number;
}

const OID = /^[0-9a-f]{40}$/;
/** Shared by every row without problems (most): nobody changes a row's problems. */
const NO_PROBLEMS: FileProblem[] = [];

export function encodeCacheFile(key: CacheKey, entries: readonly CachedEntry[], facts: readonly CachedFacts[] = []): Buffer {
  const payload = Buffer.from(JSON.stringify(entries.map((e) => [e.name, e.oid, e.parsed])), 'utf8');
  const factsPayload = Buffer.from(JSON.stringify(facts.map((f) => [f.name, f.oid, f.facts, f.problems.length ? f.problems : null, f.unsupportedProtocol ?? null])), 'utf8');
  const header: Header = { format: PARSE_CACHE_FORMAT, ...key, length: payload.length, checksum: checksum(payload), entries: entries.length, factsLength: factsPayload.length, factsChecksum: checksum(factsPayload), facts: facts.length };
  return frame(MAGIC, header, [payload, factsPayload]);
}

/** The header of a cache file this build wrote for `want`, and where its payloads start; null for any other file. */
function headerOf(bytes: Buffer, want: Omit<CacheKey, 'tree'> & { tree?: string }): { header: Header; at: number } | null {
  const line = readHeaderLine(bytes, MAGIC);
  if (!line) return null;
  const header = line.header as Partial<Header>;
  if (header.format !== PARSE_CACHE_FORMAT || header.build !== want.build || header.folder !== want.folder) return null;
  if (want.tree !== undefined && header.tree !== want.tree) return null;
  if (typeof header.length !== 'number' || typeof header.factsLength !== 'number' || bytes.length !== line.at + header.length + header.factsLength) return null;
  return { header: header as Header, at: line.at };
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
    if (checksum(payload) !== header.factsChecksum) return null;
    const rows: unknown = JSON.parse(payload.toString('utf8'));
    if (!Array.isArray(rows) || rows.length !== header.facts) return null;
    const out = new Map<string, CachedFacts>();
    // Indexed reads, no destructuring or spread: this loop runs once per process over every handoff, before V8
    // has optimised it, where an array destructuring goes through the iterator protocol (PERFORMANCE.md).
    for (const row of rows as unknown[][]) {
      if (!Array.isArray(row) || row.length !== 5) return null;
      const name = row[0];
      const oid = row[1];
      const facts = row[2];
      const problems = row[3];
      const unsupported = row[4];
      if (typeof name !== 'string' || typeof oid !== 'string' || !OID.test(oid) || (facts !== null && (typeof facts !== 'object' || Array.isArray(facts))) || (problems !== null && !Array.isArray(problems)) || (unsupported !== null && typeof unsupported !== 'number')) return null;
      const entry: CachedFacts = { name, oid, facts: facts as HandoffFacts | null, problems: (problems as FileProblem[] | null) ?? NO_PROBLEMS };
      if (unsupported !== null) entry.unsupportedProtocol = unsupported as number;
      out.set(oid, entry);
    }
    return out;
  } catch {
    // Not JSON: a foreign or damaged file, which is rebuilt.
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
    if (checksum(payload) !== header.checksum || checksum(bytes.subarray(at + header.length)) !== header.factsChecksum) return null;
    const rows: unknown = JSON.parse(payload.toString('utf8'));
    if (!Array.isArray(rows) || rows.length !== header.entries) return null;
    const out: CachedEntry[] = [];
    for (const row of rows as unknown[][]) {
      if (!Array.isArray(row) || row.length !== 3) return null;
      const name = row[0];
      const oid = row[1];
      const parsed = row[2];
      if (typeof name !== 'string' || typeof oid !== 'string' || !OID.test(oid) || !isParsed(parsed)) return null;
      out.push({ name, oid, parsed });
    }
    return out;
  } catch {
    // Not JSON: a foreign or damaged file, which is rebuilt.
    return null;
  }
}

function isParsed(p: unknown): p is Parsed<unknown> {
  if (!p || typeof p !== 'object') return false;
  const o = p as Record<string, unknown>;
  if (o['ok'] === true) return typeof o['body'] === 'string' && Array.isArray(o['warnings']) && o['data'] !== undefined;
  return o['ok'] === false && Array.isArray(o['problems']);
}
