import type { NodeConfig } from '../../bus/home.js';
import type { ClaudeRequest } from '../../schemas/handoff.js';

/** What a node grants the claude runner (node.yaml `claude:`); a handoff may ask for less, never more. */
export type ClaudeGrants = NonNullable<NodeConfig['claude']>;

/**
 * Claude Code's permission modes (`claude --help`, 2.1.x), from the strictest to the loosest. plan < default <
 * acceptEdits < bypassPermissions is the documented ladder; `dontAsk` (only pre-approved tools, never a prompt)
 * sits just above plan, and `auto` (a classifier approves what acceptEdits would not) just below bypass.
 */
export const PERMISSION_MODES = ['plan', 'dontAsk', 'default', 'acceptEdits', 'auto', 'bypassPermissions'] as const;
export type PermissionMode = (typeof PERMISSION_MODES)[number];

/** The mode a node grants when its node.yaml names none: looser modes are opted into, like runners. */
export const DEFAULT_GRANTED_MODE: PermissionMode = 'default';

/**
 * Every flag the runner may pass. `test/e2e/claude-cli.test.ts` checks each against the installed CLI's
 * `--help`, so a Claude Code release that renames one fails the tests rather than every task.
 */
export const CLAUDE_FLAGS = ['--print', '--output-format', '--verbose', '--model', '--permission-mode', '--max-budget-usd', '--resume', '--session-id', '--settings', '--allowedTools'] as const;

/**
 * Flags the runner passes that `claude --help` (2.1.332) does not list but the CLI takes: `--max-turns` (print mode
 * only; documented in Claude Code's CLI reference, hidden from --help). `test/e2e/claude-cli.test.ts` checks that the
 * installed CLI accepts each (no "unknown option").
 */
export const CLAUDE_HIDDEN_FLAGS = ['--max-turns'] as const;

/** Below this, what is left of a node's daily cap is not worth starting a run for. */
export const MIN_RUN_BUDGET_USD = 0.01;

export interface ClaudeInvocation {
  /** Arguments after the binary; the prompt goes on standard input. */
  argv: string[];
  /** What was granted differently from what the handoff asked, one line each, for the log. */
  notes: string[];
}

/** Why a task cannot run with these settings, and how to fix it. */
export interface ClaudeRefusal {
  refusal: string;
}

/**
 * The command line for `claude -p` from the handoff's requests and the node's grants. Pure.
 *
 * model: the handoff's only when the node names none or the same one; permissionMode: the stricter of the two;
 * allowedTools: those the node also grants, when it lists any; maxBudgetUsd: the lower; resume: as asked.
 * Output is stream-json (which needs --verbose with -p): each message lands in the log as it happens, and the
 * last line is the same result object `--output-format json` prints.
 */
