import type { BusContext } from '../bus/context.js';
import { NothingClaimableError } from '../bus/errors.js';
import type { NodeConfig } from '../bus/home.js';
import type { Snapshot } from '../bus/model/snapshot.js';
import { claimBatch, type BatchLimits, type ClaimResult } from '../bus/ops/claim.js';
import { release } from '../bus/ops/release.js';
import { respondAndClaim, type NextClaim } from '../bus/ops/respond-and-claim.js';
import { respondBatch, type BatchResponse, type RespondInput } from '../bus/ops/respond.js';
import type { ClaimRanking } from './claim-ranking.js';
import type { Running } from './claimed-run.js';
import type { RemoteHealth } from './remote-health.js';
import { spendRefusal } from './runners/claude-args.js';
import type { SpendCap } from './spend-cap.js';
import type { WakeReason } from './wake-reason.js';
import type { WatchOptions } from './watch-events.js';

export interface ClaimerDeps {
  ctx: BusContext;
  opts: WatchOptions;
  /** The runners this node enables. */
  runners: NodeConfig['runners'];
  health: RemoteHealth;
  /** Who claims a task first (watcher/claim-ranking.ts). */
  ranking: ClaimRanking;
  spendCap: SpendCap;
  /** This watcher's runs by task id. */
  running: ReadonlyMap<string, Running>;
  /** One look at the remote; null when it failed (the failure noted). */
  look: () => Promise<Snapshot | null>;
  /** main as this node last saw it (bus/cas.ts, TransactOptions.peek). */
  peek: () => Promise<Snapshot>;
  /** Resolves when the watcher is told to stop. */
  stopped: Promise<void>;
  /** Restart recovery has run. */
  recovered: () => boolean;
  /** TransactOptions.beforeWrite of every claim (watcher/heartbeats.ts). */
  beatBeforeClaim: () => Promise<void>;
  /** Starts the run of a claimed task (watcher/claimed-run.ts). */
  start: (task: ClaimResult) => void;
  report: (err: unknown) => void;
}

export interface Claimer {
  /** Claims on their way to the remote. */
  readonly claiming: number;
  /**
   * Fills free slots with claims until nothing is claimable, and (with `untilIdle`) waits for the runs. Each
   * claim decides from the state the wake already has (peek) and syncs only to take a task; after waiting for a
   * run the remote is looked at once more.
   */
  drain: (untilIdle: boolean, why?: WakeReason) => Promise<void>;
  /** The response batcher's push: this node's results, with its next claims when it has slots to fill. */
  respond: (inputs: RespondInput[]) => Promise<BatchResponse[]>;
}

/**
 * This node's two claim paths (docs/ARCHITECTURE.md, the watcher): the drain a wake runs, and the claim that rides
 * with results (bus/ops/respond-and-claim.ts). They exclude each other: results carry no claim while a drain's
 * claim is on its way (`claiming`), and the drain counts the slots a riding claim may fill as taken (`reserved`),
 * so a node never runs more than `parallel`.
 */
