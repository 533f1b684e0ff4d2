import { parse, stringify } from 'yaml';
import { redactUrlCredentials } from '../../schemas/url-redact.js';
import { clipTail, oneLineText, terminalText } from '../../schemas/output-text.js';
import { formatDuration, tryParseDuration } from '../../schemas/duration.js';
import { PushRejectedError } from '../git/push-errors.js';
import type { BusContext } from '../context.js';
import { updateObservations } from '../liveness-store.js';
import { heartbeatRef, type BeatFacts, type Observations } from '../model/liveness.js';
import { buildCommit, type FileChange } from '../store/objects.js';
import { readLoose } from '../store/loose-read.js';
import { isoGit } from '../git/iso-git.js';
import { fs } from '../node-fs.js';
import type { FileProblem } from '../../schemas/errors.js';
import { progressOf, progressText, type Progress } from '../progress.js';
import type { NodeSpend } from '../spend-ledger.js';

/**
 * How much of a running task's output a heartbeat carries, `logs/<id>.<attempt>.log` (docs/PROTOCOL.md §5a): the
 * last 4 KiB. Readers show at most that much of another node's log, whatever size it has.
 */
export const HEARTBEAT_LOG_TAIL_BYTES = 4 * 1024;

export interface HeartbeatOptions {
  /** What this node's claude runs spent today (UTC) and its daily cap: shown per node by `status` elsewhere. */
  claude?: NodeSpend;
  now?: Date;
  /** The last heartbeat of a watcher that is shutting down cleanly: others show the node as `stopped`. */
  stopped?: boolean;
  /** The bus lease: when given, the listing this beat makes also updates this node's observations of others. */
  leaseMs?: number;
  /**
   * When to expect this node's next beat (ms): its presence interval while it holds no claims, its holding cadence
   * otherwise (bus/model/budget.ts). Written as `every`, so observers show an idle node `idle`, not silent.
   */
  everyMs?: number;
  /**
   * Runs that ended here whose result waits for their project remote (the branch is pushed before the response,
   * watcher/workspace/deliver-branch.ts): written as `delivering`, so that other nodes say why the task is still
   * `claimed`. At most MAX_BEAT_DELIVERING of them.
   */
  delivering?: DeliveringTask[];
}

/** A run that ended on this node and whose result is held until its project remote takes its branch. */
export interface DeliveringTask {
  id: string;
  attempt: number;
  /** When the first push of its branch failed (ISO 8601). */
  since: string;
  /** Why the push failed, on one line (a URL's password never in it). */
  reason: string;
  /** The end of the run's output, its response's to be: `logs` elsewhere goes on showing it (HEARTBEAT_LOG_TAIL_BYTES). */
  tail?: string;
}

/** The most `delivering` entries a heartbeat writes, and a reader takes. */
export const MAX_BEAT_DELIVERING = 100;
/** The longest `reason` a heartbeat's `delivering` entry carries. */
export const MAX_DELIVERING_REASON = 300;

export interface RunningTask {
  id: string;
  attempt: number;
  /** The end of its output so far, so that `gitbus logs` works from any node. */
  tail: string;
  /** The latest progress posted from inside the task (`gitbus progress`). */
  progress?: Progress | null;
  /** The run's whole log on this node, when the tail is only its end: readers say how much they show of how much. */
  log?: BeatLog | null;
}

/** A running task's log on the node that runs it: its size in bytes and its path there. */
export interface BeatLog {
  bytes: number;
  path: string;
}

/**
 * Proves this node is alive: a parentless commit that replaces the previous one on the node's own ref
 * `refs/gitbus/heartbeats/<node>`. Nothing else writes that ref, `main`'s history never sees it, and its old
 * commits become garbage instead of history. Returns false when the push lost a race (another process of the
 * same node beat at the same moment), which the next beat repairs.
 */