export function claudeInvocation(asked: ClaudeRequest = {}, granted: ClaudeGrants = {}, session?: string, spend?: SpendLimit): ClaudeInvocation | ClaudeRefusal {
  const argv = ['--print', '--output-format', 'stream-json', '--verbose'];
  const notes: string[] = [];

  for (const [what, value, where] of [
    ['model', asked.model, 'the handoff'],
    ['model', granted.model, 'node.yaml'],
    ['resume', asked.resume, 'the handoff'],
  ] as const) {
    if (value !== undefined && !safeValue(value)) return { refusal: `${where} gives ${what} ${JSON.stringify(value)}, which is not a usable value: write it without a leading "-" or spaces at either end` };
  }

  let model = granted.model ?? asked.model;
  if (granted.model !== undefined && asked.model !== undefined && asked.model !== granted.model) {
    notes.push(`model ${asked.model} asked; this node runs ${granted.model} only`);
    model = granted.model;
  }
  if (model !== undefined) argv.push('--model', model);

  const askedMode = asked.permissionMode === undefined ? undefined : permissionMode(asked.permissionMode);
  if (askedMode === null) return { refusal: unknownMode(asked.permissionMode ?? '', 'the handoff asks for', 'ask for one of them, or leave permissionMode out to get what the node grants') };
  const grantedMode = granted.permissionMode === undefined ? undefined : permissionMode(granted.permissionMode);
  if (grantedMode === null) return { refusal: unknownMode(granted.permissionMode ?? '', "this node's node.yaml grants", 'correct claude.permissionMode in node.yaml') };
  if (askedMode !== undefined || grantedMode !== undefined) {
    const ceiling = grantedMode ?? DEFAULT_GRANTED_MODE;
    const mode = askedMode === undefined ? ceiling : stricter(askedMode, ceiling);
    if (askedMode !== undefined && mode !== askedMode) notes.push(`permission mode ${askedMode} asked; this node grants ${ceiling} at most`);
    argv.push('--permission-mode', mode);
  }

  const budgets = [asked.maxBudgetUsd, granted.maxBudgetUsd].filter((b): b is number => b !== undefined);
  if (budgets.length > 0 || spend !== undefined) {
    const own = budgets.length > 0 ? Math.min(...budgets) : Number.POSITIVE_INFINITY;
    if (!(own > 0)) return { refusal: `the budget is $0 (${granted.maxBudgetUsd === 0 ? "node.yaml's claude.maxBudgetUsd" : "the handoff's claude.maxBudgetUsd"}), so nothing may be spent and claude would refuse to start: give a budget above 0` };
    const left = spend === undefined ? Number.POSITIVE_INFINITY : roundCents(spend.capUsd - spend.spentUsd);
    if (spend !== undefined && left < MIN_RUN_BUDGET_USD) return { refusal: spendRefusal(spend) };
    const budget = Math.min(own, left);
    // The daily cap decides when what is left of it is below the task's own budget.
    const byCap = left < own ? `$${left} is left of this node's daily cap of $${spend?.capUsd}` : null;
    if (asked.maxBudgetUsd !== undefined && budget < asked.maxBudgetUsd) notes.push(`budget $${asked.maxBudgetUsd} asked; ${byCap ?? `this node caps it at $${budget}`}`);
    else if (byCap) notes.push(`budget $${budget}: ${byCap}`);
    argv.push('--max-budget-usd', String(budget));
  }

  const turnLimits = [asked.maxTurns, granted.maxTurns].filter((t): t is number => t !== undefined);
  if (turnLimits.length > 0) {
    const turns = Math.min(...turnLimits);
    if (asked.maxTurns !== undefined && turns < asked.maxTurns) notes.push(`${asked.maxTurns} turns asked; this node caps them at ${turns}`);
    argv.push('--max-turns', String(turns));
  }

  if (asked.resume !== undefined) argv.push('--resume', asked.resume);
  // A new session gets the id its claim recorded, so the bus knows it before the run starts.
  else if (session !== undefined && UUID_RE.test(session)) argv.push('--session-id', session);

  // Last: the flag takes every following argument up to the next option.
  const badTool = [...(asked.allowedTools ?? []), ...(granted.allowedTools ?? [])].find((t) => !safeValue(t));
  if (badTool !== undefined) return { refusal: `the tool pattern ${JSON.stringify(badTool)} is not usable: write it without a leading "-" or spaces at either end, e.g. "Bash(git *)"` };
  const tools = allowedTools(asked.allowedTools, granted.allowedTools);
  const refused = (asked.allowedTools ?? []).filter((t) => !tools.includes(t));
  if (refused.length > 0) notes.push(`tools not granted by this node: ${refused.join(', ')}`);
  if (tools.length > 0) argv.push('--allowedTools', ...tools);

  return { argv, notes };
}

/** A node's daily cap and what its claude runs spent today (UTC), including what running tasks may still spend. */
export interface SpendLimit {
  capUsd: number;
  spentUsd: number;
}

/** Why a claude task cannot start on a node whose daily cap is spent. Pure. */
export function spendRefusal(spend: SpendLimit): string {
  return `this node's claude runs have spent $${roundCents(spend.spentUsd)} of its daily cap of $${spend.capUsd} (claude.maxSpendUsdPerDay in node.yaml) since 00:00 UTC: the task can run on another node, here after midnight UTC, or after the cap is raised`;
}

/** Dollars to the cent, for budgets and messages (claude takes any positive amount). Pure. */
export function roundCents(usd: number): number {
  return Math.floor(usd * 100 + 1e-9) / 100;
}

/** A known mode, `manual` (newer releases' name for `default`) as `default`; null when unknown. Pure. */
export function permissionMode(value: string): PermissionMode | null {
  if (value === 'manual') return 'default';
  return (PERMISSION_MODES as readonly string[]).includes(value) ? (value as PermissionMode) : null;
}

export function stricter(a: PermissionMode, b: PermissionMode): PermissionMode {
  return PERMISSION_MODES.indexOf(a) <= PERMISSION_MODES.indexOf(b) ? a : b;
}

/**
 * The tools the run may use without asking. With a node list, only what it grants: the same pattern, or a
 * narrower use of a tool it grants whole (`Bash(git *)` when the node lists `Bash`). Pure.
 */
export function allowedTools(asked: string[] | undefined, granted: string[] | undefined): string[] {
  if (granted === undefined) return dedupe(asked ?? []);
  if (asked === undefined) return dedupe(granted);
  return dedupe(asked.filter((t) => granted.includes(t) || granted.includes(t.replace(/\(.*\)$/s, ''))));
}

/** What claude is asked to do: the handoff's body, or its title when the body is empty. Pure. */
export function claudePrompt(title: string, body: string): string {
  return body.trim() === '' ? `${title}\n` : body;
}

/** node.yaml's `claude.binary`, else `GITBUS_CLAUDE_BIN`, else `claude` on PATH. Pure. */
export function claudeBinary(granted: ClaudeGrants = {}, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['GITBUS_CLAUDE_BIN'];
  return granted.binary ?? (fromEnv && fromEnv.length > 0 ? fromEnv : 'claude');
}

function unknownMode(value: string, who: string, fix: string): string {
  return `${who} permission mode ${JSON.stringify(value)}, which is not one claude knows (${PERMISSION_MODES.join(', ')}): ${fix}`;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function safeValue(v: string): boolean {
  return v.length > 0 && !v.startsWith('-') && v.trim() === v;
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs)];
}
