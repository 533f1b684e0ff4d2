import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LocalTransport } from '../bus/transport/local.js';
import { wakeOnChange, type ChangeWatch } from '../watcher/wake-on-change.js';
import type { BusContext } from '../bus/context.js';
import { isAlive } from '../bus/lock.js';
import { localSnapshot } from '../bus/ops/query.js';
import { MAIN } from '../bus/repo.js';
import { outageCode } from '../bus/remote-failure.js';
import { watcherRuns } from './freshness.js';
import { endedText, hasEnded, newlyDelivered, newsOf, type TaskFact } from './hear-back.js';
import type { HookInput } from './hook-input.js';
import { tell, withClone, type HookResult } from './hook.js';
import { factsOf } from './session-facts.js';
import { awaitsPush, readLedger, sessionsDir, stillNews, validSession, type Ledger } from './session-ledger.js';

export interface WaitOptions {
  /**
   * Whether a person attends the session (Claude Code's CLAUDE_CODE_SESSION_ATTENDED). Claude Code runs an
   * asyncRewake hook in the background only in interactive sessions (or with streaming input); under `claude -p`
   * it would run in the foreground and hold the stop, so there the waiter leaves at once.
   */
  attended: boolean;
  /** Give up after this long (the hook's own timeout in hooks.json is longer). */
  maxMs: number;
  /** The Claude Code process: when it is gone, so is the session this waiter would wake. */
  claudePid?: number;
  /** How often the remote is listed when no watcher of this home keeps the clone current (default: the bus's poll). */
  pollMs?: number;
}

const SILENT: HookResult = { output: null, exitCode: 0 };

/**
 * The Stop hook that runs in the background (`asyncRewake`): when this session still waits for tasks it
 * dispatched, or for the push of one it was told had not reached the project remote (for a week at most,
 * AWAIT_PUSH_MS), it waits until one of them ends or that push lands (its delivery, docs/PROTOCOL.md §3a) and then
 * exits 2 with the news on stderr, which Claude Code hands to the model as a new turn — the session hears back
 * without anyone polling it, each end and each delivery once, as collect says them.
 *
 * It waits without a busy loop: the node's clone changes by atomic rename of refs/heads/main whenever any process
 * of the node syncs (its watcher at every wake), and a file-system watch on that folder — and on a local remote's
 * refs — wakes the waiter. Only when no watcher runs for this home does the waiter itself list a remote it cannot
 * watch — one cheap ref listing per poll interval, a fetch only when main moved — as a watcher would. One waiter per session
 * (a mark file with its pid); it ends with the Claude process, after `maxMs`, or as soon as nothing is left to
 * wait for. Tasks that had already ended (or been delivered) when it started are the synchronous Stop hook's to tell.
 */
export async function waitForNews(input: HookInput | null, home: string, opts: WaitOptions): Promise<HookResult> {
  if (!input || !validSession(input.session_id) || !opts.attended) return SILENT;
  const session = input.session_id;
  const first = readLedger(home, session);
  if (!first || !first.tasks.some((t) => stillNews(t))) return SILENT;
  const mark = join(sessionsDir(home), `${session}.waiter`);
  if (!takeMark(mark)) return SILENT;
  try {
    return (await withClone(home, (ctx) => waitLoop(ctx, home, session, opts))) ?? SILENT;
  } finally {
    rmSync(mark, { force: true });
  }
}