export async function publishHeartbeat(ctx: BusContext, running: RunningTask[], opts: HeartbeatOptions = {}): Promise<boolean> {
  const ref = heartbeatRef(ctx.config.node);
  const now = opts.now ?? new Date();
  // No clone lock: this node is the only writer of its heartbeat ref, and the push is its own compare-and-swap.
  const refs = await ctx.repo.transport.listRefs();
  // The listing is one more look at the others' heartbeats: it keeps this observer's listings dense enough
  // that a slow poll is not taken for a gap (bus/model/liveness.ts).
  if (opts.leaseMs !== undefined) updateObservations(ctx.paths.home, refs, Date.now(), opts.leaseMs);
  const current = refs.get(ref) ?? null;
  const state = { node: ctx.config.node, time: now.toISOString(), pid: process.pid, ...(opts.stopped ? { stopped: true } : {}), ...(opts.everyMs !== undefined && !opts.stopped ? { every: formatDuration(Math.max(1, Math.round(opts.everyMs / 1000)) * 1000) } : {}), running: running.map(({ id, attempt, progress, log }) => ({ id, attempt, ...(progress ? { progress: { text: redactUrlCredentials(progressText(progress.text)), at: progress.at } } : {}), ...(log ? { log: { bytes: log.bytes, path: log.path } } : {}) })), ...(opts.delivering?.length ? { delivering: opts.delivering.slice(0, MAX_BEAT_DELIVERING).map((d) => ({ id: d.id, attempt: d.attempt, since: d.since, reason: oneLineText(redactUrlCredentials(d.reason), MAX_DELIVERING_REASON) })) } : {}), ...(opts.claude ? { claude: opts.claude } : {}) };
  const changes: FileChange[] = [{ path: 'heartbeat.yaml', content: `# gitbus heartbeat: rewritten by its node every beat\n${stringify(state)}` }];
  // Every node reads the heartbeat: a URL's password in a task's output (git printing this node's project URL) is not published.
  for (const t of running) changes.push({ path: `logs/${t.id}.${t.attempt}.log`, content: redactUrlCredentials(terminalText(t.tail)) });
  for (const d of opts.delivering?.slice(0, MAX_BEAT_DELIVERING) ?? []) {
    const path = `logs/${d.id}.${d.attempt}.log`;
    if (d.tail !== undefined && !changes.some((c) => c.path === path)) changes.push({ path, content: redactUrlCredentials(terminalText(clipTail(d.tail, HEARTBEAT_LOG_TAIL_BYTES))) });
  }
  const built = await buildCommit(ctx.repo.store, { parent: null, changes, message: `gitbus: heartbeat ${ctx.config.node}`, author: { name: ctx.config.node, email: `${ctx.config.node}@gitbus.invalid` }, now });
  try {
    await ctx.repo.push(null, built, ref, current);
    return true;
  } catch (err) {
    if (err instanceof PushRejectedError && err.data['kind'] === 'stale') return false;
    throw err;
  }
}

/**
 * One look at the others' heartbeats without beating: a ref listing folded into this node's observations. A
 * watcher that marks presence rarely still has to list at least every half lease, or every silence clock it
 * keeps restarts (bus/model/liveness.ts) and it would never expire a dead node; its poll may be slower than that.
 */
export async function observeHeartbeats(ctx: BusContext, leaseMs: number): Promise<Observations> {
  const refs = await ctx.repo.transport.listRefs();
  return updateObservations(ctx.paths.home, refs, Date.now(), leaseMs);
}

/**
 * What `node`'s current heartbeat says of itself (its time, whether its watcher stopped; the progress of its runs
 * and its claude spend), fetched into the clone from the listing just made. Null when it has none or it cannot be
 * read: heartbeats are untrusted input like every bus file, so anything unexpected reads as "unknown", never as an
 * error. Call with the clone lock held.
 */
