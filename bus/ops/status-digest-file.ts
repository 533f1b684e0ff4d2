import type { FileProblem } from '../../schemas/errors.js';
import type { ResolvedSettings } from '../../schemas/settings.js';
import type { NodeView } from '../model/snapshot.js';
import type { TaskState } from '../model/types.js';
import type { TaskSummary } from './task-summary.js';
import { checksum, frame, readHeaderLine } from '../store/header-line.js';

/**
 * The bytes of one status digest (docs/ARCHITECTURE.md "The status digest"): what `status` worked out of one commit
 * of main that depends on nothing but that commit, so that the next `status` of the same commit on this node reads
 * it instead of listing, indexing and summarizing every live task again. Pure: encode and decode, no I/O but through
 * the DigestBytes a caller gives.
 *
 * A file is `MAGIC`, one JSON header line, then three payloads, each read only by the readers that need it:
 * - the core (settings, nodes, counts, the first DIGEST_PER_STATE tasks of each state, problems, claim holders,
 *   archived dependencies): all a plain `status` reads;
 * - the facts a status of a later commit derives its own from: in a full digest DeriveFacts, in a delta the
 *   DeltaChanges from its base (bus/ops/status-derive.ts);
 * - task summaries, one per line: in a full digest every task's (what `status --json` lists), in a delta those of
 *   the tasks that differ from its base.
 * A delta is a digest written as its differences from a full digest of an earlier commit (its base): with 5,000 live
 * tasks a full one is 2 MB, and a status right after another node's push read one and wrote another (issue 14). The
 * header names the build, the format, the commit, the kind (and a delta's base), and each payload's length and
 * checksum: a file of another build or commit, or cut short, or damaged, decodes to null.
 */
export const MAGIC = 'gitbus-status-digest\n';

/**
 * Bump when what busStatus computes from a commit changes shape or meaning; the build id covers most changes.
 * 2: task summaries carry `repo`, which noTaker judges node cards' `policy.repos` and `projectsOnly` by.
 * 4: a third payload, DeriveFacts.
 * 5: deltas; the payloads in the order core, facts, lines; DeriveFacts.spare.
 * 6: a pending task's summary carries `noTaker` (the commit's cards decide it), and the lines are laid out as `status
 *    --json` lists tasks, which writes them as they are.
 * 7: a pending manual task's `noTaker` says that it waits for a person or an agent (bus/model/manual-task.ts).
 */
export const STATUS_DIGEST_FORMAT = 7;

/** Tasks of each state the core payload lists: `status` shows 50 a state (cli/commands/status.ts). */
export const DIGEST_PER_STATE = 50;

/**
 * Tasks of each state after the first DIGEST_PER_STATE whose summaries a full digest keeps in its facts: when tasks
 * of the first leave or change, a status derived from it lists those that move up without reading every summary.
 */
export const DIGEST_SPARE_PER_STATE = 50;

/** What busStatus computed from one commit of main alone (no clock, no other node's heartbeat, no local file). */
export interface StatusDigest {
  commit: string;
  settings: ResolvedSettings;
  nodes: NodeView[];
  counts: Partial<Record<TaskState, number>>;
  /** In queue order, the first DIGEST_PER_STATE tasks of each state (progress left null: it is of the moment). */
  top: TaskSummary[];
  problems: FileProblem[];
  /** Open claims by node (`<id>.<attempt>`), for the liveness rule (bus/ops/claim-holders.ts). */
  holders: [string, string[]][];
  /**
   * Dependencies named by live tasks that are not live, and what the archive said of them: an archived task's state
   * never changes, so only those the archive did not know are asked again before the digest is used.
   */
  external: { asked: string[]; found: [string, TaskState][] };
}

/**
 * What a status of another commit needs of this one to derive its own without working out the tasks that did not
 * change (bus/ops/status-derive.ts): each task's dependencies (a task whose dependency changed is worked out again)
 * and the problems of each task's files (the rest of `problems` is worked out afresh: names, settings, cards).
 */
export interface DeriveFacts {
  /**
   * The remote the digest's commit was read from (as the node names it): a node pointed at another remote derives
   * nothing from it, since what the earlier archive said of a dependency is that remote's.
   */
  remote: string;
  /**
   * Each task of `all`, in the same (queue) order, as queue order and the counts read it: id, state, priority,
   * creation time. A derived status merges the new tasks into this list and copies the other summaries' bytes as
   * they are (SummaryLine), parsing none.
   */
  order: OrderRow[];
  /** `after` of each live task that names dependencies. */
  deps: [string, string[]][];
  /** The problems of each live task's files that has some, as `gitbus lint` finds them. */
  taskProblems: [string, FileProblem[]][];
  /** In queue order, the tasks ranked after the first DIGEST_PER_STATE of their state, DIGEST_SPARE_PER_STATE a state. */
  spare: TaskSummary[];
}

