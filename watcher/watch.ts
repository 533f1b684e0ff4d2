import { NoBusError } from '../bus/errors.js';
import { watchHome } from '../bus/home-watch.js';
import { refuseIfLeft } from '../bus/left-home.js';
import { homedir } from '../bus/user-home-dir.js';
import type { BusContext } from '../bus/context.js';
import { ResponseBatcher } from './response-batcher.js';
import { currentSnapshot, localSnapshot } from '../bus/ops/query.js';
import { publishNodeCard } from '../bus/ops/node-card-publish.js';
import { CARD_LIST_PUBLISHED, cardListsLeftOut } from '../bus/node-policy.js';
import { signOwnFiles } from '../bus/trust/sign-own-files.js';
import type { Snapshot } from '../bus/model/snapshot.js';
import { remoteFailureCode } from '../bus/remote-failure.js';
import { checkIsBus } from '../bus/cas.js';
import { MAIN } from '../bus/repo.js';
import { NoRunnersError, RunnersMissingError } from './errors.js';
import { acquireWatcherLock } from './watcher-lock.js';
import type { NodeConfig } from '../bus/home.js';
import { pollCron } from './poll-schedule.js';
import { missingRunners } from './runner-binaries.js';
import { pruneTaskLogs } from './prune-logs.js';
import { sweepLeftovers } from '../bus/leftovers.js';
import { standingProblems } from './standing-problems.js';
import { pollTimer, type PollTimer } from './poll-timer.js';
import { remoteHealth } from './remote-health.js';
import { fileWatch, unavailableEvent, type FileWatch } from './wake-on-change.js';
import { busyHousekeeping } from './busy-housekeeping.js';
import { wakeRounds } from './wake-rounds.js';
import { RUNNERS } from './run-task.js';
import { dropAllReservations } from './outbox.js';
import { resultDelivery } from './result-delivery.js';
import { claimedRuns, type Running } from './claimed-run.js';
import { firstLine } from '../schemas/errors.js';
import { stopLeftovers } from './restart-recovery.js';
import { housekeeping } from './housekeeping.js';
import { cloneGc } from './clone-gc.js';
import type { FinishedTask, WatchOptions } from './watch-events.js';

export type { FinishedTask, WatchEvent, WatchOptions } from './watch-events.js';
export { WATCHER_ACTOR } from './restart-recovery.js';
import { asLocalFailure } from '../bus/local-io.js';
import { heartbeats } from './heartbeats.js';
import { pruneProgress } from '../bus/progress.js';
import { SpendCap } from './spend-cap.js';
import { envWatch } from './env-watch.js';
import { envUserHome } from '../bus/env/local.js';
import { beatCadence } from './beat-cadence.js';
import { claimHolders } from '../bus/ops/claim-holders.js';
import type { WakeReason } from './wake-reason.js';
import { claimRanking } from './claim-ranking.js';
import { claimer } from './claims.js';
import { shutdown, stoppedBy } from './shutdown.js';
import { DEFAULT_FETCH_WAIT, type FetchWait } from './workspace/fetch-retry.js';

/**
 * The watcher: claims tasks this node may run (runner enabled, labels, addressed to it or to any, dependencies
 * met, or reclaimed from a node that went silent) by priority then age, up to its parallel limit, runs them and
 * pushes the responses. It heartbeats on its own ref while it lives and stops runs that are cancelled.
 *
 * Each wake looks at the remote once: one ref listing (and a fetch only if main moved), then reaping, schedules
 * and claims decide from that state and sync again only when they have something to write. While the remote is
 * down, wakes back off (watcher/remote-health.ts, watcher/backoff.ts) and the outage is reported once, not once
 * per attempt.
 */