async function waitLoop(ctx: BusContext, home: string, session: string, opts: WaitOptions): Promise<HookResult> {
  const start = Date.now();
  let known: { ended: Set<string>; delivered: Set<string> } | null = null;
  let first = true;
  const pollMs = opts.pollMs ?? Math.max(5_000, (await localSnapshot(ctx)).settings.pollMs);
  let wake: () => void = () => undefined;
  // A local remote is watched too (as the watcher does): a push there wakes the waiter, whose sync is then a file read.
  const localRemote = ctx.repo.transport instanceof LocalTransport ? ctx.repo.transport.path : null;
  let watcher: ChangeWatch | null = null;
  try {
    watcher = await wakeOnChange({ clone: ctx.paths.clone, remote: localRemote }, () => wake());
  } catch {
    // No file events here: the timer below still wakes the loop.
  }
  try {
    for (;;) {
      const ledger = readLedger(home, session);
      if (!ledger) return SILENT;
      const facts = await factsOf(ctx, await localSnapshot(ctx), ledger);
      const news = newsOf(ledger, facts);
      // What had ended, or been delivered, before this waiter started is told by the synchronous hooks, not here.
      known ??= { ended: new Set([...facts.values()].filter((f) => hasEnded(f.state)).map((f) => f.id)), delivered: new Set(news.landed.flatMap((f) => (f.delivered ? [f.delivered] : []))) };
      const fresh = news.ended.filter((f) => !known?.ended.has(f.id));
      const freshLanded = news.landed.filter((f) => f.delivered !== undefined && !known?.delivered.has(f.delivered));
      if (fresh.length + freshLanded.length > 0) {
        // A prompt's hook may have told the same a moment ago: tell only what is still untold.
        const now = readLedger(home, session);
        const entries = new Map((now?.tasks ?? []).map((t) => [t.id, t]));
        const ended = fresh.filter((f) => entries.get(f.id)?.told === undefined);
        const landed = freshLanded.filter((f) => entries.get(f.id)?.told !== undefined && newlyDelivered(f, entries.get(f.id)?.toldDelivered));
        if (ended.length + landed.length > 0) {
          tell(home, session, ended, landed, now);
          return { output: null, exitCode: 2, stderr: endedText(ended, news.waiting, landed) };
        }
      }
      if (news.waiting.length === 0 && !awaitsDelivery(ledger, facts)) return SILENT;
      const left = opts.maxMs - (Date.now() - start);
      if (left <= 0) return SILENT;
      // The first look read the clone before the watch was in place: a push or a sync in between sent no event, so
      // the first turn looks again at once, as after one, instead of waiting out a poll interval (30 s by default).
      const why = first ? 'event' : await new Promise<'event' | 'poll' | 'gone'>((resolve) => {
        const timers: NodeJS.Timeout[] = [];
        const done = (w: 'event' | 'poll' | 'gone') => {
          for (const t of timers) clearTimeout(t);
          wake = () => undefined;
          resolve(w);
        };
        wake = () => done('event');
        timers.push(setTimeout(() => done('poll'), Math.min(pollMs, left)));
        if (opts.claudePid !== undefined) {
          const pid = opts.claudePid;
          const check = (): void => {
            if (!isAlive(pid)) done('gone');
            else timers.push(setTimeout(check, 2_000));
          };
          timers.push(setTimeout(check, 2_000));
        }
      });
      first = false;
      if (why === 'gone') return SILENT;
      if (localRemote !== null || (why === 'poll' && !watcherRuns(home))) {
        try {
          await ctx.repo.sync(MAIN);
        } catch (err) {
          // The remote is down: keep waiting on what this node knows; the next interval tries again.
          if (outageCode(err) === null) throw err;
        }
      }
    }
  } finally {
    await watcher?.close();
  }
}

/**
 * Whether a task the session was told had not reached the project remote is still on main with no delivery: its node
 * keeps pushing, and the delivery that says the push landed is news to wake for (once, as collect says it). One that
 * left main gets none, and its archived end is the next synchronous hook's to look up (archived-facts.ts). Pure.
 */
function awaitsDelivery(ledger: Ledger, facts: ReadonlyMap<string, TaskFact>): boolean {
  return ledger.tasks.some((t) => {
    const f = facts.get(t.id);
    return f !== undefined && awaitsPush(t) && hasEnded(f.state) && f.delivered === undefined;
  });
}

/** Creates the session's waiter mark, or finds a live waiter already holding it. */
function takeMark(mark: string): boolean {
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(mark, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return false;
      let pid = NaN;
      try {
        pid = Number(readFileSync(mark, 'utf8'));
      } catch {
        // removed meanwhile: try again
      }
      if (Number.isSafeInteger(pid) && pid > 0 && isAlive(pid)) return false;
      rmSync(mark, { force: true });
    }
  }
  return false;
}