/**
 * A delta's facts: its commit's tasks as its base's without `drop`, with `fresh` (in queue order, their summaries the
 * delta's lines) put in their places by queue order; its commit's deps and task problems whole (a task names few).
 */
export interface DeltaChanges {
  remote: string;
  /** Tasks of the base's order that are not the base's at this commit (gone, or changed: then also in fresh). */
  drop: string[];
  /** The order rows of the tasks whose summaries are the delta's own, in queue order. */
  fresh: OrderRow[];
  deps: [string, string[]][];
  taskProblems: [string, FileProblem[]][];
}

/** A task's row of DeriveFacts.order. */
export type OrderRow = [id: string, state: TaskState, priority: number, created: string | null];

/** A summary of `all` as its bytes: a new one encoded, or an earlier digest's copied (summaryLines). */
export type SummaryLine = Buffer;

/** The order row of a summary. Pure. */
export function orderRow(s: TaskSummary): OrderRow {
  return [s.id, s.state, s.priority, s.created];
}

/** A summary's line of the `all` payload. Pure. */
export function summaryLine(s: TaskSummary): SummaryLine {
  return Buffer.from(JSON.stringify(s), 'utf8');
}

/**
 * The `all` payload: a JSON array with one summary per line, so that a status of a later commit finds each summary's
 * bytes without parsing them (JSON.stringify writes no line break inside a value); laid out as `status --json` lists
 * its tasks (indented as the array's place there), which writes it as it is (bus/ops/status-tasks-json.ts). Pure.
 */
export function summaryPayload(lines: readonly SummaryLine[]): Buffer {
  return allPayload(lines);
}

function allPayload(lines: readonly SummaryLine[]): Buffer {
  return Buffer.concat(summaryPieces(lines));
}

/**
 * summaryPayload's bytes in pieces, not copied into one: runs of an earlier payload's lines are views of it. What
 * `status --json` writes, piece by piece: with 5,000 tasks each copy of the payload is 2.5 MB of fresh memory.
 */
export function summaryPieces(lines: readonly SummaryLine[]): Buffer[] {
  if (lines.length === 0) return [Buffer.from('[]', 'utf8')];
  // Lines that lie side by side in one earlier payload (summaryLines), separators included, are copied as one
  // piece: a derived status copies thousands of them in a few runs, where a piece each cost more than the copy.
  // Side by side means with a separator between them, checked: two new lines may share a pool of memory.
  const parts: Buffer[] = [OPEN];
  let run: SummaryLine | null = null;
  let runEnd = 0;
  let whole: Buffer = EMPTY;
  const flush = () => {
    if (!run) return;
    if (parts.length > 1) parts.push(SEP);
    parts.push(Buffer.from(run.buffer, run.byteOffset, runEnd - run.byteOffset));
  };
  for (const l of lines) {
    if (whole.buffer !== l.buffer) whole = Buffer.from(l.buffer);
    if (run && l.buffer === run.buffer && l.byteOffset === runEnd + SEP.length && sepAt(whole, runEnd)) runEnd = l.byteOffset + l.length;
    else {
      flush();
      run = l;
      runEnd = l.byteOffset + l.length;
    }
  }
  flush();
  parts.push(CLOSE);
  return parts;
}
const EMPTY = Buffer.alloc(0);
/** The array sits at the second level of `status --json`'s object: its items are indented by four spaces. */
const OPEN = Buffer.from('[\n    ', 'utf8');
const SEP = Buffer.from(',\n    ', 'utf8');
const CLOSE = Buffer.from('\n  ]', 'utf8');

/** Whether SEP lies in `b` at `at` (byte by byte: Buffer.compare with offsets costs more, once per line). */
function sepAt(b: Buffer, at: number): boolean {
  for (let i = 0; i < SEP.length; i++) if (b[at + i] !== SEP[i]) return false;
  return true;
}

/** The summaries whose lines these are, in their order (lines of any digests, as allPayload joins them). Pure. */
export function summariesOf(lines: readonly SummaryLine[]): TaskSummary[] {
  return JSON.parse(allPayload(lines).toString('utf8')) as TaskSummary[];
}

/** Whether the bytes (that passed their checksum) are laid out as allPayload lays out `count` summaries. Pure. */
function isPayload(payload: Buffer, count: number): boolean {
  if (count === 0) return payload.toString('utf8') === '[]';
  return payload.length >= OPEN.length + CLOSE.length && payload.subarray(0, OPEN.length).equals(OPEN) && payload.subarray(payload.length - CLOSE.length).equals(CLOSE);
}

