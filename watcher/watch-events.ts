import type { RemoteDownEvent, RemoteUpEvent } from './remote-health.js';
import type { RunOutcome } from './runners/runner.js';
import type { BesideCause } from './workspace/push.js';
import type { NarrowedMode } from '../bus/env/modes.js';

/** What the watcher reports (one JSON line each under `gitbus watch --json`), how it is driven, what it ran. */
export type WatchEvent =
  | { type: 'started'; node: string; runners: string[]; parallel: number; pollMs: number | null; heartbeatMs: number }
  /** gitbus.yaml changed `poll` or `heartbeat` (and the command line did not fix them): the new intervals apply. */
  | { type: 'settings'; pollMs: number | null; heartbeatMs: number }
  /**
   * A runner node.yaml enables whose program is not on this machine (watcher/runner-binaries.ts): this watcher
   * claims no task for it and its node card does not offer it. Reported at start, before `started`.
   */
  | { type: 'runner-missing'; runner: string; binary: string; fix: string }
  /**
   * A folder the watcher wakes on could not be watched (the kernel's limit on file watches): its changes are seen at
   * the next poll. Said once until that folder is watched again (watcher/wake-on-change.ts).
   */
  | { type: 'file-events-unavailable'; folder: string; why: string; message: string; fix: string }
  /**
   * A repo list of this node's policy (`policy.repos` with the URLs of the projects it admits, or `projectsOnly`)
   * has more than `max` entries, the most a node card lists (one fewer than it may hold, so that no reader takes
   * it for a list an earlier build cut): the card leaves it out (bus/node-policy.ts CARD_LIST_PUBLISHED), so `dispatch --to` checks no task's repo against it and only this node judges, when it claims.
   * Reported at start, before `started`.
   */
  | { type: 'card-list-left-out'; field: 'policy.repos' | 'projectsOnly'; count: number; max: number; fix: string }
  /**
   * The bus has a trust root this node has not pinned (it joined before the root): it runs any handoff, signed or
   * not. Said once per root (version 1's digest) while the watcher runs; the watcher never pins by itself, since
   * trusting the keys the bus shows on first sight is what a push-access attacker would have it do
   * (docs/PROTOCOL.md §12, "Pinning"). `fingerprints`: the admin keys as the bus has them, for a person to check.
   */
  | { type: 'trust-root-unpinned'; version: number; fingerprints: string[]; fix: string }
  | { type: 'claimed'; id: string; attempt: number; title: string; reclaimed: boolean }
  /**
   * A claim lost a race to another node (bus/ops/claim.ts LostRace): `rejected`, its push was refused because main
   * had moved (it decides again from the new state); `taken`, reading again found its picks taken. Reported for
   * the benchmark's lost races per task and for `--json` readers; the text output leaves it out.
   */
  | { type: 'lost-race'; why: 'rejected' | 'taken' }
  | { type: 'finished'; id: string; attempt: number; status: RunOutcome['status']; exitCode: number | null; durationMs: number }
  | { type: 'released'; id: string; attempt: number; reason: string }
  | { type: 'reaped'; id: string; status: string; reason: string }
  | { type: 'scheduled'; id: string; template: string; due: string }
  /** A schedule's template whose instance would not be a valid handoff: it dispatches nothing. Once per template. */
  | { type: 'schedule-failed'; template: string; reason: string; fix: string }
  /** This watcher moved finished tasks past `archiveAfter` to the archive branch (another watcher may have done part). */
  | { type: 'archived'; ids: string[]; /** Copied, but left on main for the next run: a file of theirs came meanwhile. */ kept: string[] }
  /** A blocked task this watcher cancelled because a dependency ended without success. */
  | { type: 'cancelled'; id: string; reason: string }
  /** `local`: kept for a failure on this node (its disk, a bug), not because the remote is down. */
  | { type: 'queued'; id: string; attempt: number; reason: string; local?: true }
  | { type: 'delivered'; id: string; attempt: number; status: string }
  /**
   * A project task's branch reached the project remote. `moved`: the branch it was meant for, which refused a
   * fast-forward, so it went beside it; `rewritten`, when that was because the run rewrote the branch's history (a
   * rebase, an amend): the commit the remote had from this worktree, which the result no longer holds. Without
   * `rewritten`, the branch had moved on the remote, unless `apart`: it never built on the task's base (the commit it
   * was at when the worktree was made beside it, and still is), so nobody moved it.
   */
  | ({ type: 'pushed'; id: string; attempt: number; branch: string } & BesideCause)
  | { type: 'rejected'; id: string; attempt: number; reason: string; path: string }
  /**
   * A branch that reached the project remote after its response went out is said on the bus (its delivery,
   * docs/PROTOCOL.md §3a); `moot`: why nothing was published for it after all (the task was archived, ...).
   */
  | { type: 'branch-delivered'; id: string; attempt: number; branch: string; moot?: string }
  /** Dispatches and cancels queued on this node while the remote was unreachable (bus/queue.ts) reached the bus. */
  | { type: 'sent'; changes: { kind: string; id: string }[]; refused: { kind: string; id: string; reason: string; path: string }[] }
  | { type: 'error'; message: string; code: string | null; fix?: string }
  /**
   * The node's daily claude cap (node.yaml claude.maxSpendUsdPerDay) is spent, or reserved by running claude
   * tasks: claude tasks are left for other nodes until midnight UTC or until running ones end under budget.
   * Reported once each time it starts to hold.
   */
  | { type: 'spend-cap'; day: string; capUsd: number; spentUsd: number; reason: string }
  /**
   * This node's policy (node.yaml `policy:`, or `projectsOnly`) refuses the task. `answered`: it was addressed to this node, which
   * claimed it and answers it `failed` with the reason, running nothing (attempt is that claim's); otherwise it is
   * left for other nodes, reported once per task while this watcher runs.
   */
  | { type: 'refused'; id: string; attempt: number | null; answered: boolean; reason: string }
  /** An `auto` environment profile was applied: files written or removed, and the backup that holds what they replaced. */
  | { type: 'env-applied'; profile: string; written: string[]; removed: string[]; modes: { target: string; executable: boolean }[]; narrowed: NarrowedMode[]; leftovers: string[]; backup: string | null }
  /** Files of an `auto` profile that apply leaves as they are (changed here, or both here and in the bus): reported when the set changes. */
  | { type: 'env-held'; profile: string; files: { target: string; state: string; why: string }[] }
  /** A subscribed profile cannot be applied here (not on the bus, invalid, untrusted): reported when the reason changes. */
  | { type: 'env-refused'; profile: string; reason: string; fix: string }
  /**
   * The user's home folder cannot be used (`code` ENV_HOME_MISSING: HOME names a path that is not a folder, or is
   * relative): no subscribed profile is looked at or applied. Reported once, and again only after it was back.
   */
  | { type: 'env-home-missing'; code: string; profiles: string[]; reason: string; fix: string }
  /**
   * The clone's housekeeping (bus/store/clone-prune.ts, at start and hourly) removed objects of history and of refs'
   * old tips, its archive tip repository's included (bus/archive/tip-prune.ts): `removed` loose objects, `freedBytes`
   * on disk. Reported only when it removed something.
   */
  | { type: 'clone-pruned'; removed: number; freedBytes: number; kept: number; tookMs: number }
  | RemoteDownEvent
  | RemoteUpEvent
  /** The home's node.yaml is gone (the folder removed): the watcher stops, as at SIGTERM. */
  | { type: 'home-removed'; home: string }
  /**
   * A stop began with runs going: they get `graceMs` to end, then are stopped and go back to the bus; `graceMs` 0
   * when the grace period was cut short (a second signal) and they are being stopped now.
   */
  | { type: 'stopping'; runs: string[]; graceMs: number }
  | { type: 'stopped' };

