import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { queueKeyOf } from '../model/planner.js';
import { BUILD_ID } from '../store/parse-cache.js';
import { cacheNames, newestFirst, removeCacheFile, removeDeadTemps, writeCacheFile } from '../store/cache-files.js';
import { encodeStatusDelta, encodeStatusDigest, openStatusDigest, summariesOf, summaryPieces, type DeltaChanges, type DeriveFacts, type DigestBytes, type DigestFile, type FullDigestFile, type OrderRow, type StatusDigest, type SummaryLine } from './status-digest-file.js';
import { mergeQueue } from './status-merge.js';
import type { TaskSummary } from './task-summary.js';

/**
 * The node's status digests (status-digest-file.ts): `<clone>/gitbus-cache/status/<commit>.digest` for a full one,
 * `<commit>.<base>.digest` for a delta on the full digest of `base`; the newest KEEP of them, and the bases those
 * name. Written by a status that worked its commit out (in full, or derived from an earlier commit's digest), read
 * by the next status of the same commit, and by that of a later commit to derive its own (status-derive.ts). Like
 * the parse cache, only ever a faster way to what the node could compute again from the commit: a file that is
 * missing, of another build, or damaged is ignored and written again.
 */
const KEEP = 2;
/** Fewer live tasks than this: status is quick without a digest, and a file a commit is not worth writing. */
export const DIGEST_MIN_TASKS = 50;
const NAME = /^([0-9a-f]{40})(?:\.([0-9a-f]{40}))?\.digest$/;
const TEMP = /^\.[0-9a-f]{40}(?:\.[0-9a-f]{40})?\.\d+\.[0-9a-z]+\.tmp$/;

function dirOf(gitdir: string): string {
  return join(gitdir, 'gitbus-cache', 'status');
}

/**
 * A file's bytes a range at a time. Each read opens the file anew: a digest replaced meanwhile (pruned, or written
 * again by another process) fails the checksum of the part read from it, and no descriptor outlives the call.
 */
function fileBytes(path: string): DigestBytes | null {
  const size = readAt(path, (fd) => fstatSync(fd).size);
  return size === null ? null : { size, read: (start, length) => readAt(path, (fd) => (length === 0 ? Buffer.alloc(0) : exactly(fd, start, length))) };
}

function exactly(fd: number, start: number, length: number): Buffer | null {
  const b = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, b, got, length - got, start + got);
    if (n === 0) return null;
    got += n;
  }
  return b;
}

function readAt<T>(path: string, f: (fd: number) => T): T | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    return f(fd);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The digest file of `commit` (a full one before a delta), opened; null when there is none this build can use. */
function openDigest(dir: string, names: readonly string[] | null, commit: string, build: string): DigestFile | null {
  const full = fileBytes(join(dir, `${commit}.digest`));
  const opened = full ? openStatusDigest(full, build, commit) : null;
  if (opened) return opened;
  for (const name of names ?? cacheNames(dir)) {
    if (!name.startsWith(`${commit}.`) || !NAME.exec(name)?.[2]) continue;
    const bytes = fileBytes(join(dir, name));
    const delta = bytes ? openStatusDigest(bytes, build, commit) : null;
    if (delta?.kind === 'delta' && name === `${commit}.${delta.base}.digest`) return delta;
  }
  return null;
}

/** The digest of `commit` (with all task summaries when `all`), or null when there is none this build can use. */
export function loadStatusDigest(gitdir: string, commit: string, all: boolean, build = BUILD_ID): { digest: StatusDigest; all: TaskSummary[] | null } | null {
  const dir = dirOf(gitdir);
  const file = openDigest(dir, null, commit, build);
  const digest = file?.core();
  if (!file || !digest) return null;
  if (!all) return { digest, all: null };
  if (file.kind === 'full') {
    const list = file.all();
    return list ? { digest, all: list } : null;
  }
  const lines = deltaLines(dir, file, build);
  return lines ? { digest, all: summariesOf(lines) } : null;
}