/** The summaries' lines of an `all` payload (views of its bytes); null when it is not one allPayload wrote. Pure. */
function summaryLines(payload: Buffer, count: number): SummaryLine[] | null {
  if (count === 0) return payload.toString('utf8') === '[]' ? [] : null;
  if (!payload.subarray(0, OPEN.length).equals(OPEN) || !payload.subarray(payload.length - CLOSE.length).equals(CLOSE)) return null;
  const out: SummaryLine[] = [];
  const end = payload.length - CLOSE.length;
  for (let at = OPEN.length; ; ) {
    const nl = payload.indexOf(0x0a, at);
    if (nl === end) {
      out.push(payload.subarray(at, end));
      break;
    }
    if (nl < 0 || !sepAt(payload, nl - 1)) return null;
    out.push(payload.subarray(at, nl - 1));
    at = nl - 1 + SEP.length;
  }
  return out.length === count ? out : null;
}

/** Where a digest file's bytes come from, a range at a time: a plain `status` reads its core and nothing else. */
export interface DigestBytes {
  size: number;
  /** Exactly `length` bytes from `start`; null when they cannot be read. */
  read(start: number, length: number): Buffer | null;
}

/** DigestBytes over bytes in memory. */
export function bytesOf(b: Buffer): DigestBytes {
  return { size: b.length, read: (start, length) => (start >= 0 && start + length <= b.length ? b.subarray(start, start + length) : null) };
}

interface Header {
  format: number;
  build: string;
  commit: string;
  kind: 'full' | 'delta';
  /** A delta's base commit; null for a full digest. */
  base: string | null;
  /** Live tasks at the commit. */
  tasks: number;
  /** Summaries in the lines payload. */
  lines: number;
  /** Core, facts, lines. */
  lengths: [number, number, number];
  checksums: [string, string, string];
}

/** The longest header line a reader looks at (a few hundred bytes are written). */
const HEADER_MAX = 4096;

function encode(build: string, commit: string, kind: Header['kind'], base: string | null, tasks: number, core: Buffer, facts: Buffer, lines: readonly SummaryLine[]): Buffer {
  const rest = allPayload(lines);
  const header: Header = { format: STATUS_DIGEST_FORMAT, build, commit, kind, base, tasks, lines: lines.length, lengths: [core.length, facts.length, rest.length], checksums: [checksum(core), checksum(facts), checksum(rest)] };
  return frame(MAGIC, header, [core, facts, rest]);
}

/** A full digest file; `all` as its summaries' lines (summaryLine, or an earlier digest's), in queue order. */
export function encodeStatusDigest(build: string, digest: StatusDigest, all: readonly SummaryLine[], facts: DeriveFacts): Buffer {
  return encode(build, digest.commit, 'full', null, all.length, Buffer.from(JSON.stringify(digest), 'utf8'), Buffer.from(JSON.stringify(facts), 'utf8'), all);
}

/** A delta file: `digest` as the full digest of `base` with `changes`; `fresh` the lines of changes.fresh. */
export function encodeStatusDelta(build: string, digest: StatusDigest, base: string, tasks: number, changes: DeltaChanges, fresh: readonly SummaryLine[]): Buffer {
  return encode(build, digest.commit, 'delta', base, tasks, Buffer.from(JSON.stringify(digest), 'utf8'), Buffer.from(JSON.stringify(changes), 'utf8'), fresh);
}

interface DigestFileCommon {
  commit: string;
  /** Live tasks at the commit. */
  tasks: number;
  core(): StatusDigest | null;
  /** The lines payload's summaries (a full digest's every task, a delta's fresh ones), unparsed. */
  lines(): SummaryLine[] | null;
}

/** A full digest file opened (openStatusDigest). */
export interface FullDigestFile extends DigestFileCommon {
  kind: 'full';
  facts(): DeriveFacts | null;
  /** Every task's summary, in queue order. */
  all(): TaskSummary[] | null;
  /** The summaries payload's bytes (summaryPayload), checked but not parsed: what `status --json` writes. */
  payload(): Buffer | null;
}

/** A delta file opened (openStatusDigest). */
export interface DeltaDigestFile extends DigestFileCommon {
  kind: 'delta';
  base: string;
  changes(): DeltaChanges | null;
}

export type DigestFile = FullDigestFile | DeltaDigestFile;

/**
 * The digest of `commit` in a file this build wrote, its header checked; null for any other file. Each payload is read
 * and checked when first asked for (null when it fails its checksum or shape), and only then.
 */
