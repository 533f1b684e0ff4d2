import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { homedir } from '../../bus/user-home-dir.js';
import { dirname, join } from 'node:path';
import type { ClaudeReport } from '../../schemas/response.js';
import { claudePrompt, type ClaudeInvocation } from './claude-args.js';
import type { RunOutcome, RunRequest } from './runner.js';
import { tmuxRunner } from './tmux.js';

/** How often the watcher reads what claude's status line last reported. */
const WATCH_MS = 1_000;
/** A transcript with an answer and no status line report for this long: the status line is not running. */
const SILENT_STATUS_MS = 5_000;

/** The flags `claude -p` needs that an interactive session must not get. */
const HEADLESS_FLAGS = ['--print', '--output-format', 'stream-json', '--verbose'];

/** What an interactive run is given, from the headless command line: the same grants, minus what only -p honours. */
export interface InteractiveArgs {
  args: string[];
  /** The run's budget: claude ignores --max-budget-usd without -p, so gitbus holds it (see runInteractive). */
  budgetUsd?: number;
  notes: string[];
}

/**
 * The interactive command line from the headless one (claude-args.ts builds both from the same grants). Without
 * -p, Claude Code 2.1.332 accepts but ignores `--max-budget-usd` and `--max-turns`: the budget is dropped from the
 * command line and held by the watcher instead; a turn limit does not apply to a session a person steers, and
 * the log says so. `--settings` (the status line that reports session and cost) goes before `--allowedTools`,
 * which takes every argument after it. Pure.
 */
export function interactiveArgs(headless: string[], statusCommand: string): InteractiveArgs {
  const rest = headless.slice(HEADLESS_FLAGS.length);
  const args: string[] = [];
  const notes: string[] = [];
  let budgetUsd: number | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a === '--max-budget-usd') budgetUsd = Number(rest[++i]);
    else if (a === '--max-turns') notes.push(`a turn limit (${rest[++i]}) applies to headless runs only; this interactive session is steered by a person`);
    else args.push(a);
  }
  const settings = ['--settings', JSON.stringify({ statusLine: { type: 'command', command: statusCommand } })];
  const tools = args.indexOf('--allowedTools');
  if (tools < 0) args.push(...settings);
  else args.splice(tools, 0, ...settings);
  return { args, ...(budgetUsd !== undefined && Number.isFinite(budgetUsd) ? { budgetUsd } : {}), notes };
}

/** What claude's status line is given on stdin (Claude Code's statusLine command): the fields gitbus reads. */
export interface StatusFacts {
  sessionId?: string;
  costUsd?: number;
  model?: string;
  transcriptPath?: string;
}

/** The status line's JSON as facts; anything unexpected is left out. Pure. */
export function statusFacts(text: string): StatusFacts | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof doc !== 'object' || doc === null) return null;
  const d = doc as Record<string, unknown>;
  const cost = d['cost'] as Record<string, unknown> | undefined;
  const model = d['model'] as Record<string, unknown> | undefined;
  const out: StatusFacts = {};
  if (typeof d['session_id'] === 'string') out.sessionId = d['session_id'];
  if (typeof cost?.['total_cost_usd'] === 'number' && Number.isFinite(cost['total_cost_usd']) && cost['total_cost_usd'] >= 0) out.costUsd = cost['total_cost_usd'];
  if (typeof model?.['id'] === 'string') out.model = model['id'];
  if (typeof d['transcript_path'] === 'string') out.transcriptPath = d['transcript_path'];
  return out;
}

/**
 * Where Claude Code keeps a session's transcript: `<config dir>/projects/<cwd, every character but letters and
 * digits made "-">/<session>.jsonl`. Pure.
 */
export function transcriptPath(cwd: string, session: string, env: NodeJS.ProcessEnv = process.env): string {
  const config = env['CLAUDE_CONFIG_DIR'] && env['CLAUDE_CONFIG_DIR'] !== '' ? env['CLAUDE_CONFIG_DIR'] : join(homedir(), '.claude');
  return join(config, 'projects', cwd.replace(/[^a-zA-Z0-9]/g, '-'), `${session}.jsonl`);
}

/**
 * Interactive mode: claude as a person would start it, in a tmux session (`tmux attach -t gitbus-<id>`) where a
 * person watches and steers it, trust and permission dialogs included; the task ends when claude exits. The
 * node's grants apply as in headless runs.
 *
 * Claude prints no result object in this mode, so what the response records comes from elsewhere: the session id
 * is fixed up front (`--session-id` from the claim, or `--resume`), and the cost, model and session are what
 * claude's status line reports. gitbus gives the session a status line command (`--settings`) that stores the JSON
 * claude hands it after every answer; the watcher reads it each second. That is also how the budget holds: claude
 * honours `--max-budget-usd` only with -p, so the watcher stops the session once the reported cost reaches the
 * budget (at most one answer over it, as with -p). A session whose status line never reports (a managed setting
 * that turns custom status lines off) while its transcript shows answers is stopped too, since its spending cannot
 * be seen.
 */
