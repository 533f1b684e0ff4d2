import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BusContext } from '../bus/context.js';
import { withLocalLockSync } from '../bus/lock.js';
import { writeFileAtomicSync } from '../bus/local-io.js';
import { snapshotOrLast, type Offline } from '../bus/ops/query.js';
import { isQueued, listQueue } from '../bus/queue.js';
import { readDispatched, reviseDispatched } from '../bus/dispatched-ledger.js';
import { archivedFacts, pushesSettled } from './archived-facts.js';
import { factOf, hasEnded, isWaiting, newlyDelivered, type TaskFact } from './hear-back.js';
import { tell } from './hook.js';
import { readLedger, stillNews, stopAwaitingPush, type LedgerTask } from './session-ledger.js';

export interface CollectOptions {
  /** The Claude Code session whose dispatches to collect; without one, every task this node dispatched. */
  session?: string;
  /** Show every ended task of the scope, also those collected before. */
  all?: boolean;
  /** Look without moving the "since last time" mark. */
  peek?: boolean;
}

export interface CollectResult {
  scope: 'session' | 'node';
  session: string | null;
  /** Ended since the last collect (or the session's hooks last told it): each with its status and summary. */
  ended: TaskFact[];
  /**
   * Reported before with their branch not on the project remote, and pushed since (a delivery, docs/PROTOCOL.md §3a):
   * each once.
   */
  landed: TaskFact[];
  /** Dispatched and not ended yet. */
  waiting: TaskFact[];
  offline: Offline | null;
}

/**
 * `gitbus collect`: the responses that arrived since last time, and the pushes of branches reported not pushed then.
 * In a Claude Code session, "last time" is what the session was last told (by a hook or a collect: the session
 * ledger); elsewhere it is this node's own mark, the ids already collected while on main
 * (`<home>/claude/collected.json`), with the note of what this home dispatched (`<home>/dispatched.jsonl`) for
 * the tasks that left main, since the responders' clocks cannot be compared with ours. Reads main from the remote
 * (fetching only if it moved), or what this node last knew when it is down; a task that is neither on main nor
 * queued here is looked up in the archive (archived since the last look, it is reported from there).
 */