/**
 * The digest of `commit` with every task's summary in a summaries payload, unparsed and in pieces (summaryPieces: what
 * `status --json` writes as it is, bus/ops/status-tasks-json.ts); null when there is none this build can use.
 */
export function loadStatusPayload(gitdir: string, commit: string, build = BUILD_ID): { digest: StatusDigest; payload: Buffer[] } | null {
  const dir = dirOf(gitdir);
  const file = openDigest(dir, null, commit, build);
  const digest = file?.core();
  if (!file || !digest) return null;
  const whole = file.kind === 'full' ? file.payload() : null;
  const lines = file.kind === 'full' ? null : deltaLines(dir, file, build);
  const payload = whole ? [whole] : lines && summaryPieces(lines);
  return payload ? { digest, payload } : null;
}

/** Every task's summary line of a delta: its base's, and its own where it has them, in queue order. */
function deltaLines(dir: string, file: DigestFile, build: string): SummaryLine[] | null {
  const base = baseOf(dir, file, build);
  const rootLines = base?.rootLines();
  const lines: SummaryLine[] = [];
  for (const e of base?.entries ?? []) {
    const line = e.line ?? (e.root === undefined ? undefined : rootLines?.[e.root]);
    if (!line) return null;
    lines.push(line);
  }
  return base ? lines : null;
}

/** A task of an earlier digest: its order row, and where its summary is (its base's lines, or the delta's own). */
export interface BaseEntry {
  row: OrderRow;
  /** Its index in the full digest's order and lines (DigestBase.root). */
  root?: number;
  /** Its summary's bytes, when they are a delta's own. */
  line?: SummaryLine;
}

/**
 * An earlier commit's digest as a status of a later commit derives from it (status-derive.ts): its core, its tasks
 * in queue order, and the full digest (`root`) whose lines those that are not a delta's own are.
 */
export interface DigestBase {
  digest: StatusDigest;
  remote: string;
  /** The commit of the full digest the tasks' summaries are read from: the digest itself, or a delta's base. */
  root: string;
  rootOrder: readonly OrderRow[];
  entries: BaseEntry[];
  deps: [string, string[]][];
  taskProblems: DeriveFacts['taskProblems'];
  /** Summaries of the full digest's tasks at hand without reading its lines: its top and spare. */
  known: Map<string, TaskSummary>;
  /** The full digest's summaries, in its order (read when first asked for); null when they cannot be read. */
  rootLines(): SummaryLine[] | null;
}

/**
 * The newest digest of a commit other than `commit` this build can use, as a status of `commit` derives its own
 * from (a delta together with its base). Null when there is none.
 */
export function loadNewestStatusDigest(gitdir: string, commit: string, build = BUILD_ID): DigestBase | null {
  const dir = dirOf(gitdir);
  const names = cacheNames(dir);
  const newest = newestFirst(dir, names, (n) => NAME.exec(n)?.[1] !== commit && NAME.test(n))[0];
  const m = newest ? NAME.exec(newest.name) : null;
  if (!m) return null;
  const file = openDigest(dir, names, m[1] as string, build);
  return file ? baseOf(dir, file, build) : null;
}

/** The digest of `commit` as a status of a later commit derives from it; null when there is none this build can use. */
export function loadDigestBase(gitdir: string, commit: string, build = BUILD_ID): DigestBase | null {
  const dir = dirOf(gitdir);
  const file = openDigest(dir, null, commit, build);
  return file ? baseOf(dir, file, build) : null;
}

