import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { BusContext } from '../bus/context.js';
import { readObservations } from '../bus/liveness-store.js';
import { livenessOf, type Observations } from '../bus/model/liveness.js';
import type { ClaimResult } from '../bus/ops/claim.js';
import { HEARTBEAT_LOG_TAIL_BYTES, observeHeartbeats, publishHeartbeat, type BeatLog, type DeliveringTask } from '../bus/ops/heartbeat.js';
import { readProgress } from '../bus/progress.js';
import { effectiveRunner } from '../schemas/field-limits.js';
import { clipTail } from '../schemas/output-text.js';
import type { BeatCadence } from './beat-cadence.js';
import { progressBeats } from './progress-beats.js';
import type { RemoteHealth } from './remote-health.js';
import { logPathOf } from './run-task.js';
import { claudeSpokeMemo } from './claude-spoke-memo.js';
import { readableClaudeLog } from './runners/claude-format.js';
import { readTail } from './runners/output-tail.js';
import type { SpendCap } from './spend-cap.js';
import type { WakeReason } from './wake-reason.js';
import type { WatchOptions } from './watch-events.js';
import { timerMs } from '../bus/long-timeout.js';

export interface HeartbeatDeps {
  ctx: BusContext;
  opts: Pick<WatchOptions, 'progressBeatMs'>;
  /** The push budget: when a tick beats, how far apart early beats are (watcher/beat-cadence.ts). */
  cadence: BeatCadence;
  health: RemoteHealth;
  /** The heartbeat interval to start with (the command line's or gitbus.yaml's); `retime` changes it. */
  heartbeatMs: number;
  /** The lease as the last look found it. */
  leaseMs: () => number;
  /** The runs each beat carries, with the tails of their output and their progress. */
  running: () => Iterable<{ task: ClaimResult }>;
  /** Runs that ended whose result waits for their project remote (watcher/result-delivery.ts): each beat says so. */
  delivering?: () => DeliveringTask[];
  /** The node holds claims: the lease needs beats; otherwise presence is marked rarely. */
  holding: () => boolean;
  /** The node runs claude tasks: its day's spend travels in its heartbeat. */
  spendCap: SpendCap | null;
  /** This watcher has reached the remote since it started (restart recovery ran): only then does it say goodbye. */
  reached: () => boolean;
  /** What else a tick does while the remote answers (housekeeping rides on the heartbeat timer). */
  onTick: () => void;
  wake: (why: WakeReason) => void;
  report: (err: unknown) => void;
}

export interface Heartbeats {
  /** The heartbeat interval now. */
  readonly heartbeatMs: number;
  /** One beat (a beat already on its way is shared). */
  beat: () => Promise<void>;
  /** TransactOptions.beforeWrite of this node's claims. */
  beatBeforeClaim: () => Promise<void>;
  /** Early beats carrying progress, a run's first output or spend (watcher/progress-beats.ts). */
  early: { soon: (run?: { id: string; attempt: number }) => void; forget: (id: string, attempt: number) => void };
  /** Starts the heartbeat timer. */
  start: () => void;
  /**
   * After a look: the heartbeat is `ms` from now on, and the timer is re-timed when its tick changed (the tick
   * follows the lease too: watcher/beat-cadence.ts tickMs).
   */
  retime: (ms: number) => void;
  /** The last beat, saying the watcher stopped. */
  goodbye: () => Promise<void>;
  /** Stops the timers. */
  stop: () => void;
}

/**
 * The watcher's heartbeats (docs/PROTOCOL.md §5a): a timer that ticks at the heartbeat (at most a third of the
 * lease apart, so a holder's beats keep its lease whatever the heartbeat says) and pushes a beat when the
 * node's cadence says one is due, early beats for progress and spend, a beat before a claim lands when the last
 * is old, the listings an idle observer still owes its silence clocks, and a goodbye on shutdown.
 */
