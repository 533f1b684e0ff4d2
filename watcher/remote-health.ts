import { isPushFailure, remoteFailureCode } from '../bus/remote-failure.js';
import { retryDelay, retryPolicy } from './backoff.js';
import { firstLine } from '../schemas/errors.js';
import { timerMs } from '../bus/long-timeout.js';

/**
 * The remote failed (a wake, a heartbeat or a delivery; `remoteFailureCode` says which errors count). Emitted
 * once per outage: until a wake gets through, wakes are skipped and retried after `retryInMs`, doubling up to
 * `maxRetryMs`. Running tasks go on; their results wait in the outbox.
 */
export type RemoteDownEvent = { type: 'remote-down'; remote: string; code: string; message: string; fix: string | null; retryInMs: number; maxRetryMs: number };
/** The first wake that got through after `remote-down`; `attempts` counts the failed ones. */
export type RemoteUpEvent = { type: 'remote-up'; remote: string; downForMs: number; attempts: number };

export interface RemoteHealthOptions {
  /** The remote as people know it (the transport's display name), for the events. */
  remote: string;
  /** The poll interval, the first wait's default (see `retryPolicy`). */
  pollMs: number;
  /** WatchOptions.retryMs / retryMaxMs: the first and the longest wait while the remote is down. */
  retryMs?: number | undefined;
  retryMaxMs?: number | undefined;
  /** --once: nothing waits for the remote, so its failures are reported as plain errors. */
  once: boolean;
  onEvent: (e: RemoteDownEvent | RemoteUpEvent) => void;
  /** Reports a failure that is not the remote's (the watcher's `error` event). */
  report: (err: unknown) => void;
  /** The retry timer went off: wake and look at the remote again. */
  retry: () => void;
  /** Pushes the remote accepted so far (BusRepo.pushes): ends an outage that a push started. */
  pushes: () => number;
}

export interface RemoteHealth {
  /** In an outage: from the failure that found the remote down until a look gets through (`remoteUp`). */
  readonly isDown: boolean;
  /** The first line of the failure that started the outage; null while the remote is up. */
  readonly reason: string | null;
  /**
   * Any remote failure (a wake, a heartbeat, a delivery): the first starts the outage and reports it, later ones
   * are part of it. False when `err` is not a remote failure (or with --once, which reports errors and exits).
   */
  remoteFailed(err: unknown): boolean;
  /** A wake's own look at the remote failed: during an outage that is one more failure and a longer wait. */
  attemptFailed(err: unknown): void;
  /** Any failure: a remote one goes to the outage, any other is reported. */
  fail(err: unknown): void;
  /** A look got through: ends the outage, if there is one (one a push started: only once a push got through since). */
  remoteUp(): void;
  /**
   * During an outage, whether a sign of life may end the current wait early: once per wait, so that file events
   * cannot turn the backoff into a busy loop.
   */
  earlyLook(): boolean;
  /** The poll interval changed (gitbus.yaml): later waits follow the new policy. */
  pollChanged(pollMs: number): void;
  /** Shutdown: the retry timer must not wake the watcher (nor keep the process alive). */
  cancelRetry(): void;
}

interface Down {
  since: number;
  code: string;
  message: string;
  /** Failed attempts so far (the failure that found the remote down is the first). */
  failures: number;
  retry: NodeJS.Timeout | null;
  /** A sign of life (a file change) already ended the current wait early once: the next must wait for the timer. */
  earlyUsed: boolean;
  /**
   * A push failed (BusRepo.pushes when it did), while listings may work (a token that may read but not write): a
   * look that gets through does not end this outage, only a push that does, so it is not reported down and back
   * at every wake.
   */
  pushesAt: number | null;
}

/**
 * The remote's health for the watcher: one report per outage, and wakes backed off (watcher/backoff.ts) until one
 * gets through.
 */
export function remoteHealth(o: RemoteHealthOptions): RemoteHealth {
  const { remote, onEvent, report } = o;
  let policy = retryPolicy(o.pollMs, o.retryMs, o.retryMaxMs);
  let down = null as Down | null;
  const scheduleRetry = (d: Down): number => {
    if (d.retry) clearTimeout(d.retry);
    const ms = retryDelay(policy, d.failures);
    d.retry = setTimeout(() => {
      d.retry = null;
      d.earlyUsed = false;
      o.retry();
    }, timerMs(ms));
    return ms;
  };
  const remoteFailed = (err: unknown): boolean => {
    const code = remoteFailureCode(err);
    if (code === null || o.once) return false;
    if (down) return true;
    const d: Down = { since: Date.now(), code, message: firstLine(err), failures: 1, retry: null, earlyUsed: false, pushesAt: isPushFailure(err) ? o.pushes() : null };
    down = d;
    const retryInMs = scheduleRetry(d);
    const fix = (err as { fix?: unknown }).fix;
    onEvent({ type: 'remote-down', remote, code, message: d.message, fix: typeof fix === 'string' && fix ? fix : null, retryInMs, maxRetryMs: policy.maxMs });
    return true;
  };
  const attemptFailed = (err: unknown): void => {
    if (!down) return fail(err);
    down.failures++;
    scheduleRetry(down);
    if (remoteFailureCode(err) === null) report(err);
  };
  const fail = (err: unknown): void => {
    if (!remoteFailed(err)) report(err);
  };
  const remoteUp = (): void => {
    const d = down;
    if (!d) return;
    if (d.pushesAt !== null && o.pushes() === d.pushesAt) return;
    if (d.retry) clearTimeout(d.retry);
    down = null;
    onEvent({ type: 'remote-up', remote, downForMs: Date.now() - d.since, attempts: d.failures });
  };
  return {
    get isDown() {
      return down !== null;
    },
    get reason() {
      return down?.message ?? null;
    },
    remoteFailed,
    attemptFailed,
    fail,
    remoteUp,
    earlyLook: () => {
      if (!down || down.earlyUsed) return false;
      down.earlyUsed = true;
      return true;
    },
    pollChanged: (pollMs) => {
      policy = retryPolicy(pollMs, o.retryMs, o.retryMaxMs);
    },
    cancelRetry: () => {
      if (down?.retry) clearTimeout(down.retry);
    },
  };
}

