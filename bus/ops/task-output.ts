import { openRegularFile } from '../open-regular.js';
import { closeSync, existsSync, readSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import type { BusContext } from '../context.js';
import { UnknownTaskError } from '../errors.js';
import { heartbeatRef } from '../model/liveness.js';
import type { ShownState } from '../model/types.js';
import { queuedDispatch } from '../queue.js';
import { snapshotOrLast, type Offline } from './query.js';
import { clipTail, oneLineText, terminalText } from '../../schemas/output-text.js';
import { logOfBody, outputOfBody, responseSection, sectionHeadline } from './response-sections.js';
import { parse } from 'yaml';
import { beatDetails, HEARTBEAT_LOG_TAIL_BYTES, type BeatDelivering, type BeatDetails } from './heartbeat.js';
import { readProgress, type Progress } from '../progress.js';
import type { ClaudeReport, TaskResponse } from '../../schemas/response.js';
import { parseArchivedFile } from '../../schemas/bus-file.js';
import { liveTaskId } from './archive-lookup.js';
import { findCounted } from './archived-trust.js';
import { MAX_FILE_BYTES } from '../../schemas/field-limits.js';
import { modeProblem } from '../../schemas/layout.js';

export interface TaskOutput {
  id: string;
  /** `queued`: dispatched on this node while the remote was away, not on the bus yet. */
  state: ShownState;
  node: string | null;
  attempt: number | null;
  /** Where the text came from: this node's log file, the holder's heartbeat, the response, or nothing yet. */
  source: 'local' | 'heartbeat' | 'response' | 'none';
  text: string;
  /** Set when the remote could not be reached: what this node last knew. */
  offline: Offline | null;
  /** The task's runner (claude output is shown readable: watcher/runners/claude-format.ts). */
  runner: string | null;
  /** The latest progress its agent posted (`gitbus progress`) while it runs. */
  progress: Progress | null;
  /** A claude task's facts from its response (session, cost, turns, model, how it ended). */
  claude: ClaudeReport | null;
  /** With source `local`: the log file, its size, and how many bytes of its start `text` leaves out (LOG_TAIL_BYTES). */
  log?: LogFile;
  /** Set for a task read from the archive: it no longer changes, whatever its state (a damaged one is `invalid`). */
  archived?: true;
  /**
   * Whether `text` is less than the task's whole output: a local log past LOG_TAIL_BYTES, or a response whose output
   * is the end of a longer log (its Log section says so). Then `shownBytes` (of `text`), `totalBytes` (the log's)
   * and `fullLogPath` (on `node`, the node that ran it; null when the response names no path) say how much of how
   * much, and where all of it is. A heartbeat's tail counts when its node says the run's log is longer (its `log`).
   */
  truncated: boolean;
  shownBytes?: number;
  totalBytes?: number;
  fullLogPath?: string | null;
  /**
   * True when this is the node that ran it and that log is gone (the watcher removes logs older than `--keep-logs`):
   * the response's end is then all there is.
   */
  fullLogRemoved?: boolean;
  /**
   * Set while the task is claimed and its holder's heartbeat says the run ended there and its result waits for the
   * project remote (docs/PROTOCOL.md §5a `delivering`): since when, and why. Words only: the state stays `claimed`.
   */
  delivering?: BeatDelivering;
  /** Why the task failed, timed out or was cancelled, as its response says it (`reason`, else its summary's first line); null otherwise. */
  reason: string | null;
}

export interface LogFile {
  path: string;
  bytes: number;
  /** Bytes of the log's start not in `text`: a log longer than LOG_TAIL_BYTES is shown from a line near its end. */
  skipped: number;
}

/**
 * The most of a local log that `logs` (and the web view, MCP, `dispatch --wait`) reads: a long run's log can be
 * gigabytes, more than a string can hold, and its end is what people look at; all of it stays in the file.
 */
export const LOG_TAIL_BYTES = 8 * 1024 * 1024;

/**
 * The most of a heartbeat's log (`logs/<id>.<attempt>.log`, the last 4 KiB of a run's output) a reader reads: a
 * node writes its own heartbeat ref with any blob it likes; a larger one is not read at all, and of one it reads
 * only the last 4 KiB are shown, as the protocol says a heartbeat carries (a node's own may be a little over, its
 * control characters made visible).
 */
export const HEARTBEAT_LOG_MAX_BYTES = 64 * 1024;

export interface OutputOptions {
  raw?: boolean;
  /**
   * False: this node's log of the run is only looked at (its path and size), not read: `text` is then empty and
   * `log.skipped` the log's whole size (so `truncated` is true of any log with bytes). For a follower that reads the
   * log itself, by position (watcher/output-follow.ts): it learns where the task stands without reading and
   * converting up to LOG_TAIL_BYTES each time. Default true.
   */
  logText?: boolean;
}

/**
 * The output of a task, from wherever it is best known: this node's own log while it runs the task here, the
 * holder's heartbeat (the last 4 KiB, refreshed every beat) while another node runs it, the response's output
 * section once it has ended. Always as terminal text (schemas/output-text.ts): any node's bytes are safe to print.
 */
export async function taskOutput(ctx: BusContext, ref: string, opts: OutputOptions = {}): Promise<TaskOutput> {
  return counted(await foundOutput(ctx, ref, opts));
}

/**
 * `out`, which `taskOutput(…, { logText: false })` gave, with this node's log read as `taskOutput` reads it: for a
 * follower that reads the log by position each second and needs its text once, at the end (`--json`'s `output`, MCP
 * `wait`'s). Every fact but the text and how much of the log it is stays `out`'s; another source is as it is. When
 * the log went away meanwhile, the output is read again from wherever it is known now.
 */
export async function withLogText(ctx: BusContext, out: TaskOutput, opts: Omit<OutputOptions, 'logText'> = {}): Promise<TaskOutput> {
  if (out.source !== 'local' || !out.log) return out;
  const read = readLogBytes(out.log.path);
  if (!read) return taskOutput(ctx, out.id, opts);
  // What `out` said of the log looked at (all of it skipped) is said anew of the text read.
  const { truncated: _looked, shownBytes: _shown, totalBytes: _total, fullLogPath: _path, ...facts } = out;
  return counted({ ...facts, text: terminalText(read.bytes), log: read.log });
}

/** Found output with the defaults, and a local log's window counted as truncation (how much of how much). */
function counted(found: Found): TaskOutput {
  const out = { ...found, truncated: found.truncated ?? false, reason: found.reason ?? null };
  if (out.truncated || !out.log || out.log.skipped === 0) return out;
  return { ...out, truncated: true, shownBytes: out.log.bytes - out.log.skipped, totalBytes: out.log.bytes, fullLogPath: out.log.path };
}

type Found = Omit<TaskOutput, 'truncated' | 'reason'> & Partial<Pick<TaskOutput, 'truncated' | 'reason'>>;

async function foundOutput(ctx: BusContext, ref: string, opts: OutputOptions): Promise<Found> {
  const { snap, offline } = await snapshotOrLast(ctx);
  const id = await liveTaskId(ctx, snap, ref, offline !== null);
  // Not live: an archived task's output is its response's, as `show` finds it (by its full id).
  if (id === null) {
    // Dispatched here while the remote was away: it exists, waiting in this node's queue, with no output yet.
    const queued = queuedDispatch(ctx.paths.home, ref);
    if (queued) return { id: queued.id, state: 'queued', node: null, attempt: null, offline, runner: null, progress: null, claude: null, source: 'none', text: '' };
    const archived = offline ? null : await archivedOutput(ctx, ref, opts);
    if (!archived) throw new UnknownTaskError(ref);
    return archived;
  }
  const view = await snap.view(id);
  if (!view) throw new UnknownTaskError(ref);
  const node = view.claim?.node ?? view.response?.node ?? null;
  const attempt = view.claim?.attempt ?? view.response?.attempt ?? null;
  const h = view.handoff;
  const reason = view.response && view.responseBody !== undefined ? reasonOf(view.response, view.responseBody) : null;
  let base: Omit<Found, 'source' | 'text'> = { id, state: view.state, node, attempt, offline, runner: h ? (h.runner ?? (h.command ? 'shell' : 'manual')) : null, progress: null, claude: view.response?.claude ?? null, reason };
  // This node's log when it ran the task, even after the response: the response has only the end of the output
  // (docs/PROTOCOL.md §3), the log all of it (the runner's raw lines; a claude run's are shown readable).
  if (node === ctx.config.node && attempt !== null) {
    const local = opts.logText === false ? lookAtLog(ctx, id, attempt) : readLog(ctx, id, attempt);
    if (local !== null) {
      // Held here for the project remote: this node's own heartbeat says so, as other nodes read it.
      const own = view.state === 'claimed' && view.claim?.attempt === attempt ? await ownDelivering(ctx, id, attempt) : undefined;
      return { ...base, ...(own ? { delivering: own } : {}), source: 'local', ...local, progress: view.responseBody === undefined ? readProgress(ctx.paths.home, id, attempt) : null };
    }
  }
  if (view.responseBody !== undefined) return { ...base, source: 'response', ...responseOutput(view.responseBody, node, ctx.config.node, ctx.paths.logs) };
  // Claimed here but no log (a person's claim, not run by a watcher): the heartbeat is asked then.
  if (!node || attempt === null) return { ...base, source: 'none', text: '' };
  const beat = offline ? await ctx.repo.localHead(heartbeatRef(node)) : await ctx.repo.sync(heartbeatRef(node));
  if (!beat) return { ...base, source: 'none', text: '' };
  const tree = await ctx.repo.store.readTree(await ctx.repo.store.readCommitTree(beat));
  const details = await beatDetailsOf(ctx, tree);
  const progress = details?.progress[`${id}.${attempt}`] ?? null;
  // Only of a task this node holds on the bus, as the bus says (never another's, whatever a beat claims).
  const held = view.state === 'claimed' && view.claim?.node === node && view.claim.attempt === attempt ? details?.delivering[`${id}.${attempt}`] : undefined;
  if (held) base = { ...base, delivering: held };
  const whole = details?.logs[`${id}.${attempt}`];
  const logs = tree.find((e) => e.path === 'logs' && e.type === 'tree');
  const entry = logs ? (await ctx.repo.store.readTree(logs.oid)).find((e) => e.path === `${id}.${attempt}.log`) : undefined;
  if (!entry) return { ...base, source: 'none', text: '', progress };
  // Another node's tree: a log that is no file (a submodule's commit is not even fetched, a folder's tree would read
  // as bytes) is named by what it is, never read, as a bus file that is no file is.
  const notAFile = modeProblem(`logs/${entry.path}`, 'logs/', entry.mode);
  if (notAFile) return { ...base, source: 'heartbeat', text: `(not shown: ${node}'s heartbeat log ${notAFile.path} is not a file: ${notAFile.reason})\n`, progress };
  // Another node's bytes: a log above the limit is not read (a node may put 700 MB there), only said to be there.
  const log = await ctx.repo.store.readBlobUpTo(entry.oid, HEARTBEAT_LOG_MAX_BYTES);
  if (typeof log === 'number') return { ...base, source: 'heartbeat', text: `(not shown: ${node}'s heartbeat log is ${log} bytes; a heartbeat carries the last 4 KiB of output, and one above 64 KiB is not read)\n`, progress };
  const text = clipTail(terminalText(log), HEARTBEAT_LOG_TAIL_BYTES);
  // The holder says when its tail is only the end of the run's log: how much of how much, and where all of it is.
  if (!whole) return { ...base, source: 'heartbeat', text, progress };
  return { ...base, source: 'heartbeat', text, progress, truncated: true, shownBytes: Buffer.byteLength(text), totalBytes: whole.bytes, fullLogPath: oneLineText(whole.path, 4096) };
}

/** What this node's heartbeat, as it last pushed it, says of a result of `id`'s `attempt` it holds for the project remote. */
async function ownDelivering(ctx: BusContext, id: string, attempt: number): Promise<BeatDelivering | undefined> {
  const beat = await ctx.repo.localHead(heartbeatRef(ctx.config.node));
  if (!beat) return undefined;
  return (await beatDetailsOf(ctx, await ctx.repo.store.readTree(await ctx.repo.store.readCommitTree(beat))))?.delivering[`${id}.${attempt}`];
}

/**
 * An archived task's output, from its archived response (none for one a cancel ended); null when not archived. Under
 * trust, from a response that counts here (findCounted): a forged one is no output and no end, the task reads
 * `invalid` and `reason` says why, so `dispatch --wait` of it never reports the forged status.
 */
async function archivedOutput(ctx: BusContext, id: string, opts: OutputOptions): Promise<Found | null> {
  const entry = (await findCounted(ctx, [id], { thorough: true })).get(id)?.entry;
  if (!entry) return null;
  const reason = entry.state === 'invalid' ? (entry.problems[0]?.reason ?? null) : null;
  const base = { id, state: entry.state, node: null, attempt: null, offline: null, runner: null, progress: null, claude: null, source: 'none' as const, text: '', archived: true as const, reason };
  const resp = entry.files.get('response.md');
  if (!resp) return base;
  // The body too (the output is in it), not only the data. Another node's bytes: one above the size limit is not
  // read (docs/PROTOCOL.md §3), only said to be there.
  const bytes = await ctx.repo.store.readBlobUpTo(resp, MAX_FILE_BYTES);
  if (typeof bytes === 'number') return { ...base, source: 'response', text: `(not shown: the response is ${bytes} bytes, more than the limit of 256 KiB)\n` };
  const parsed = parseArchivedFile(`${entry.month}/${id}/response.md`, bytes);
  if (!parsed.ok) return base;
  const r = parsed.file.data as TaskResponse;
  const ended = { ...base, node: r.node, attempt: r.attempt ?? null, claude: r.claude ?? null, reason: reasonOf(r, parsed.file.body) };
  // On the node that ran it, its own log while it keeps it (a task is archived a day after it ends, its log kept 14).
  const local = r.node === ctx.config.node && r.attempt !== undefined ? (opts.logText === false ? lookAtLog(ctx, id, r.attempt) : readLog(ctx, id, r.attempt)) : null;
  if (local !== null) return { ...ended, source: 'local', ...local };
  return { ...ended, source: 'response', ...responseOutput(parsed.file.body, r.node, ctx.config.node, ctx.paths.logs) };
}

/**
 * A response's output, and when its Log section says that is only the end of the run's log, how much of how much.
 * `self`: this node; when it ran the task (`node`), its log would have been read first, so a path the response names
 * that is not there any more was removed (`fullLogRemoved`). Only a path in this node's log folder (`logs`) is
 * looked at: the body is anyone's words, and a path elsewhere would make the answer tell whether that file exists here.
 */
function responseOutput(body: string, node: string | null, self: string, logs: string): Pick<TaskOutput, 'text' | 'truncated' | 'shownBytes' | 'totalBytes' | 'fullLogPath' | 'fullLogRemoved'> {
  const output = outputOfBody(body);
  const text = output ? `${terminalText(output)}\n` : '';
  const log = logOfBody(body);
  if (!log || node === null) return { text, truncated: false };
  const removed = node === self && log.path !== null && inLogFolder(log.path, logs) && !existsSync(log.path);
  return { text, truncated: true, shownBytes: Buffer.byteLength(text), totalBytes: log.bytes, fullLogPath: log.path === null ? null : oneLineText(log.path, 4096), ...(removed ? { fullLogRemoved: true } : {}) };
}

/** Whether `path` names a file right in the folder `logs` once normalised (no `..` out of it, no subfolder). Pure. */
export function inLogFolder(path: string, logs: string): boolean {
  if (!isAbsolute(path)) return false;
  const name = relative(resolve(logs), resolve(path));
  return name !== '' && name === basename(name) && name !== '..' && !isAbsolute(name);
}

/**
 * Why a task did not succeed, in words, as its response says it: `reason`, else its Summary's headline (a person's
 * `gitbus respond` may give only that), marked when more lines follow; null for one that succeeded. Terminal text
 * on one line. Pure.
 */
export function reasonOf(r: Pick<TaskResponse, 'status' | 'reason'>, body: string): string | null {
  if (r.status === 'succeeded') return null;
  if (r.reason !== undefined) return oneLineText(r.reason, 4096) || null;
  const summary = responseSection(body, 'Summary');
  return summary === undefined ? null : sectionHeadline(summary, 4096) || null;
}

/**
 * This node's log of a run as terminal text: all of it, or its last LOG_TAIL_BYTES from the first line that starts
 * there. Null when there is no log (a person's claim, runs on another node).
 */
export function readLog(ctx: Pick<BusContext, 'paths'>, id: string, attempt: number, tailBytes = LOG_TAIL_BYTES): { text: string; log: LogFile } | null {
  const read = readLogBytes(join(ctx.paths.logs, `${id}.${attempt}.log`), tailBytes);
  return read && { text: terminalText(read.bytes), log: read.log };
}

/** This node's log of a run looked at, not read (`logText: false`): none of its text, all of its bytes skipped. */
function lookAtLog(ctx: Pick<BusContext, 'paths'>, id: string, attempt: number): { text: string; log: LogFile } | null {
  const path = join(ctx.paths.logs, `${id}.${attempt}.log`);
  const opened = openRegularFile(path);
  if (!opened) return null;
  closeSync(opened.fd);
  return { text: '', log: { path, bytes: opened.size, skipped: opened.size } };
}

/**
 * A log's bytes as written: its last `tailBytes` from the first line that starts there (all of it when shorter).
 * With `from`, what follows that byte instead, when the log still holds it and at most `tailBytes` follow: a reader
 * that has read up to there goes on by position, never by matching text, which output that repeats itself would
 * fool (`log.skipped` is then `from`; else the tail is read, and `skipped` says where it starts). Null when there is
 * no log, or it is no file.
 */
export function readLogBytes(path: string, tailBytes = LOG_TAIL_BYTES, from?: number): { bytes: Buffer; log: LogFile } | null {
  const opened = openRegularFile(path);
  if (!opened) return null;
  const { fd, size } = opened;
  try {
    if (from !== undefined && from >= 0 && from <= size && size - from <= tailBytes) return { bytes: readRange(fd, from, size), log: { path, bytes: size, skipped: from } };
    // One byte before the tail is read too: when it ends a line, the tail starts with a whole one.
    const start = Math.max(0, size - tailBytes - 1);
    let bytes = readRange(fd, start, size);
    let skipped = start;
    if (start > 0) {
      // From a whole line: a claude log is read line by line as JSON; with no line end in the tail, from a whole
      // UTF-8 character (continuation bytes are 10xxxxxx).
      const nl = bytes.indexOf(0x0a);
      let cut = nl >= 0 ? nl + 1 : 1;
      if (nl < 0) while (cut < bytes.length && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut++;
      bytes = bytes.subarray(cut);
      skipped += cut;
    }
    return { bytes, log: { path, bytes: size, skipped } };
  } catch {
    // A log that cannot be read (a folder, no permission): as if there were none; the heartbeat or response is asked.
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Bytes `from` to `to` of an open file, fewer when it shrank meanwhile. */
function readRange(fd: number, from: number, to: number): Buffer {
  const buf = Buffer.alloc(to - from);
  let n = 0;
  while (n < buf.length) {
    const r = readSync(fd, buf, n, buf.length - n, from + n);
    if (r === 0) break;
    n += r;
  }
  return buf.subarray(0, n);
}

/** The progress a heartbeat's heartbeat.yaml carries for one run, or null. */
async function beatDetailsOf(ctx: BusContext, tree: { path: string; type: string; oid: string }[]): Promise<BeatDetails | null> {
  const entry = tree.find((e) => e.path === 'heartbeat.yaml' && e.type === 'blob');
  if (!entry) return null;
  try {
    const bytes = await ctx.repo.store.readBlobUpTo(entry.oid, 64 * 1024);
    if (typeof bytes === 'number') return null;
    return beatDetails(parse(new TextDecoder().decode(bytes), { schema: 'core', maxAliasCount: 10, uniqueKeys: true }));
  } catch {
    return null; // another node's file: a heartbeat.yaml that does not parse tells nothing beyond its tail
  }
}