export async function collect(ctx: BusContext, opts: CollectOptions): Promise<CollectResult> {
  const { snap, offline } = await snapshotOrLast(ctx);
  if (opts.session !== undefined) {
    const session = opts.session;
    const ledger = readLedger(ctx.paths.home, session);
    const tasks = (ledger?.tasks ?? []).filter((t) => opts.all || stillNews(t));
    const facts: TaskFact[] = [];
    const missing: LedgerTask[] = [];
    for (const t of tasks) {
      if (snap.has(t.id)) facts.push(factOf(t, await snap.view(t.id), false));
      else if (isQueued(ctx.paths.home, { kind: 'dispatch', id: t.id })) facts.push(factOf(t, undefined, true));
      else missing.push(t);
    }
    const archived = await archivedFacts(ctx, missing, offline !== null);
    facts.push(...archived.facts);
    const told = new Map(tasks.map((t) => [t.id, t]));
    // Told of before (its branch not pushed then), and pushed since: a short word, once (keyed by the delivery).
    const landed = opts.all ? [] : facts.filter((f) => told.get(f.id)?.told !== undefined && newlyDelivered(f, told.get(f.id)?.toldDelivered));
    // A task told of before stays in the ledger only to hear of its push (awaitsPush): it has ended, but is no news.
    const ended = facts.filter((f) => hasEnded(f.state) && (opts.all || told.get(f.id)?.told === undefined) && !landed.includes(f));
    if (!opts.peek) {
      tell(ctx.paths.home, session, ended, landed, ledger);
      // Archived without a delivery, or nowhere: its push will not be told, so the session stops looking for it.
      if (ledger) stopAwaitingPush(ctx.paths.home, session, pushesSettled(ledger, new Map(facts.map((f) => [f.id, f])), archived.answered));
    }
    return { scope: 'session', session, ended, landed, waiting: facts.filter((f) => isWaiting(f.state)), offline };
  }
  const mine: TaskFact[] = [];
  for (const id of snap.ids()) {
    const view = await snap.view(id);
    if (view?.handoff?.from !== ctx.config.node) continue;
    mine.push(factOf({ id, title: view.handoff.title, at: view.handoff.created ?? '' }, view, false));
  }
  // Dispatches still in this home's queue (the remote was away): waiting, like those on main.
  for (const e of listQueue(ctx.paths.home)) if (e.kind === 'dispatch' && !snap.has(e.id)) mine.push(factOf({ id: e.id, title: e.title, at: e.queuedAt }, undefined, true));
  // What this home delivered and main no longer has: archived since (asked of the archive; found only there, each is
  // reported once and then forgotten), or collected before while its push was awaited (the delivery is archived with it).
  const noted = readDispatched(ctx.paths.home);
  const archived = (await archivedFacts(ctx, noted.filter((t) => !snap.has(t.id)), offline !== null)).facts;
  mine.push(...archived.filter((f) => f.state !== 'gone'));
  const file = join(ctx.paths.home, 'claude', 'collected.json');
  const collected = readCollected(file);
  // Main's mark forgets what left main; a note awaiting its push remembers that its end was reported.
  const seen = new Set([...collected.ids, ...noted.filter((t) => t.awaitsPush).map((t) => t.id)]);
  const seenDelivered = collected.delivered;
  const ended = mine.filter((f) => hasEnded(f.state) && (opts.all || !seen.has(f.id)));
  // Collected before, while its branch was not pushed, and pushed since: said once, by the delivery's path.
  const landed = opts.all ? [] : mine.filter((f) => seen.has(f.id) && f.delivered !== undefined && !seenDelivered.has(f.delivered));
  if (!opts.peek) {
    // Kept: what may still end (waiting on main, queued), what the archive could not be asked about now (offline,
    // or not found yet: the archive is written after main), and what ended on main with its branch still to be
    // pushed (marked: a delivery archived with it is looked for there, and only its end is in main's mark). Any
    // other task ended on main is in main's mark; one found archived has been said, and gets no delivery any more.
    const stillOpen = new Set(mine.filter((f) => isWaiting(f.state)).map((f) => f.id));
    const awaiting = new Set(mine.filter((f) => f.archived === undefined && hasEnded(f.state) && f.awaitsPush && f.delivered === undefined).map((f) => f.id));
    const unanswered = new Set(archived.filter((f) => f.state === 'gone').map((f) => f.id));
    const looked = new Set(noted.map((t) => t.id));
    const oldest = Date.now() - FORGET_UNFOUND_MS;
    reviseDispatched(ctx.paths.home, (t) => {
      if (awaiting.has(t.id)) return { ...t, awaitsPush: true };
      // Noted while this collect ran: not looked at yet, so kept.
      return !looked.has(t.id) || stillOpen.has(t.id) || (unanswered.has(t.id) && !(Date.parse(t.at) < oldest)) ? t : null;
    });
    mkdirSync(join(ctx.paths.home, 'claude'), { recursive: true });
    withLocalLockSync(`${file}.lock`, () => {
      // Ids that left main (archived) are dropped: the mark stays as small as the live bus.
      const onMain = new Set(snap.ids());
      const now = readCollected(file);
      const next = [...new Set([...now.ids, ...ended.map((f) => f.id)])].filter((id) => onMain.has(id));
      const told = [...ended, ...landed].flatMap((f) => (f.delivered !== undefined ? [f.delivered] : []));
      const delivered = [...new Set([...now.delivered, ...told])].filter((p) => onMain.has(taskIdOfDelivery(p)));
      writeFileAtomicSync(file, `${JSON.stringify({ collected: next, delivered }, null, 2)}\n`);
    });
  }
  return { scope: 'node', session: null, ended, landed, waiting: mine.filter((f) => isWaiting(f.state)), offline };
}

/** A noted task neither on main nor in the archive for this long (its archive lost, main rewritten) is let go. */
const FORGET_UNFOUND_MS = 30 * 24 * 3600 * 1000;

/** `deliveries/<id>.<attempt>.md` to its task id. Pure. */
function taskIdOfDelivery(path: string): string {
  return path.slice('deliveries/'.length).replace(/\.\d+\.md$/, '');
}

/** The ids collected, and the deliveries told of (docs/PROTOCOL.md §3a), by path. */
function readCollected(file: string): { ids: Set<string>; delivered: Set<string> } {
  const strings = (v: unknown) => new Set(Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  if (!existsSync(file)) return { ids: new Set(), delivered: new Set() };
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { collected?: unknown; delivered?: unknown };
    return { ids: strings(raw.collected), delivered: strings(raw.delivered) };
  } catch {
    return { ids: new Set(), delivered: new Set() };
  }
}
