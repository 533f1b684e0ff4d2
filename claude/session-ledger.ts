import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { withLocalLockSync } from '../bus/lock.js';
import { writeFileAtomicSync } from '../bus/local-io.js';
import type { TaskState } from '../bus/model/types.js';

/**
 * Which tasks a Claude Code session dispatched, and which of their ends it has been told. Claude Code gives every
 * command its Bash tool runs the session's id (CLAUDE_CODE_SESSION_ID, since 2.1.132) and gives every hook the
 * same id in its input (`session_id`), so `gitbus dispatch` run by Claude records the task under the session, and
 * the hooks of that session read it back. One small JSON file per session in the node's home:
 * `<home>/claude/sessions/<session>.json`.
 */
export interface LedgerTask {
  id: string;
  title: string;
  /** When it was dispatched (this machine's clock). */
  at: string;
  /** Where `gitbus dispatch` ran. */
  cwd?: string;
  /** The final state the session was told of; absent until then. */
  told?: TaskState;
  /** When the session was told of its end (this machine's clock): the week it waits for a push counts from then. */
  toldAt?: string;
  /**
   * Told while its branch was not on the project remote yet: a delivery of it is still news (`toldDelivered`), for a
   * week after `toldAt` at most (AWAIT_PUSH_MS), or until its task is found archived.
   */
  awaitsPush?: true;
  /**
   * The delivery (`deliveries/<id>.<attempt>.md`, docs/PROTOCOL.md §3a) the session was told of, when its task's
   * branch reached the project remote after the response: told once, by that path.
   */
  toldDelivered?: string;
}

export interface Ledger {
  session: string;
  /** The Claude Code process that ran the session (CLAUDE_PID): how `/clear` finds it when its process noted no session (adoptFromProcess). */
  claudePid?: number;
  tasks: LedgerTask[];
}

/** Claude Code's session ids are UUIDs; anything else (a remote call's `served:...`) is not recorded. */
const SESSION_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{7,127}$/;
/** A session that dispatched more keeps its newest tasks; the oldest already told go first. */
const MAX_TASKS = 500;
/** Ledgers of sessions not heard from for this long are removed when a session starts. */
const KEEP_MS = 30 * 24 * 3600 * 1000;
/**
 * How long a session waits for the push of a task it was told had not reached the project remote. Such a task is
 * normally archived within a day (archiveAfter), and then settled by one archive lookup; this bounds what a ledger
 * costs its hooks (each one reads the bus while it waits) when it is not, or the push never lands.
 */
export const AWAIT_PUSH_MS = 7 * 24 * 3600 * 1000;

export function validSession(id: string | undefined | null): id is string {
  return typeof id === 'string' && SESSION_RE.test(id);
}

export function sessionsDir(home: string): string {
  return join(home, 'claude', 'sessions');
}

export function ledgerPath(home: string, session: string): string {
  return join(sessionsDir(home), `${session}.json`);
}

/** The session's ledger, or null when it has none (a session that never dispatched: the common, cheap case). */
export function readLedger(home: string, session: string): Ledger | null {
  const file = ledgerPath(home, session);
  if (!existsSync(file)) return null;
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<Ledger>;
    const tasks = Array.isArray(raw.tasks) ? raw.tasks.filter((t): t is LedgerTask => typeof t?.id === 'string' && typeof t.title === 'string' && typeof t.at === 'string') : [];
    return { session, ...(typeof raw.claudePid === 'number' ? { claudePid: raw.claudePid } : {}), tasks };
  } catch {
    // Half-written by a crash (it is replaced atomically, so only by a crash before the rename): start again.
    return { session, tasks: [] };
  }
}

/**
 * Read-modify-write of one session's ledger under a short lock: a hook of the session and a `dispatch` of the same
 * session may run at once.
 */
export function updateLedger(home: string, session: string, change: (l: Ledger) => Ledger): Ledger {
  mkdirSync(sessionsDir(home), { recursive: true });
  const file = ledgerPath(home, session);
  return withLocalLockSync(`${file}.lock`, () => {
    const next = change(readLedger(home, session) ?? { session, tasks: [] });
    writeFileAtomicSync(file, `${JSON.stringify(trim(next), null, 2)}\n`);
    return next;
  });
}

function trim(l: Ledger): Ledger {
  if (l.tasks.length <= MAX_TASKS) return l;
  const drop = new Set(l.tasks.filter((t) => t.told !== undefined).slice(0, l.tasks.length - MAX_TASKS).map((t) => t.id));
  const kept = l.tasks.filter((t) => !drop.has(t.id));
  return { ...l, tasks: kept.slice(-MAX_TASKS) };
}

/** Records tasks dispatched by the session; `told` marks those whose end the dispatch itself already showed. */
export function recordDispatch(home: string, session: string, tasks: { id: string; title: string; told?: TaskState }[], cwd: string, claudePid?: number, now: Date = new Date()): void {
  if (!validSession(session) || tasks.length === 0) return;
  updateLedger(home, session, (l) => {
    if (claudePid !== undefined) l = { ...l, claudePid };
    const known = new Map(l.tasks.map((t) => [t.id, t]));
    for (const t of tasks) {
      const entry: LedgerTask = { id: t.id, title: t.title, at: now.toISOString(), cwd, ...(t.told ? { told: t.told } : {}) };
      known.set(t.id, { ...known.get(t.id), ...entry });
    }
    return { ...l, tasks: [...known.values()] };
  });
}

/** What the session was told of one task: its end, whether its branch was on the project remote then, and the delivery that says it is now. */
export interface Told {
  state: TaskState;
  awaitsPush?: boolean;
  delivered?: string;
}

