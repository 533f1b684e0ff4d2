import { existsSync } from 'node:fs';
import { openBus, type BusContext } from '../bus/context.js';
import { homeHasNode, homePaths } from '../bus/home.js';
import { localSnapshot } from '../bus/ops/query.js';
import type { TaskState } from '../bus/model/types.js';
import { withArchivedPushes } from './archived-facts.js';
import { endedLine, endedText, newsOf, waitingLine, waitingText, type News, type TaskFact } from './hear-back.js';
import type { HookEvent, HookInput } from './hook-input.js';
import { blockInstalled, busFacts, rulesText, workerFacts } from './primer.js';
import { factsOf } from './session-facts.js';
import { currentEnough } from './freshness.js';
import { adoptFromProcess, markTold, noteProcessSession, pruneLedgers, readLedger, stillNews, validSession, type Ledger, type Told } from './session-ledger.js';

/** What one run of a hook prints: a JSON document on stdout (or nothing), and its exit code. */
export interface HookResult {
  output: Record<string, unknown> | null;
  exitCode: number;
  stderr?: string;
}

const SILENT: HookResult = { output: null, exitCode: 0 };

/**
 * The hooks of a Claude Code session (claude-plugin/hooks/hooks.json). They read this node's clone, which the
 * node's watcher (or any gitbus command) keeps current; only when the session still waits for tasks and no
 * watcher runs for this home do they list the remote, once, within a few seconds (claude/freshness.ts). A session
 * that never dispatched costs one missing-file check.
 *
 * - SessionStart: the bus in a few lines (who this node is, what the others offer), the rules when no CLAUDE.md
 *   holds gitbus's block, what the session still waits for (after a resume, /clear or a compaction).
 * - UserPromptSubmit: the tasks the session dispatched that ended since it last heard, as additionalContext.
 * - Stop: the same, as Stop's additionalContext, which lets Claude go on to act on them once; when the session
 *   already goes on because of a Stop hook (stop_hook_active) it only tells the person, and Claude hears at the
 *   next prompt, so a stop is never held twice. Tasks still running: a line for the person, nothing that holds
 *   the stop.
 */
export async function runHook(event: Exclude<HookEvent, 'wait'>, input: HookInput | null, home: string, env: NodeJS.ProcessEnv = process.env): Promise<HookResult> {
  if (!input || !validSession(input.session_id)) return SILENT;
  const session = input.session_id;
  if (event === 'session-start') return sessionStart(input, home, env);
  const ledger = readLedger(home, session);
  if (!ledger || !ledger.tasks.some((t) => stillNews(t))) return SILENT;
  const news = await withClone(home, async (ctx) => {
    let facts = await factsOf(ctx, await localSnapshot(ctx), ledger);
    // Tasks still out there: the clone may be behind when no watcher keeps it current, so look once.
    if (newsOf(ledger, facts).waiting.length > 0) facts = await factsOf(ctx, await currentEnough(ctx, true), ledger);
    return newsOf(ledger, await withArchivedPushes(ctx, ledger, facts));
  });
  if (!news) return SILENT;
  const told = news.ended.length + news.landed.length > 0;
  if (event === 'user-prompt-submit') {
    if (!told) return SILENT;
    tell(home, session, news.ended, news.landed, ledger);
    return { output: { systemMessage: endedLine(news.ended, news.landed), hookSpecificOutput: { hookEventName: 'UserPromptSubmit', additionalContext: endedText(news.ended, news.waiting, news.landed) } }, exitCode: 0 };
  }
  if (told) {
    if (input.stop_hook_active === true) return { output: { systemMessage: `${endedLine(news.ended, news.landed)}; Claude hears of it at your next prompt` }, exitCode: 0 };
    tell(home, session, news.ended, news.landed, ledger);
    return { output: { systemMessage: endedLine(news.ended, news.landed), hookSpecificOutput: { hookEventName: 'Stop', additionalContext: endedText(news.ended, news.waiting, news.landed) } }, exitCode: 0 };
  }
  if (news.waiting.length > 0) return { output: { systemMessage: waitingLine(news.waiting) }, exitCode: 0 };
  return SILENT;
}

async function sessionStart(input: HookInput, home: string, env: NodeJS.ProcessEnv): Promise<HookResult> {
  const session = input.session_id;
  const worker = workerFacts(env);
  const parts: string[] = [];
  const facts = await withClone(home, async (ctx) => {
    pruneLedgers(home);
    const pid = Number(env['CLAUDE_PID']);
    if (Number.isSafeInteger(pid) && pid > 0) {
      if (input.source === 'clear') adoptFromProcess(home, session, pid);
      noteProcessSession(home, pid, session);
    }
    const ledger = readLedger(home, session);
    const snap = await currentEnough(ctx, Boolean(ledger?.tasks.some((t) => stillNews(t))));
    const news: News = ledger ? newsOf(ledger, await withArchivedPushes(ctx, ledger, await factsOf(ctx, snap, ledger))) : { ended: [], landed: [], waiting: [] };
    return { bus: busFacts(ctx.config.node, ctx.repo.transport.display, await snap.nodes()), news, ledger };
  });
  if (!facts) return SILENT;
  parts.push(facts.bus);
  if (!blockInstalled(input.cwd, env)) parts.push(rulesText().trim());
  if (worker) parts.push(worker);
  if (facts.news.ended.length + facts.news.landed.length > 0) {
    parts.push(endedText(facts.news.ended, facts.news.waiting, facts.news.landed));
    tell(home, session, facts.news.ended, facts.news.landed, facts.ledger);
  } else if (facts.news.waiting.length > 0) {
    parts.push(waitingText(facts.news.waiting));
  }
  return { output: { hookSpecificOutput: { hookEventName: 'SessionStart', additionalContext: parts.join('\n\n') } }, exitCode: 0 };
}

/** Marks what the session was just told: each end (and whether its branch was still to be pushed), each delivery. */
export function tell(home: string, session: string, ended: TaskFact[], landed: TaskFact[] = [], ledger: Ledger | null = null): void {
  const before = new Map((ledger?.tasks ?? []).map((t) => [t.id, t.told]));
  markTold(home, session, new Map([...toldOf(ended), ...landed.flatMap((f): [string, Told][] => {
    const state = before.get(f.id);
    return state === undefined || f.delivered === undefined ? [] : [[f.id, { state, delivered: f.delivered }]];
  })]));
}

/** What telling these ended tasks marks in a ledger. Pure. */
export function toldOf(ended: readonly TaskFact[]): [string, Told][] {
  return ended.map((f) => [f.id, { state: f.state as TaskState, ...(f.awaitsPush ? { awaitsPush: true } : {}), ...(f.delivered !== undefined ? { delivered: f.delivered } : {}) }]);
}

/**
 * Runs `fn` on this node's bus, or returns null when this home has no node or no clone yet: a hook says nothing
 * rather than clone or fail. Only local files are read: opening a bus does not contact the remote.
 */
export async function withClone<T>(home: string, fn: (ctx: BusContext) => Promise<T>): Promise<T | null> {
  if (!homeHasNode(home) || !existsSync(homePaths(home).clone)) return null;
  const ctx = await openBus(home);
  try {
    return await fn(ctx);
  } finally {
    await ctx.repo.close();
  }
}

