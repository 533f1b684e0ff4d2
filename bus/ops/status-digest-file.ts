import type { FileProblem } from '../../schemas/errors.js';
import type { ResolvedSettings } from '../../schemas/settings.js';
import type { NodeView } from '../model/snapshot.js';
import type { TaskState } from '../model/types.js';
import type { TaskSummary } from './task-summary.js';
import { checksum, frame, readHeaderLine } from '../store/header-line.js';

/**
 * The bytes of one status digest (docs/ARCHITECTURE.md "The status digest"): what `status` worked out of one commit
 * of main that depends on nothing but that commit, so that the next `status` of the same commit on this node reads
 * it instead of listing, indexing and summarizing every live task again. Pure: encode and decode, no I/O.
 *
 * A file is `MAGIC`, one JSON header line, then three JSON payloads: the digest's core (settings, nodes, counts, the
 * first DIGEST_PER_STATE tasks of each state, problems, claim holders, archived dependencies), the summaries of
 * all tasks, which only `status --json` reads, and what a status of a later commit derives its own from
 * (DeriveFacts, bus/ops/status-derive.ts). The header names the build, the format and the commit, and each payload's
 * length and checksum: a file of another build or commit, or cut short, or damaged, decodes to null.
 */
export const MAGIC = 'gitbus-status-digest\n';

/**
 * Bump when what busStatus computes from a commit changes shape or meaning; the build id covers most changes.
 * 2: task summaries carry `repo`, which noTaker judges node cards' `policy.repos` and `projectsOnly` by.
 * 4: a third payload, DeriveFacts.
 */
export const STATUS_DIGEST_FORMAT = 4;

/** Tasks of each state the core payload lists: `status` shows 50 a state (cli/commands/status.ts). */
export const DIGEST_PER_STATE = 50;

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
 * The `all` payload: a JSON array (what `status --json` parses whole) with one summary per line, so that a status
 * of a later commit finds each summary's bytes without parsing them (JSON.stringify writes no line break inside a
 * value). Pure.
 */
function allPayload(lines: readonly SummaryLine[]): Buffer {
  if (lines.length === 0) return Buffer.from('[]', 'utf8');
  // Lines that lie side by side in one earlier payload (summaryLines), separators included, are copied as one
  // piece: a derived status copies thousands of them in a few runs, where a piece each cost more than the copy.
  // Side by side means with a separator between them, checked: two new lines may share a pool of memory.
  const parts: Buffer[] = [OPEN];
  let run: SummaryLine | null = null;
  let runEnd = 0;
  let whole: Buffer = EMPTY;
  const flush = () => {
    if (run) parts.push(parts.length > 1 ? SEP : EMPTY, Buffer.from(run.buffer, run.byteOffset, runEnd - run.byteOffset));
  };
  for (const l of lines) {
    if (whole.buffer !== l.buffer) whole = Buffer.from(l.buffer);
    if (run && l.buffer === run.buffer && l.byteOffset === runEnd + SEP.length && whole[runEnd] === 0x2c && whole[runEnd + 1] === 0x0a) runEnd = l.byteOffset + l.length;
    else {
      flush();
      run = l;
      runEnd = l.byteOffset + l.length;
    }
  }
  flush();
  parts.push(CLOSE);
  return Buffer.concat(parts);
}
const EMPTY = Buffer.alloc(0);
const OPEN = Buffer.from('[\n', 'utf8');
const SEP = Buffer.from(',\n', 'utf8');
const CLOSE = Buffer.from('\n]', 'utf8');

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
    if (nl < 0 || payload[nl - 1] !== 0x2c) return null;
    out.push(payload.subarray(at, nl - 1));
    at = nl + 1;
  }
  return out.length === count ? out : null;
}

interface Header {
  format: number;
  build: string;
  commit: string;
  coreLength: number;
  coreChecksum: string;
  allLength: number;
  allChecksum: string;
  deriveLength: number;
  deriveChecksum: string;
  tasks: number;
}