export async function readBeat(ctx: Pick<BusContext, 'repo'>, node: string): Promise<(BeatFacts & BeatDetails) | null> {
  return (await readBeatRef(ctx, node)).beat;
}

/**
 * What is at `node`'s heartbeat ref: its beat as readBeat reads it, or, when the ref holds an object that is not a
 * commit (an annotated tag, a tree, a blob pushed with plain git), that object's type: no heartbeat, which the
 * watcher only ever writes as a commit, and so never one that counts (heartbeatRefProblem says why).
 */
export async function readBeatRef(ctx: Pick<BusContext, 'repo'>, node: string): Promise<{ beat: (BeatFacts & BeatDetails) | null; notACommit?: string; oid?: string }> {
  let oid: string | null;
  try {
    oid = await ctx.repo.sync(heartbeatRef(node), { maxAgeMs: 10_000 });
  } catch {
    return { beat: null };
  }
  if (!oid) return { beat: null };
  const type = await objectType(ctx.repo.gitdir, ctx.repo.store.cache, oid).catch(() => null);
  if (type !== null && type !== 'commit') return { beat: null, notACommit: type, oid };
  return { beat: await beatOfCommit(ctx, oid), oid };
}

/** The problem of a heartbeat ref that holds no commit, naming the ref (for status and doctor). Pure. */
export function heartbeatRefProblem(node: string, type: string): FileProblem {
  const ref = heartbeatRef(node);
  const what = type === 'tag' ? 'an annotated tag' : `a ${type}`;
  return {
    path: ref,
    field: '',
    reason: `it points at ${what}, not a commit: a heartbeat is a commit its node's watcher writes, so this is none and ${node} is not counted as beating`,
    fix: `delete it from the remote ("git push <remote> --delete ${ref}"; gitbus never writes one) and find who pushed it; the node's watcher writes its heartbeat again when it next beats`,
    severity: 'error',
  };
}

/** The type of object `oid` in the clone: loose ones by their header, packed ones through isomorphic-git. */
async function objectType(gitdir: string, cache: object, oid: string): Promise<string> {
  const loose = await readLoose(gitdir, oid, 0);
  if (loose) return loose.type;
  return (await (await isoGit()).readObject({ fs, gitdir, oid, format: 'content', cache })).type;
}

/** A heartbeat commit's heartbeat.yaml read; null when it cannot be read (untrusted input reads as "unknown"). */
async function beatOfCommit(ctx: Pick<BusContext, 'repo'>, oid: string): Promise<(BeatFacts & BeatDetails) | null> {
  try {
    const tree = await ctx.repo.store.readTree(await ctx.repo.store.readCommitTree(oid));
    const entry = tree.find((e) => e.path === 'heartbeat.yaml' && e.type === 'blob');
    if (!entry) return null;
    const bytes = await ctx.repo.store.readBlobUpTo(entry.oid, 64 * 1024);
    if (typeof bytes === 'number') return null;
    const doc: unknown = parse(new TextDecoder().decode(bytes), { schema: 'core', maxAliasCount: 10, uniqueKeys: true });
    return { ...beatFacts(doc), ...beatDetails(doc) };
  } catch {
    return null;
  }
}

/** The fields of a parsed heartbeat.yaml that liveness uses. Pure. */
export function beatFacts(doc: unknown): BeatFacts {
  const o = doc && typeof doc === 'object' ? (doc as Record<string, unknown>) : {};
  const time = typeof o['time'] === 'string' ? Date.parse(o['time']) : Number.NaN;
  const every = typeof o['every'] === 'string' ? tryParseDuration(o['every']) : undefined;
  return { time: Number.isFinite(time) ? time : null, stopped: o['stopped'] === true, everyMs: every !== undefined && every > 0 ? every : null };
}

/**
 * What a heartbeat tells beyond liveness: the latest progress of each run (keyed `<id>.<attempt>`), the size and path
 * of each run's log when its tail is only the end of it, the node's spend.
 */