export function openStatusDigest(bytes: DigestBytes, build: string, commit: string): DigestFile | null {
  try {
    const head = bytes.read(0, Math.min(bytes.size, MAGIC.length + HEADER_MAX + 1));
    const line = head ? readHeaderLine(head, MAGIC) : null;
    if (!line) return null;
    const h = line.header as Partial<Header>;
    if (h.format !== STATUS_DIGEST_FORMAT || h.build !== build || h.commit !== commit || typeof h.tasks !== 'number' || typeof h.lines !== 'number') return null;
    if (!Array.isArray(h.lengths) || h.lengths.length !== 3 || !h.lengths.every((n) => Number.isSafeInteger(n) && n >= 0)) return null;
    if (!Array.isArray(h.checksums) || h.checksums.length !== 3 || !h.checksums.every((c) => typeof c === 'string')) return null;
    const [coreLength, factsLength, linesLength] = h.lengths;
    if (bytes.size !== line.at + coreLength + factsLength + linesLength) return null;
    const part = (i: 0 | 1 | 2, start: number, length: number): Buffer | null => {
      const b = bytes.read(start, length);
      return b && checksum(b) === h.checksums?.[i] ? b : null;
    };
    const json = (i: 0 | 1, start: number, length: number): unknown => {
      const b = part(i, start, length);
      return b ? (JSON.parse(b.toString('utf8')) as unknown) : null;
    };
    const linesAt = line.at + coreLength + factsLength;
    const tasks = h.tasks;
    const count = h.lines;
    const core = once(() => {
      const d = json(0, line.at, coreLength);
      return isDigest(d, commit) ? d : null;
    });
    const lines = once(() => {
      const b = part(2, linesAt, linesLength);
      return b ? summaryLines(b, count) : null;
    });
    if (h.kind === 'full' && h.base === null && count === tasks) {
      const facts = once(() => {
        const d = json(1, line.at + coreLength, factsLength);
        return isDeriveFacts(d) && d.order.length === tasks ? d : null;
      });
      const all = once(() => {
        const b = part(2, linesAt, linesLength);
        const list = b ? (JSON.parse(b.toString('utf8')) as unknown) : null;
        return Array.isArray(list) && list.length === tasks ? (list as TaskSummary[]) : null;
      });
      const payload = once(() => {
        const b = part(2, linesAt, linesLength);
        return b && isPayload(b, tasks) ? b : null;
      });
      return { kind: 'full', commit, tasks, core, lines, facts, all, payload };
    }
    if (h.kind === 'delta' && typeof h.base === 'string' && /^[0-9a-f]{40}$/.test(h.base) && h.base !== commit) {
      const changes = once(() => {
        const d = json(1, line.at + coreLength, factsLength);
        return isDeltaChanges(d) && d.fresh.length === count ? d : null;
      });
      return { kind: 'delta', commit, tasks, base: h.base, core, lines, changes };
    }
    return null;
  } catch {
    // Not JSON: a foreign or damaged file, which the next status writes again.
    return null;
  }
}

/** `f`'s value, worked out at the first call; a throw (JSON that does not parse) is null. */
function once<T>(f: () => T | null): () => T | null {
  let done = false;
  let value: T | null = null;
  return () => {
    if (!done) {
      done = true;
      try {
        value = f();
      } catch {
        value = null;
      }
    }
    return value;
  };
}

function isDeriveFacts(d: unknown): d is DeriveFacts {
  if (!d || typeof d !== 'object') return false;
  const o = d as Record<string, unknown>;
  return typeof o['remote'] === 'string' && Array.isArray(o['order']) && Array.isArray(o['deps']) && Array.isArray(o['taskProblems']) && Array.isArray(o['spare']);
}

function isDeltaChanges(d: unknown): d is DeltaChanges {
  if (!d || typeof d !== 'object') return false;
  const o = d as Record<string, unknown>;
  return typeof o['remote'] === 'string' && Array.isArray(o['drop']) && o['drop'].every((id) => typeof id === 'string') && Array.isArray(o['fresh']) && Array.isArray(o['deps']) && Array.isArray(o['taskProblems']);
}

/** The shape of a core payload, as far as busStatus relies on it (its bytes passed their checksum). */
function isDigest(d: unknown, commit: string): d is StatusDigest {
  if (!d || typeof d !== 'object') return false;
  const o = d as Record<string, unknown>;
  const ext = o['external'] as Record<string, unknown> | null | undefined;
  return (
    o['commit'] === commit &&
    typeof o['settings'] === 'object' &&
    o['settings'] !== null &&
    Array.isArray(o['nodes']) &&
    typeof o['counts'] === 'object' &&
    o['counts'] !== null &&
    Array.isArray(o['top']) &&
    Array.isArray(o['problems']) &&
    Array.isArray(o['holders']) &&
    typeof ext === 'object' &&
    ext !== null &&
    Array.isArray(ext['asked']) &&
    Array.isArray(ext['found'])
  );
}