export async function watch(given: BusContext, opts: WatchOptions): Promise<FinishedTask[]> {
  // A node that left the bus is not put back on it by its watcher (a service left installed, a habit).
  refuseIfLeft(given.paths.home, given.config.node, given.config.remote);
  const enabled = given.config.runners.filter((r) => RUNNERS[r]);
  // A runner whose program is not here would take the fleet's tasks of that kind and fail each one: it is left
  // out of this watcher's claims and of the node card it publishes (so that others rank and dispatch without it).
  const missing = missingRunners(enabled, given.config);
  const usable = (r: string) => !missing.some((m) => m.runner === r);
  const runners = enabled.filter(usable);
  const noEnv = (given.config.env ?? []).length === 0;
  if (runners.length === 0 && noEnv && missing.length > 0) throw new RunnersMissingError(given.config.node, missing);
  // A node that runs no tasks may still keep its setup in step with the bus (node.yaml env:).
  if (runners.length === 0 && noEnv) throw new NoRunnersError(given.config.node, given.paths.home);
  const ctx: BusContext = missing.length === 0 ? given : { ...given, config: { ...given.config, runners: given.config.runners.filter(usable) } };
  // It syncs at every wake: a reclone that fails on this machine (a full disk) waits before its next try.
  ctx.repo.recloneWaits = !opts.once;
  for (const m of missing) opts.onEvent({ type: 'runner-missing', runner: m.runner, binary: m.binary, fix: m.fix });
  for (const l of cardListsLeftOut(ctx.paths.home, ctx.config)) {
    // Nothing is wrong on this node, which judges every task by node.yaml: the fix is for dispatchers' early refusals.
    const fix = l.field === 'policy.repos'
      ? `the card lists policy.repos' patterns and the URL of each node.yaml project they admit: admit fewer projects, or leave it so (this node still refuses what its policy refuses, when it claims)`
      : `the card lists each node.yaml project's name and URL: list fewer projects, or leave it so (this node still refuses a repo it does not list, when it claims)`;
    opts.onEvent({ type: 'card-list-left-out', field: l.field, count: l.count, max: CARD_LIST_PUBLISHED, fix });
  }
  // Before anything else, above all before restart recovery, which would stop a live watcher's runs.
  // Whether it serves the home's commands, for a `gitbus serve` of the home to tell (cli/serve/standalone.ts).
  const lock = acquireWatcherLock(ctx.paths.home, process.env, !opts.once && opts.whileLocked !== undefined);
  let unlock: (() => Promise<void> | void) | undefined;
  // A home removed under a running watcher (rm -rf instead of gitbus leave): it would go on as a node no home holds,
  // claiming and running in its name. It stops as at SIGTERM (runs get the grace period, claims go back).
  const stop = new AbortController();
  if (opts.stop.aborted) stop.abort();
  else opts.stop.addEventListener('abort', () => stop.abort(), { once: true });
  // Looked at on a timer and at each look (watchLocked); `--once` ends before it could matter.
  const home = opts.once
    ? null
    : watchHome(ctx.paths.config, () => {
        opts.onEvent({ type: 'home-removed', home: ctx.paths.home });
        stop.abort();
      });
  try {
    unlock = opts.once ? undefined : opts.whileLocked?.();
    return await watchLocked(ctx, { ...opts, stop: stop.signal }, runners, home ? home.there : () => true);
  } finally {
    home?.close();
    await unlock?.();
    lock.release();
  }
}