/** A digest file; `all` as its summaries' lines (summaryLine, or an earlier digest's), in queue order. */
export function encodeStatusDigest(build: string, digest: StatusDigest, all: readonly SummaryLine[], derive: DeriveFacts): Buffer {
  const core = Buffer.from(JSON.stringify(digest), 'utf8');
  const rest = allPayload(all);
  const facts = Buffer.from(JSON.stringify(derive), 'utf8');
  const header: Header = { format: STATUS_DIGEST_FORMAT, build, commit: digest.commit, coreLength: core.length, coreChecksum: checksum(core), allLength: rest.length, allChecksum: checksum(rest), deriveLength: facts.length, deriveChecksum: checksum(facts), tasks: all.length };
  return frame(MAGIC, header, [core, rest, facts]);
}

function headerOf(bytes: Buffer, build: string, commit: string): { header: Header; at: number } | null {
  const line = readHeaderLine(bytes, MAGIC);
  if (!line) return null;
  const header = line.header as Partial<Header>;
  if (header.format !== STATUS_DIGEST_FORMAT || header.build !== build || header.commit !== commit) return null;
  if (typeof header.coreLength !== 'number' || typeof header.allLength !== 'number' || typeof header.deriveLength !== 'number') return null;
  if (bytes.length !== line.at + header.coreLength + header.allLength + header.deriveLength) return null;
  return { header: header as Header, at: line.at };
}

/** A digest file decoded (decodeStatusDigest): the payloads asked for, null for the others. */
export interface DecodedDigest {
  digest: StatusDigest;
  /** The summaries of all tasks, in queue order. */
  all: TaskSummary[] | null;
  /** With `derive`: the summaries' lines (their bytes, unparsed) and the DeriveFacts. */
  lines: SummaryLine[] | null;
  derive: DeriveFacts | null;
}

/**
 * The digest of `commit` in a file this build wrote, and with `all` the summaries of all its tasks in queue order,
 * with `derive` their lines and the DeriveFacts; null for any other file. Only the payloads asked for are checked
 * and parsed.
 */
export function decodeStatusDigest(bytes: Buffer, build: string, commit: string, all: boolean, derive = false): DecodedDigest | null {
  try {
    const found = headerOf(bytes, build, commit);
    if (!found) return null;
    const { header, at } = found;
    const core = bytes.subarray(at, at + header.coreLength);
    if (checksum(core) !== header.coreChecksum) return null;
    const digest = JSON.parse(core.toString('utf8')) as unknown;
    if (!isDigest(digest, commit)) return null;
    const out: DecodedDigest = { digest, all: null, lines: null, derive: null };
    const rest = bytes.subarray(at + header.coreLength, at + header.coreLength + header.allLength);
    if ((all || derive) && checksum(rest) !== header.allChecksum) return null;
    if (all) {
      const list = JSON.parse(rest.toString('utf8')) as unknown;
      if (!Array.isArray(list) || list.length !== header.tasks) return null;
      out.all = list as TaskSummary[];
    }
    if (derive) {
      const facts = bytes.subarray(at + header.coreLength + header.allLength);
      if (checksum(facts) !== header.deriveChecksum) return null;
      const d = JSON.parse(facts.toString('utf8')) as unknown;
      if (!isDeriveFacts(d) || d.order.length !== header.tasks) return null;
      out.lines = summaryLines(rest, header.tasks);
      if (!out.lines) return null;
      out.derive = d;
    }
    return out;
  } catch {
    // Not JSON: a foreign or damaged file, which the next status writes again.
    return null;
  }
}

function isDeriveFacts(d: unknown): d is DeriveFacts {
  if (!d || typeof d !== 'object') return false;
  const o = d as Record<string, unknown>;
  return typeof o['remote'] === 'string' && Array.isArray(o['order']) && Array.isArray(o['deps']) && Array.isArray(o['taskProblems']);
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