export interface WatchOptions {
  /** Claim what may be claimed, run it to the end, report, and return. */
  once: boolean;
  /** How often to check the remote when nothing else wakes the watcher (default 30 s; the CLI passes the bus setting). */
  pollMs?: number;
  /** How often to prove this node is alive (default: the bus setting `heartbeat`). */
  heartbeatMs?: number;
  /** Aborted to shut down: no new claims; running tasks get `graceMs` to finish, then are stopped and released. */
  stop: AbortSignal;
  /**
   * Aborted after `stop` to end the grace period at once (a second Ctrl-C): the runs still going are stopped and
   * give their tasks back now, as when the grace period is over.
   */
  hurry?: AbortSignal;
  /** Wake at once on local changes (a push to a local remote, a commit in this node's clone). Default true. */
  watchFiles?: boolean;
  graceMs?: number;
  /** Task logs in <home>/logs older than this are removed (at start and daily). Default 14 days; 0 keeps them. */
  keepLogsMs?: number;
  /** While the remote is down: the first wait before trying again (default: the poll interval, at least 1 s). It doubles per failed attempt. */
  retryMs?: number;
  /** While the remote is down: the longest wait between attempts (default: ten poll intervals, at most 5 minutes). */
  retryMaxMs?: number;
  /** How often at most this watcher looks for finished tasks to archive (default: archiveAfter, at most 5 minutes). */
  archiveEveryMs?: number;
  /**
   * Progress posted from inside a task (`gitbus progress`) goes out with an early heartbeat, at most one such extra
   * beat per this long (default 10 s), so that chatty agents do not push more than the git host allows. 0: only
   * the regular heartbeats carry it.
   */
  progressBeatMs?: number;
  /**
   * The home folder environment profiles are applied to, as HOME gives it (default: $HOME, else the account's);
   * checked at each look (bus/env/local.ts envUserHome), so a HOME that is not a folder is reported, not written in.
   */
  userHome?: string;
  /** How often at most local files of subscribed profiles are looked at when env/ did not change (default 60 s). */
  envEveryMs?: number;
  /**
   * Called once this watcher holds its home's lock, before its first wake; what it returns is called when the
   * watcher stops. The CLI starts serving commands there (cli/serve/server.ts): only the home's one watcher may.
   */
  whileLocked?: () => () => Promise<void> | void;
  onEvent: (e: WatchEvent) => void;
}

export interface FinishedTask {
  id: string;
  attempt: number;
  status: RunOutcome['status'];
  exitCode: number | null;
}