async function watchLocked(ctx: BusContext, opts: WatchOptions, runners: NodeConfig['runners'], homeThere: () => boolean): Promise<FinishedTask[]> {
  const home = ctx.paths.home;
  const finished: FinishedTask[] = [];
  const running = new Map<string, Running>();
  const kill = new AbortController();
  const stopped = stoppedBy(opts.stop);
  // Something in the way of the watcher's writes is said once, not at every wake, until it changes.
  const standing = standingProblems(home);
  const report = (raw: unknown) => {
    // A full disk or a failing file system is named as such (DISK_FULL, LOCAL_IO), with the path.
    const err = asLocalFailure(raw, ctx.paths.home);
    if (standing.repeated(err)) return;
    const fix = (err as { fix?: unknown }).fix;
    opts.onEvent({ type: 'error', message: firstLine(err), code: (err as { code?: string }).code ?? null, ...(typeof fix === 'string' && fix !== '' ? { fix } : {}) });
  };
  // A watcher started while the remote is down (a laptop off the VPN) starts from its clone and waits for the
  // remote like one that lost it later; `--once` has nothing to wait for and fails.
  let unreachableAtStart: unknown = null;
  let settings: Snapshot['settings'];
  try {
    const first = await currentSnapshot(ctx);
    checkIsBus(ctx, first);
    settings = first.settings;
  } catch (err) {
    if (opts.once || remoteFailureCode(err) === null || (await ctx.repo.localHead(MAIN)) === null) throw err;
    unreachableAtStart = err;
    settings = (await localSnapshot(ctx)).settings;
  }
  // The push budget (watcher/beat-cadence.ts): when a tick beats, how far apart early beats are, how often to poll.
  const cadence = beatCadence(settings, { localRemote: ctx.repo.localRemotePath() !== null, ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}), ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}) });
  let pollMs = cadence.pollMs();
  let leaseMs = settings.leaseMs;
  let maxAttempts = settings.maxAttempts;

  // The remote's health (watcher/remote-health.ts): one report per outage, wakes backed off until one gets through.
  let files: FileWatch | null = null; // file watching (below): made anew when the remote or a folder of it is back
  const health = remoteHealth({
    remote: ctx.repo.transport.display,
    pollMs,
    retryMs: opts.retryMs,
    retryMaxMs: opts.retryMaxMs,
    once: opts.once,
    onEvent: (e) => {
      opts.onEvent(e);
      if (e.type === 'remote-up') files?.again();
    },
    report,
    retry: () => void wake('retry'),
    pushes: () => ctx.repo.pushes,
  });
  const { remoteFailed, attemptFailed, fail, remoteUp } = health;
  // Who claims a task first (watcher/claim-ranking.ts); its deadline wakes look at the remote again.
  const ranking = claimRanking(ctx, () => void wake('rank'));

  /** The last look found open claims in this node's name on the bus. */
  let heldOnBus = false;
  /** Set once the timers exist (below); before that a look has nothing to reschedule. */
  let applySettings: (next: Snapshot['settings']) => void = () => undefined;
  /** One look at the remote: a ref listing, a fetch only if main moved. Null (and the failure noted) when it fails. */
  const look = async (): Promise<Snapshot | null> => {
    // Before anything of the wake (a claim above all): a removed home stops the watcher (watch).
    if (!homeThere()) return null;
    try {
      const started = Date.now();
      const snap = await currentSnapshot(ctx);
      // A first look (`watch --once`, a watcher's start) reads a few tasks: the claim holders, those it may take.
      snap.useLean(true);
      // Nothing on a main that is not a bus is run (bus/cas.ts refuses to write on it as well).
      checkIsBus(ctx, snap);
      ranking.looked(Date.now() - started);
      remoteUp();
      files?.recheck();
      leaseMs = snap.settings.leaseMs;
      maxAttempts = snap.settings.maxAttempts;
      const holders = await claimHolders(snap);
      cadence.update(snap.settings, ctx.repo.lastRefs, holders.size);
      heldOnBus = (holders.get(ctx.config.node)?.length ?? 0) > 0;
      applySettings(snap.settings);
      await standing.looked(snap);
      return snap;
    } catch (err) {
      attemptFailed(err);
      return null;
    }
  };
  // main as this node last saw it: the state this wake's decisions peek at (bus/cas.ts, TransactOptions.peek).
  let peeked: Snapshot | null = null;
  const peek = async (): Promise<Snapshot> => (peeked = await localSnapshot(ctx, peeked));

  const env = envWatch(ctx, () => envUserHome(opts.userHome ?? process.env['HOME'], homedir), opts.onEvent, opts.envEveryMs);

  // The daily claude cap and the ledger of what runs spent (watcher/spend-cap.ts).
  const spendCap = new SpendCap(home, ctx.config.claude);
  const showsSpend = runners.includes('claude');
  // Heartbeats (watcher/heartbeats.ts): the timer, early beats for progress and spend, a beat before a claim.
  const beats = heartbeats({
    ctx,
    opts,
    cadence,
    health,
    // From the bus settings unless given: a change to gitbus.yaml takes effect at the next wake (applySettings).
    heartbeatMs: opts.heartbeatMs ?? settings.heartbeatMs,
    leaseMs: () => leaseMs,
    running: () => running.values(),
    // Declared below: read only when a beat is made, after the watcher is wired.
    delivering: () => delivery.waitingForProject(),
    /**
     * Holding claims (running, on their way, or on the bus in this node's name, such as a person's `gitbus claim`
     * here): the lease needs beats; otherwise presence is marked rarely.
     */
    holding: () => running.size > 0 || claims.claiming > 0 || heldOnBus,
    spendCap: showsSpend ? spendCap : null,
    reached: () => unreachableAtStart === null || house.recovered,
    // While runs go, a tick is a wake's housekeeping (their cancels among it); otherwise it retries the outbox.
    onTick: () => {
      if (running.size > 0) void keepHouse();
      else void flushOutbox().catch(fail);
    },
    wake: (why) => void wake(why),
    report,
  });
  const { beat, early } = beats;
  // And right before a claim is pushed: a wake that began before the home was removed claims nothing after it.
  const beatBeforeClaim = async (): Promise<void> => {
    if (!homeThere()) throw new NoBusError(ctx.paths.home);
    await beats.beatBeforeClaim();
  };

  // Results that end close together go out in one commit (watcher/response-batcher.ts), with this node's next
  // claims when it has slots to fill (watcher/claims.ts).
  const responses = new ResponseBatcher((inputs) => claims.respond(inputs));
  // Results on their way to the bus: the outbox, results held in memory on a full disk, project branches pushed
  // first (watcher/result-delivery.ts).
  const delivery = resultDelivery({
    ctx,
    onEvent: opts.onEvent,
    retryMs: opts.retryMs,
    downReason: () => health.reason,
    isRunning: (id) => running.has(id),
    submit: (input) => responses.submit(input),
    report,
    fail,
    remoteFailed,
    // A result held for its project remote keeps the task claimed: the next beat says why, soon, not at the cadence.
    onHold: () => early.soon(),
  });
  const flushOutbox = () => delivery.flush();

  // What a wake does before it claims (watcher/housekeeping.ts): restart recovery if still due, results, orphans,
  // cancels, reaping, schedules, dependency cancels, archiving, environment profiles.
  const house = housekeeping({
    ctx,
    opts,
    health,
    report,
    look: async () => {
      const snap = await look();
      if (snap) peeked = snap;
      return snap;
    },
    peek,
    running,
    delivery,
    claiming: () => claims.claiming,
    env,
  });
  // A wake while a drain runs keeps house at most every BUSY_HOUSE_MS (watcher/busy-housekeeping.ts).
  // Its round at the end of a second is a wake too: none once the watcher stops, or while the remote is down (then
  // only the retry timer looks, watcher/remote-health.ts).
  const busyHouse = busyHousekeeping(() => (!opts.stop.aborted && !health.isDown ? house.keep() : null));
  const keepHouse = (): Promise<boolean> => {
    const round = house.keep();
    busyHouse.started(round);
    return round;
  };

  // Each claimed task's run, to its result or, stopped by the shutdown, its claim given back (watcher/claimed-run.ts).
  // A project remote out of reach at a task's start: fetched again --retry apart (doubling up to --retry-max) for up
  // to a lease, then the claim is given back (watcher/workspace/fetch-retry.ts).
  const fetchWait = (): FetchWait => {
    const firstMs = opts.retryMs ?? DEFAULT_FETCH_WAIT.policy.firstMs;
    return { policy: { firstMs, maxMs: Math.max(firstMs, opts.retryMaxMs ?? DEFAULT_FETCH_WAIT.policy.maxMs) }, holdMs: leaseMs };
  };
  let starts = 0;
  const { start: startRun } = claimedRuns({ ctx, opts, running, kill: kill.signal, finished, spendCap, showsSpend, early, delivery, report, wake: (why) => void wake(why), fetchWait, maxAttempts: () => maxAttempts, stepAside: (id) => ranking.stepAside(id, Date.now() + leaseMs) });
  const start: typeof startRun = (task) => {
    starts++;
    return startRun(task);
  };

  // The drain's claims and those riding with results (watcher/claims.ts).
  const claims = claimer({ ctx, opts, runners, health, ranking, spendCap, running, look, peek, stopped, recovered: () => house.recovered, beatBeforeClaim, start, report });

  // Wakes (watcher/wake-rounds.ts): a round of housekeeping and claims, joined, remembered, or held while idle.
  const rounds = wakeRounds({ stop: opts.stop, health, keepHouse, busyWake: () => busyHouse.wake(), drain: (why) => claims.drain(false, why), starts: () => starts, runs: () => running.size, fetched: () => ctx.repo.mainMoves });
  const wake = (why: WakeReason): Promise<void> => rounds.wake(why);

  // Claims nothing more, runs get the grace period, then the goodbye (watcher/shutdown.ts).
  const ending = shutdown({ opts, running, kill, delivery, goodbye: () => beats.goodbye(), report });

  // Results queued before a crash or while the remote was down go first: recovery must not release claims
  // whose results are only waiting to be pushed.
  stopLeftovers(ctx);
  dropAllReservations(home);
  const keepLogsMs = opts.keepLogsMs ?? 14 * 24 * 3600_000;
  const pruneLogs = () => {
    pruneTaskLogs(ctx.paths.logs, keepLogsMs, new Set([...running.values()].map((r) => `${r.task.id}.${r.task.attempt}`)));
    // Temp objects of killed processes sit in the clone's 256 object folders: listed here, not at every command.
    sweepLeftovers(ctx.paths, { objects: true });
  };
  pruneLogs();
  pruneProgress(home, new Set());
  const logPruning = setInterval(pruneLogs, 24 * 3600_000);
  logPruning.unref();
  // A watcher started for one round leaves the clone to the next long-lived one.
  const gc = opts.once ? null : cloneGc(ctx.paths.clone, opts.onEvent, report);
  // Not waiting for the wake it starts: a tick during a long drain must still reach wake(), which only queues the drain.
  // `--once` makes no timer, and need not load cron (bus/model/cron-lib.ts).
  const pollJob = () => (opts.once ? null : pollTimer(pollCron(pollMs, ctx.config.node), () => void wake('tick'), report));
  let job: PollTimer | null = null;
  // From here on every way out clears the timers: a start-up that fails (restart recovery, above all) must not
  // leave a retry timer behind that keeps the process alive, waking a watcher that no longer holds its lock.
  try {
    if (unreachableAtStart === null) {
      // First, once: sign what this node wrote before it signed its files, so that its own claims and results are
      // not taken for forgeries by the delivery and recovery below (bus/trust/sign-own-files.ts).
      await signOwnFiles(ctx).catch(fail);
      await flushOutbox().catch(fail);
      await house.recover();
      await publishNodeCard(ctx, { fromWatcher: true }).catch(fail);
      await beat().catch(fail);
    }
    beats.start();
    job = pollJob();
    /** A changed `heartbeat`, `lease` or `poll` in gitbus.yaml (and not fixed on the command line) applies from now on. */
    applySettings = (next) => {
      const hb = opts.heartbeatMs ?? next.heartbeatMs;
      const poll = cadence.pollMs();
      const hbChanged = hb !== beats.heartbeatMs;
      // Every time, not only when the heartbeat changed: the tick is at most a third of the lease, which may have.
      beats.retime(hb);
      if (!hbChanged && poll === pollMs) return;
      if (poll !== pollMs) {
        pollMs = poll;
        health.pollChanged(pollMs);
        job?.stop();
        job = pollJob();
      }
      opts.onEvent({ type: 'settings', pollMs: opts.once ? null : pollMs, heartbeatMs: beats.heartbeatMs });
    };
    opts.onEvent({ type: 'started', node: ctx.config.node, runners, parallel: ctx.config.parallel, pollMs: opts.once ? null : pollMs, heartbeatMs: beats.heartbeatMs });
    // Recovery, the node card and the first heartbeat then wait for the first wake that reaches the remote.
    if (unreachableAtStart !== null) {
      remoteFailed(unreachableAtStart);
      void publishNodeCard(ctx, { fromWatcher: true }).catch(() => undefined);
    }
    if (opts.once) {
      if (await keepHouse()) await claims.drain(true);
      // A SIGTERM ends the drain early: the runs still get the grace period, and their results go out, before
      // finish() and the caller close the transport.
      await ending.endRuns();
      await ending.finish();
      return finished;
    }
    files = opts.watchFiles === false ? null : await fileWatch({ clone: ctx.paths.clone, remote: ctx.repo.localRemotePath() }, () => void wake('change'), report, (err) => opts.onEvent(unavailableEvent(err)));
    await wake('tick');
    await stopped;
    health.cancelRetry();
    ranking.stop();
    job?.stop();
    await files?.close();
    await rounds.draining;
    await ending.endRuns();
    await ending.finish();
    return finished;
  } finally {
    rounds.stop();
    busyHouse.stop();
    beats.stop();
    job?.stop();
    clearInterval(logPruning);
    gc?.stop();
    health.cancelRetry();
    ranking.stop();
  }
}