export interface BeatDetails {
  progress: Record<string, Progress>;
  logs: Record<string, BeatLog>;
  spend: NodeSpend | null;
  /** Runs that ended on the node whose result waits for their project remote, keyed `<id>.<attempt>`. */
  delivering: Record<string, BeatDelivering>;
}

/** What a heartbeat says of a result its node holds for the project remote. */
export interface BeatDelivering {
  since: string;
  reason: string;
}

/** The progress and spend of a parsed heartbeat.yaml; whatever does not fit is left out. Pure. */
export function beatDetails(doc: unknown): BeatDetails {
  const o = doc && typeof doc === 'object' ? (doc as Record<string, unknown>) : {};
  const progress: Record<string, Progress> = {};
  const logs: Record<string, BeatLog> = {};
  for (const r of Array.isArray(o['running']) ? (o['running'] as unknown[]).slice(0, 1000) : []) {
    const run = r && typeof r === 'object' ? (r as Record<string, unknown>) : {};
    if (typeof run['id'] !== 'string' || !Number.isInteger(run['attempt'])) continue;
    const key = `${run['id']}.${String(run['attempt'])}`;
    const p = progressOf(run['progress']);
    if (p) progress[key] = p;
    const log = beatLogOf(run['log']);
    if (log) logs[key] = log;
  }
  const c = o['claude'] && typeof o['claude'] === 'object' ? (o['claude'] as Record<string, unknown>) : null;
  const usd = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);
  const day = c && typeof c['day'] === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(c['day']) ? c['day'] : null;
  const spent = c ? usd(c['spentUsd']) : null;
  const spend = day !== null && spent !== null ? { day, spentUsd: spent, capUsd: c ? usd(c['capUsd']) : null } : null;
  const delivering: Record<string, BeatDelivering> = {};
  for (const d of Array.isArray(o['delivering']) ? (o['delivering'] as unknown[]).slice(0, MAX_BEAT_DELIVERING) : []) {
    const held = beatDeliveringOf(d);
    if (held) delivering[held.key] = { since: held.since, reason: held.reason };
  }
  return { progress, logs, spend, delivering };
}

/**
 * One `delivering: {id, attempt, since, reason}` entry as another node wrote it: an id of the bus's length, a
 * timestamp that parses, a reason as terminal text on one line, clipped. Pure.
 */
function beatDeliveringOf(v: unknown): (BeatDelivering & { key: string }) | null {
  if (!v || typeof v !== 'object') return null;
  const { id, attempt, since, reason } = v as Record<string, unknown>;
  if (typeof id !== 'string' || id === '' || id.length > 200 || !/^[A-Za-z0-9._-]+$/.test(id)) return null;
  if (typeof attempt !== 'number' || !Number.isSafeInteger(attempt) || attempt < 1) return null;
  if (typeof since !== 'string' || since.length > 40 || !Number.isFinite(Date.parse(since))) return null;
  if (typeof reason !== 'string') return null;
  return { key: `${id}.${attempt}`, since: new Date(Date.parse(since)).toISOString(), reason: oneLineText(reason, MAX_DELIVERING_REASON) };
}

/** A run's `log: {bytes, path}` as another node wrote it: a size as a safe integer, a path of one line. Pure. */
function beatLogOf(v: unknown): BeatLog | null {
  if (!v || typeof v !== 'object') return null;
  const { bytes, path } = v as Record<string, unknown>;
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) return null;
  if (typeof path !== 'string' || path === '' || path.length > 4096 || /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(path)) return null;
  return { bytes, path };
}

/**
 * What a claimed task's holder says of a result it holds for the project remote, as status, show, logs and
 * `--wait` say it (terminal text: the reason is another node's words, already made one line). Pure.
 */
export function deliveringText(node: string, d: BeatDelivering): string {
  return `finished on ${node}; its result waits for the project remote (${d.reason}) since ${d.since}, and goes out when it answers`;
}
