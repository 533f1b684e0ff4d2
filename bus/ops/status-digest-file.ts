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
 * A file is `MAGIC`, one JSON header line, then two JSON payloads: the digest's core (settings, nodes, counts, the
 * first DIGEST_PER_STATE tasks of each state, problems, claim holders, archived dependencies) and the summaries of
 * all tasks, which only `status --json` reads. The header names the build, the format and the commit, and each
 * payload's length and checksum: a file of another build or commit, or cut short, or damaged, decodes to null.
 */
export const MAGIC = 'gitbus-status-digest\n';

/**
 * Bump when what busStatus computes from a commit changes shape or meaning; the build id covers most changes.
 * 2: task summaries carry `repo`, which noTaker judges node cards' `policy.repos` and `projectsOnly` by.
 */
export const STATUS_DIGEST_FORMAT = 3;

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

interface Header {
  format: number;
  build: string;
  commit: string;
  coreLength: number;
  coreChecksum: string;
  allLength: number;
  allChecksum: string;
  tasks: number;
}

export function encodeStatusDigest(build: string, digest: StatusDigest, all: readonly TaskSummary[]): Buffer {
  const core = Buffer.from(JSON.stringify(digest), 'utf8');
  const rest = Buffer.from(JSON.stringify(all), 'utf8');
  const header: Header = { format: STATUS_DIGEST_FORMAT, build, commit: digest.commit, coreLength: core.length, coreChecksum: checksum(core), allLength: rest.length, allChecksum: checksum(rest), tasks: all.length };
  return frame(MAGIC, header, [core, rest]);
}

function headerOf(bytes: Buffer, build: string, commit: string): { header: Header; at: number } | null {
  const line = readHeaderLine(bytes, MAGIC);
  if (!line) return null;
  const header = line.header as Partial<Header>;
  if (header.format !== STATUS_DIGEST_FORMAT || header.build !== build || header.commit !== commit) return null;
  if (typeof header.coreLength !== 'number' || typeof header.allLength !== 'number' || bytes.length !== line.at + header.coreLength + header.allLength) return null;
  return { header: header as Header, at: line.at };
}

/**
 * The digest of `commit` in a file this build wrote, and with `all` the summaries of all its tasks in queue order;
 * null for any other file. Only the payloads asked for are checked and parsed.
 */
export function decodeStatusDigest(bytes: Buffer, build: string, commit: string, all: boolean): { digest: StatusDigest; all: TaskSummary[] | null } | null {
  try {
    const found = headerOf(bytes, build, commit);
    if (!found) return null;
    const { header, at } = found;
    const core = bytes.subarray(at, at + header.coreLength);
    if (checksum(core) !== header.coreChecksum) return null;
    const digest = JSON.parse(core.toString('utf8')) as unknown;
    if (!isDigest(digest, commit)) return null;
    if (!all) return { digest, all: null };
    const rest = bytes.subarray(at + header.coreLength);
    if (checksum(rest) !== header.allChecksum) return null;
    const tasks = JSON.parse(rest.toString('utf8')) as unknown;
    if (!Array.isArray(tasks) || tasks.length !== header.tasks) return null;
    return { digest, all: tasks as TaskSummary[] };
  } catch {
    // Not JSON: a foreign or damaged file, which the next status writes again.
    return null;
  }
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