function baseOf(dir: string, file: DigestFile, build: string): DigestBase | null {
  const digest = file.core();
  if (!digest) return null;
  if (file.kind === 'full') {
    const root = rootOf(dir, file);
    return root && { digest, remote: root.facts.remote, root: file.commit, rootOrder: root.facts.order, entries: root.facts.order.map((row, i) => ({ row, root: i })), deps: root.facts.deps, taskProblems: root.facts.taskProblems, known: root.known, rootLines: root.lines };
  }
  const changes = file.changes();
  const lines = file.lines();
  const full = fileBytes(join(dir, `${file.base}.digest`));
  const opened = full ? openStatusDigest(full, build, file.base) : null;
  const root = opened?.kind === 'full' ? rootOf(dir, opened) : null;
  if (!changes || !lines || !root || changes.remote !== root.facts.remote) return null;
  const entries = applyDelta(root.facts.order, changes, lines);
  if (entries.length !== file.tasks) return null;
  return { digest, remote: changes.remote, root: file.base, rootOrder: root.facts.order, entries, deps: changes.deps, taskProblems: changes.taskProblems, known: root.known, rootLines: root.lines };
}

function rootOf(dir: string, file: FullDigestFile): { facts: DeriveFacts; known: Map<string, TaskSummary>; lines: () => SummaryLine[] | null } | null {
  const core = file.core();
  const facts = file.facts();
  if (!core || !facts) return null;
  const known = new Map<string, TaskSummary>();
  for (const t of core.top) known.set(t.id, t);
  for (const t of facts.spare) known.set(t.id, t);
  const lines = () => {
    const read = file.lines();
    // Damaged summaries: the deltas on it could be listed from its top and spare, but never written again in full
    // nor read whole. Removed, it is worked out and written again by the next status.
    if (!read) removeCacheFile(join(dir, `${file.commit}.digest`));
    return read;
  };
  return { facts, known, lines };
}

/** A delta's tasks: its base's order without `drop`, with its fresh rows merged in by queue order. Pure. */
export function applyDelta(rootOrder: readonly OrderRow[], changes: Pick<DeltaChanges, 'drop' | 'fresh'>, lines: readonly SummaryLine[]): BaseEntry[] {
  const base = rootOrder.map((row, i): BaseEntry => ({ row, root: i }));
  const fresh = changes.fresh.map((row, i): BaseEntry => ({ row, line: lines[i] as SummaryLine }));
  return mergeQueue(base, new Set(changes.drop), fresh, (e) => queueKeyOf(e.row[2], e.row[3], e.row[0]), (e) => e.row[0]);
}

/** Writes the full digest of its commit (a reader sees a whole file or none), then prunes. */
export function saveStatusDigest(gitdir: string, digest: StatusDigest, all: readonly SummaryLine[], derive: DeriveFacts, build = BUILD_ID): boolean {
  return save(gitdir, `${digest.commit}.digest`, encodeStatusDigest(build, digest, all, derive));
}

/** Writes the digest of its commit as a delta on the full digest of `base`, then prunes. */
export function saveStatusDelta(gitdir: string, digest: StatusDigest, base: string, tasks: number, changes: DeltaChanges, fresh: readonly SummaryLine[], build = BUILD_ID): boolean {
  return save(gitdir, `${digest.commit}.${base}.digest`, encodeStatusDelta(build, digest, base, tasks, changes, fresh));
}

function save(gitdir: string, name: string, bytes: Buffer): boolean {
  const dir = dirOf(gitdir);
  // A digest that cannot be written (full disk, read-only home) only costs speed.
  if (!writeCacheFile(dir, name, bytes)) return false;
  const names = cacheNames(dir);
  removeDeadTemps(dir, names, TEMP);
  const files = newestFirst(dir, names, (n) => n !== name && NAME.test(n));
  // The newest KEEP, and the full digests the deltas among them are written on.
  const kept = [name, ...files.slice(0, KEEP - 1).map((f) => f.name)];
  const bases = new Set(kept.flatMap((n) => {
    const base = NAME.exec(n)?.[2];
    return base ? [`${base}.digest`] : [];
  }));
  for (const f of files.slice(KEEP - 1)) if (!bases.has(f.name)) removeCacheFile(join(dir, f.name));
  return true;
}