/** Marks tasks as told: their final state, and a delivery told of (then or later). */
export function markTold(home: string, session: string, told: Map<string, Told>, now: Date = new Date()): void {
  if (told.size === 0) return;
  updateLedger(home, session, (l) => ({
    ...l,
    tasks: l.tasks.map((t) => {
      const k = told.get(t.id);
      if (!k) return t;
      const { awaitsPush: _a, ...rest } = t;
      const next: LedgerTask = { ...rest, told: k.state, toldAt: t.toldAt ?? now.toISOString(), ...(k.delivered !== undefined ? { toldDelivered: k.delivered } : {}) };
      return k.awaitsPush && next.toldDelivered === undefined ? { ...next, awaitsPush: true } : next;
    }),
  }));
}

/**
 * Ends the wait for the push of these tasks: each left main for the archive without a delivery (none is written once
 * a task left main, docs/PROTOCOL.md §3a), or is neither on main nor in the archive.
 */
export function stopAwaitingPush(home: string, session: string, ids: readonly string[]): void {
  if (ids.length === 0) return;
  const settled = new Set(ids);
  updateLedger(home, session, (l) => ({
    ...l,
    tasks: l.tasks.map((t) => {
      if (!settled.has(t.id) || t.awaitsPush === undefined) return t;
      const { awaitsPush: _a, ...rest } = t;
      return rest;
    }),
  }));
}

/** Whether a hook still has news to look for about a task: its end, or the later push of its branch (for a week). */
export function stillNews(t: LedgerTask, now: number = Date.now()): boolean {
  return t.told === undefined || awaitsPush(t, now);
}

/** Told of its end with its branch not pushed, no delivery told since, and not longer ago than AWAIT_PUSH_MS. */
export function awaitsPush(t: LedgerTask, now: number = Date.now()): boolean {
  if (t.told === undefined || t.awaitsPush !== true || t.toldDelivered !== undefined) return false;
  // A ledger written before `toldAt` was: counted from the dispatch, which is earlier, so it ends no later.
  const since = Date.parse(t.toldAt ?? t.at);
  return !(now - since > AWAIT_PUSH_MS);
}

/** The note of which session a Claude Code process runs now: `<pid>.process` beside the ledgers, the session's id. */
function processNotePath(home: string, claudePid: number): string {
  return join(sessionsDir(home), `${claudePid}.process`);
}

/**
 * Notes that the Claude Code process `claudePid` runs `session` now (every SessionStart: startup, resume, clear,
 * compact), so that a `/clear` in it knows the one session it leaves. A process id is used again once its process
 * is gone: the next process's own SessionStart writes over the note of the last one.
 */
export function noteProcessSession(home: string, claudePid: number, session: string): void {
  if (!validSession(session)) return;
  try {
    mkdirSync(sessionsDir(home), { recursive: true });
    writeFileAtomicSync(processNotePath(home, claudePid), `${session}\n`);
  } catch {
    // A note that cannot be written (a full disk, a read-only home, a file where the folder goes) costs only a later
    // /clear's precision (adoptFromProcess falls back to the ledgers' pid): every session start must still answer.
  }
}

/** The session the process last noted (noteProcessSession), or null when none was. */
export function sessionOfProcess(home: string, claudePid: number): string | null {
  try {
    const session = readFileSync(processNotePath(home, claudePid), 'utf8').trim();
    return validSession(session) ? session : null;
  } catch {
    return null;
  }
}

/**
 * After `/clear` Claude Code goes on in the same process under a new session id: what the session it left still
 * has news of (tasks not ended or not told yet, and those told whose push it still waits for) moves to the new one,
 * so that its hooks tell the person. The session left is the one the process last noted; only a process whose
 * earlier SessionStart noted none (it ran before gitbus noted them) falls back to every ledger that names the
 * process id, which may be a gone process's that had the same id.
 */
export function adoptFromProcess(home: string, session: string, claudePid: number): string[] {
  const left = sessionOfProcess(home, claudePid);
  const from = left !== null ? (left === session ? [] : [left]) : sessionsOfPid(home, session, claudePid);
  const adopted: string[] = [];
  for (const old of from) {
    if (!existsSync(ledgerPath(home, old))) continue;
    // Under the old ledger's lock: a hook of the old session (its background waiter) cannot tell a task meanwhile.
    updateLedger(home, old, (theirs) => {
      const moving = theirs.tasks.filter((t) => stillNews(t));
      if (moving.length === 0) return theirs;
      updateLedger(home, session, (mine) => {
        const have = new Set(mine.tasks.map((t) => t.id));
        return { ...mine, claudePid, tasks: [...mine.tasks, ...moving.filter((t) => !have.has(t.id))] };
      });
      adopted.push(...moving.map((t) => t.id));
      return { ...theirs, tasks: theirs.tasks.filter((t) => !stillNews(t)) };
    });
  }
  return adopted;
}

/** The sessions other than `session` whose ledgers name the process id. */
function sessionsOfPid(home: string, session: string, claudePid: number): string[] {
  let names: string[];
  try {
    names = readdirSync(sessionsDir(home)).filter((n) => n.endsWith('.json') && n !== `${session}.json`);
  } catch {
    return [];
  }
  return names.map((n) => n.slice(0, -'.json'.length)).filter((old) => readLedger(home, old)?.claudePid === claudePid);
}

/** Removes ledgers (and waiter marks, process notes) untouched for a month. Cheap: one listing. */
export function pruneLedgers(home: string, now: number = Date.now()): void {
  const dir = sessionsDir(home);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const file = join(dir, name);
    try {
      if (now - statSync(file).mtimeMs > KEEP_MS) rmSync(file, { force: true });
    } catch {
      // Removed by another process meanwhile.
    }
  }
}