export async function runInteractive(req: RunRequest, abort: AbortSignal, binary: string, invocation: ClaudeInvocation): Promise<RunOutcome> {
  const base = req.logPath.replace(/\.log$/, '');
  const files = { prompt: `${req.logPath}.prompt`, status: `${base}.claude-status.json`, script: `${base}.statusline.sh` };
  mkdirSync(dirname(req.logPath), { recursive: true });
  for (const f of [files.status, `${files.status}.tmp`]) rmSync(f, { force: true });
  writeFileSync(files.prompt, claudePrompt(req.handoff.title, req.body));
  writeFileSync(files.script, statusScript(req.id, files.status));
  const { args, budgetUsd, notes } = interactiveArgs(invocation.argv, `sh ${shq(files.script)}`);
  const log = openSync(req.logPath, 'a');
  writeSync(log, `gitbus: interactive: ${binary} <prompt> ${args.map(shq).join(' ')}\n`);
  for (const n of [...invocation.notes, ...notes]) writeSync(log, `gitbus: ${n}\n`);
  if (budgetUsd !== undefined) writeSync(log, `gitbus: budget $${budgetUsd}: held by the watcher through claude's status line (claude honours --max-budget-usd only with -p)\n`);
  closeSync(log);

  const session = req.session?.id;
  let status: StatusFacts = {};
  let stopped: string | null = null;
  const stop = new AbortController();
  let silentSince: number | null = null;
  const look = () => {
    const text = readOrNull(files.status);
    const facts = text === null ? null : statusFacts(text);
    if (facts) status = facts;
    if (budgetUsd === undefined || stopped) return;
    if (status.costUsd !== undefined && status.costUsd >= budgetUsd) {
      stopped = `stopped at the budget limit: claude's status line reported $${status.costUsd} spent of the $${budgetUsd} budget; raise claude.maxBudgetUsd (the node's cap bounds it), or resume the session`;
      stop.abort();
    } else if (text === null && session !== undefined && answered(transcriptPath(req.cwd, session))) {
      silentSince ??= Date.now();
      if (Date.now() - silentSince >= SILENT_STATUS_MS) {
        stopped = "stopped: the task has a budget, and claude's status line (which reports the cost) is not running, so its spending cannot be seen (a managed setting such as disableAllHooks turns it off): allow custom status lines on this node, or dispatch the task without a budget or headless";
        stop.abort();
      }
    }
  };
  const timer = setInterval(look, WATCH_MS);
  // The prompt comes first: --allowedTools takes every argument after it.
  const command = `exec ${shq(binary)} "$(cat ${shq(files.prompt)})" ${args.map(shq).join(' ')}`;
  let outcome: RunOutcome;
  try {
    outcome = await tmuxRunner.run({ ...req, handoff: { ...req.handoff, runner: 'tmux', command } }, AbortSignal.any([abort, stop.signal]));
  } finally {
    clearInterval(timer);
    look();
    for (const f of [files.prompt, files.script, files.status, `${files.status}.tmp`]) rmSync(f, { force: true });
  }
  const claude: ClaudeReport = {};
  const sessionId = status.sessionId ?? session;
  if (sessionId !== undefined) claude.sessionId = sessionId;
  if (status.costUsd !== undefined) claude.costUsd = status.costUsd;
  if (status.model !== undefined) claude.model = status.model;
  if (stopped !== null && !abort.aborted) {
    return { ...outcome, status: 'failed', reason: stopped, claude: { ...claude, ...(status.costUsd !== undefined && status.costUsd >= (budgetUsd ?? Infinity) ? { subtype: 'error_max_budget_usd' } : {}) } };
  }
  return { ...outcome, ...(Object.keys(claude).length > 0 ? { claude } : {}) };
}

/** The status line command: stores what claude reports, then shows the task's id in the status line. */
function statusScript(id: string, statusFile: string): string {
  return [
    `# gitbus task ${id}: claude's status line; stores the session and cost claude reports, for the watcher`,
    `cat > ${shq(`${statusFile}.tmp`)} && mv -f ${shq(`${statusFile}.tmp`)} ${shq(statusFile)}`,
    `echo ${shq(`gitbus task ${id}`)}`,
    '',
  ].join('\n');
}

/** Whether a transcript holds an answer from claude (which would have cost something). */
function answered(path: string): boolean {
  if (!existsSync(path)) return false;
  return (readOrNull(path) ?? '').includes('"type":"assistant"');
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** POSIX shell single-quoting. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