export function heartbeats(deps: HeartbeatDeps): Heartbeats {
  const { ctx, opts, cadence, health, holding, report } = deps;
  const home = ctx.paths.home;
  let heartbeatMs = deps.heartbeatMs;
  const spendCap = deps.spendCap;
  /**
   * A run's output for its heartbeat: the last 4 KiB, for claude the readable view (its JSON lines are longer than
   * that); and, when that is only the end of it, the log's size and path, so that readers say so.
   */
  const beatTail = async (r: { task: ClaimResult }): Promise<{ tail: string; log: BeatLog | null }> => {
    const path = logPathOf(ctx, r.task.id, r.task.attempt);
    const bytes = logSize(path);
    if (effectiveRunner(r.task.handoff) !== 'claude') return { tail: await readTail(path, BEAT_TAIL), log: bytes > BEAT_TAIL ? { bytes, path } : null };
    const readable = readableClaudeLog(await readTail(path, CLAUDE_READ_BYTES));
    const tail = clipTail(readable, BEAT_TAIL);
    return { tail, log: bytes > CLAUDE_READ_BYTES || tail.length < readable.length ? { bytes, path } : null };
  };
  let beating: Promise<void> | null = null;
  let lastBeatAt = 0;
  const beat = () =>
    (beating ??= (async () => {
      lastBeatAt = Date.now();
      const delivering = deps.delivering?.() ?? [];
      // A run whose result is held is over: it is said delivering, not running (its run record goes a moment later).
      const ended = new Set(delivering.map((d) => `${d.id}.${d.attempt}`));
      const runs = [...deps.running()].filter((r) => !ended.has(`${r.task.id}.${r.task.attempt}`));
      const tasks = await Promise.all(runs.map(async (r) => ({ id: r.task.id, attempt: r.task.attempt, ...(await beatTail(r)), progress: readProgress(home, r.task.id, r.task.attempt) })));
      await publishHeartbeat(ctx, tasks, { leaseMs: deps.leaseMs(), everyMs: cadence.everyMs(holding()), ...(delivering.length ? { delivering } : {}), ...(spendCap ? { claude: spendCap.today() } : {}) });
    })().finally(() => (beating = null)));
  /**
   * Before a claim lands: a node whose last beat is older than the heartbeat (it was marking presence) beats
   * first, so observers, older ones too, see a fresh beat with its claim (docs/PROTOCOL.md §5a).
   */
  const beatBeforeClaim = async (): Promise<void> => {
    if (Date.now() - lastBeatAt > heartbeatMs) await beat().catch(() => undefined);
  };

  const spoken = claudeSpokeMemo(CLAUDE_HEAD_BYTES);
  const early = progressBeats({
    home,
    // Read at each use: early beats keep to the budget (bus/model/budget.ts earlyBeatMs).
    get everyMs() {
      const wanted = opts.progressBeatMs ?? PROGRESS_BEAT_MS;
      return wanted <= 0 ? wanted : cadence.earlyMs(wanted);
    },
    running: () => [...deps.running()].map((r) => ({ id: r.task.id, attempt: r.task.attempt })),
    hasOutput: (id, attempt) => {
      const path = logPathOf(ctx, id, attempt);
      const run = [...deps.running()].find((r) => r.task.id === id && r.task.attempt === attempt);
      if (run === undefined || effectiveRunner(run.task.handoff) !== 'claude') return logSize(path) > 0;
      // A claude run's log starts with gitbus's notes and claude's session line: not worth a push of their own.
      return spoken.spoke(`${id}.${attempt}`, logSize(path), (bytes) => readHead(path, bytes));
    },
    lastBeatAt: () => lastBeatAt,
    beat,
    isDown: () => health.isDown,
  });

  /**
   * A node seen holding claims whose silence just passed the lease: wake now to reclaim or reap its work, once per
   * heartbeat value, rather than at the next poll (an idle watcher's own beats no longer wake it every heartbeat).
   */
  const wokenFor = new Set<string>();
  const wakeForSilentHolders = (obs: Observations): void => {
    let wakeNow = false;
    for (const [node, o] of Object.entries(obs.nodes)) {
      if (node === ctx.config.node || !o.holding || livenessOf(obs, node, deps.leaseMs()) !== 'silent' || wokenFor.has(`${node}:${o.oid}`)) continue;
      wokenFor.add(`${node}:${o.oid}`);
      wakeNow = true;
    }
    if (wakeNow) deps.wake('tick');
  };
  const onBeat = () => {
    // A heartbeat that gets through during an outage is a reason to look again now. Otherwise a tick pushes only
    // when this node's cadence says so: idle, it marks presence rarely (watcher/beat-cadence.ts).
    if (health.isDown || cadence.due(Date.now(), lastBeatAt, holding())) {
      void beat().then(() => {
        if (health.isDown) deps.wake('beat');
      }, health.fail);
    } else if (cadence.mustList(Date.now(), readObservations(home).listedAt ?? 0, deps.leaseMs())) {
      // No beat, but this observer's listings must stay dense enough for its silence clocks to run.
      void observeHeartbeats(ctx, deps.leaseMs()).then(wakeForSilentHolders, (err: unknown) => (health.remoteFailed(err) ? undefined : report(err)));
    }
    if (health.isDown) return;
    // Housekeeping keeps the heartbeat's pace: a tick brought closer by a short lease is for the holder's beats, and
    // would otherwise read the bus several times a heartbeat.
    const now = Date.now();
    if (now - lastHouseAt < heartbeatMs - tickMs / 2) return;
    lastHouseAt = now;
    deps.onTick();
  };
  let lastHouseAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let tickMs = 0;
  const startTimer = () => {
    clearInterval(timer);
    tickMs = cadence.tickMs();
    timer = setInterval(onBeat, timerMs(tickMs));
  };

  /**
   * The last heartbeat says the watcher stopped (others show the node `stopped`, not silent). Best effort and
   * bounded: with the remote away, the last ordinary beat simply ages into silence.
   */
  const goodbye = async () => {
    clearInterval(timer);
    timer = undefined;
    // An early beat still due (progress, spend) would land after the goodbye and show the node alive again.
    early.stop();
    await beating?.catch(() => undefined);
    if (health.isDown || !deps.reached()) return;
    const last = publishHeartbeat(ctx, [], { stopped: true }).catch(() => false);
    await Promise.race([last, new Promise((r) => setTimeout(r, 10_000).unref())]);
  };

  return {
    get heartbeatMs() {
      return heartbeatMs;
    },
    beat,
    beatBeforeClaim,
    early: {
      soon: early.soon,
      forget: (id, attempt) => {
        early.forget(id, attempt);
        spoken.forget(`${id}.${attempt}`);
      },
    },
    start: startTimer,
    retime: (ms) => {
      heartbeatMs = ms;
      // Not once stopped: a look during the shutdown must not bring the timer back.
      if (timer !== undefined && cadence.tickMs() !== tickMs) startTimer();
    },
    goodbye,
    stop: () => {
      clearInterval(timer);
      timer = undefined;
      early.stop();
    },
  };
}

function logSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // not written yet
  }
}

/** The first `maxBytes` of a log (all of it when shorter; '' when there is none yet). */
function readHead(path: string, maxBytes: number): string {
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch {
    return ''; // not written yet
  }
  try {
    const buf = Buffer.alloc(maxBytes);
    return buf.subarray(0, readSync(fd, buf, 0, maxBytes, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The output a heartbeat carries per running task. */
const BEAT_TAIL = HEARTBEAT_LOG_TAIL_BYTES;
/**
 * How much of a claude run's log is read, when it grew until claude has said something, to see whether it has:
 * gitbus's notes and the session line (its tools, MCP servers, commands) fit in it many times over, so a longer
 * log counts as output.
 */
const CLAUDE_HEAD_BYTES = 256 * 1024;
/** How much of a claude run's stream-json a beat reads for its readable tail. */
const CLAUDE_READ_BYTES = 512 * 1024;
/** At most one early heartbeat per this long carries posted progress (WatchOptions.progressBeatMs). */
const PROGRESS_BEAT_MS = 10_000;