export function claimer(deps: ClaimerDeps): Claimer {
  const { ctx, opts, runners, health, ranking, spendCap, running, peek, beatBeforeClaim, start, report } = deps;
  /** Claims on their way to the remote. */
  let claiming = 0;
  /** Slots the claim riding with results may fill: the drain leaves them alone meanwhile. */
  let reserved = 0;

  /** Claude tasks are claimed only while the day's cap leaves something to spend; the first refusal is reported. */
  let capHeld = false;
  const claimRunners = (): NodeConfig['runners'] => {
    if (!runners.includes('claude') || spendCap.mayClaim()) {
      capHeld = false;
      return runners;
    }
    if (!capHeld) {
      const today = spendCap.today();
      const limit = spendCap.limit();
      opts.onEvent({ type: 'spend-cap', day: today.day, capUsd: spendCap.capUsd ?? 0, spentUsd: today.spentUsd, reason: spendRefusal(limit ?? { capUsd: 0, spentUsd: 0 }) });
    }
    capHeld = true;
    return runners.filter((r) => r !== 'claude');
  };
  /** Every free slot in one claim (docs/PROTOCOL.md §5, "Claiming several at once"); a spend cap takes claude tasks one at a time. */
  const claimLimits = (free: number, ready: BatchLimits['ready']): BatchLimits => ({ max: free, spread: true, ...(spendCap.capUsd !== undefined ? { perRunner: { claude: 1 } } : {}), ...(ready ? { ready } : {}) });

  /**
   * The claim to carry with results: the node's free slots once its ended runs are answered, ranked as the drain
   * ranks them. None for --once, before restart recovery has run (it would take such a claim for one left behind
   * by a crash), while another claim is on its way, or without a runner. A node with a daily claude cap leaves
   * claude tasks to the drain, which takes them one at a time against the cap.
   */
  const nextClaim = (): NextClaim | null => {
    if (opts.once || !deps.recovered() || opts.stop.aborted || claiming > 0 || health.isDown || runners.length === 0) return null;
    const free = ctx.config.parallel - [...running.values()].filter((r) => !r.ended).length;
    if (free <= 0) return null;
    const offered = spendCap.capUsd === undefined ? claimRunners() : runners.filter((r) => r !== 'claude');
    if (offered.length === 0) return null;
    return { target: { next: true, runners: offered, answerRefusals: true }, limits: claimLimits(free, ranking.ready), opts: { onLostRace: (lost) => opts.onEvent({ type: 'lost-race', why: lost }) }, beforeWrite: beatBeforeClaim };
  };
  // Results that end close together go out in one commit (watcher/response-batcher.ts), with this node's next
  // claims when it has slots to fill and a task is its to take now (bus/ops/respond-and-claim.ts): a busy node
  // answers and takes its next task with one push.
  const respond = async (inputs: RespondInput[]): Promise<BatchResponse[]> => {
    const next = nextClaim();
    if (!next) return (await respondBatch(ctx, inputs)).responses;
    claiming++;
    reserved = next.limits.max;
    try {
      const started = Date.now();
      const r = await respondAndClaim(ctx, inputs, next);
      if (r.claims.length > 0) ranking.claimed(Date.now() - started);
      for (const task of r.claims) {
        try {
          // Stopping since the send began: "claims nothing more" holds for what arrived meanwhile. Released here,
          // inside the delivery the shutdown waits for, rather than started after the shutdown counted its runs.
          if (opts.stop.aborted) {
            await release(ctx, task.id, 'the watcher shut down before the task started');
            opts.onEvent({ type: 'released', id: task.id, attempt: task.attempt, reason: 'shutdown' });
          } else start(task);
        } catch (err) {
          // Not started and not released: the orphan check gives it back (watcher/housekeeping.ts, releaseOrphans).
          report(err);
        }
      }
      return r.responses;
    } finally {
      reserved = 0;
      claiming--;
    }
  };

  /** Tasks this node's policy leaves for other nodes: each reported once, while it is still on the bus. */
  const skipped = new Set<string>();
  const reportSkipped = (err: NothingClaimableError) => {
    const refused = (err.data['refused'] ?? []) as { id: string; reason: string }[];
    for (const id of [...skipped]) if (!refused.some((r) => r.id === id)) skipped.delete(id);
    for (const r of refused) {
      if (skipped.has(r.id)) continue;
      skipped.add(r.id);
      opts.onEvent({ type: 'refused', id: r.id, attempt: null, answered: false, reason: r.reason });
    }
  };

  const drain = async (untilIdle: boolean, why?: WakeReason): Promise<void> => {
    if (runners.length === 0) return;
    // Ranked: each task waits for the nodes ranked before it and the claimers whose turn comes first
    // (watcher/claim-ranking.ts). A freed slot of its own is ranked too: the nodes that still have free slots are
    // the ones it would race, and when they are all busy this node is first anyway. --once claims at once.
    const ready = why === undefined || opts.once ? undefined : ranking.ready;
    for (let round = 0; ; round++) {
      // After a run ends its slot is usually taken again already, by the claim that rode with its result: a look
      // then would find nothing to fill (on a busy bus, one look a task of a whole snapshot's cost). Only runs count
      // here: slots a riding claim may still fill are looked for, lest it fill fewer and nothing wake the drain.
      const full = running.size >= ctx.config.parallel;
      let claimable = !health.isDown && (round === 0 || full || (await deps.look()) !== null);
      while (claimable && !opts.stop.aborted && running.size + reserved < ctx.config.parallel) {
        try {
          // Every free slot in one claim, one push (docs/PROTOCOL.md §5, "Claiming several at once"). A daily spend cap
          // is checked per claude task as each starts, so a capped node takes those one at a time. Slots a claim
          // riding with results may fill are not counted as free.
          const free = ctx.config.parallel - running.size - reserved;
          claiming++;
          try {
            const started = Date.now();
            const batch = await claimBatch(ctx, { next: true, runners: claimRunners(), answerRefusals: true }, claimLimits(free, ready), undefined, { peek: await peek(), onLostRace: (lost) => opts.onEvent({ type: 'lost-race', why: lost }), beforeWrite: beatBeforeClaim });
            // How long a claim takes to reach the remote is how long the nodes ranked after this one should wait.
            ranking.claimed(Date.now() - started);
            for (const task of batch.claims) start(task);
          } finally {
            // After start(): a claim this batch made is in `running` before it stops counting as on its way.
            claiming--;
          }
        } catch (err) {
          claimable = false;
          if (err instanceof NothingClaimableError) reportSkipped(err);
          else health.fail(err);
        }
      }
      if (running.size === 0 || opts.stop.aborted || (!untilIdle && !claimable)) return;
      // Wake when a slot frees, or at once on shutdown (the grace period is handled by the shutdown).
      await Promise.race([...[...running.values()].map((r) => r.done), deps.stopped]);
    }
  };

  return {
    get claiming() {
      return claiming;
    },
    drain,
    respond,
  };
}
