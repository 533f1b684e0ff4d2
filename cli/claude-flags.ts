import type { Command } from 'commander';
import { InputError } from '../bus/errors.js';
import { claudeRequestSchema, MAX_BUDGET_USD, type ClaudeRequest, type Handoff } from '../schemas/handoff.js';
import { PERMISSION_MODES } from '../watcher/runners/claude-args.js';
import { intFlag, oneOfFlag, repeatableFlag, schemaFlag } from './flags.js';

/** The flags for a handoff's `claude:` requests (docs/PROTOCOL.md §3), shared by commands that dispatch. */
export interface ClaudeOpts {
  model?: string;
  maxBudgetUsd?: number;
  maxTurns?: number;
  permissionMode?: string;
  allowedTools?: string[];
  interactive?: boolean;
  resumeSession?: string;
}

/** Read when a flag is given: the flags are declared at every start (cli/flags.ts FlagSchema). */
const shape = () => claudeRequestSchema.shape;

/** A dollar amount above zero. */
function usdFlag(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v.trim());
    if (!/^\d*\.?\d+$/.test(v.trim()) || !(n > 0)) throw new InputError(`${flag} ${JSON.stringify(v)} is not valid: it is not an amount above 0`, `give ${flag} US dollars, e.g. ${flag} 2.50`, { flag, value: v });
    // The handoff's bound, said here with the flag rather than as a problem of the handoff dispatch would write.
    if (n > MAX_BUDGET_USD) throw new InputError(`${flag} ${JSON.stringify(v)} is not valid: it is more than ${MAX_BUDGET_USD} US dollars, more than any run costs`, `give ${flag} an amount above 0 and at most ${MAX_BUDGET_USD}, or leave it out for the node's own cap`, { flag, value: v });
    return n;
  };
}

/** `resumeSession: false`: without --resume-session, for a command whose task starts a new session (resolve). */
export function withClaudeFlags(cmd: Command, opts: { resumeSession?: false } = {}): Command {
  const withFlags = cmd
    .option('--model <model>', 'claude: the model, e.g. sonnet or opus (the node may run another; implies --runner claude)', schemaFlag('--model', () => shape().model._zod.def.innerType))
    .option('--max-budget-usd <usd>', "claude: the most the run may spend, in US dollars (the node's caps bound it)", usdFlag('--max-budget-usd'))
    .option('--max-turns <n>', "claude: the most agentic turns the run may take (headless runs; the node's cap bounds it)", intFlag('--max-turns', 1, 10_000))
    .option('--permission-mode <mode>', `claude: ${[...PERMISSION_MODES, 'manual'].join(', ')} (the node may grant a stricter one)`, oneOfFlag('--permission-mode', [...PERMISSION_MODES, 'manual']))
    .option('--allowed-tools <pattern>', 'claude: a tool it may use without asking, e.g. "Bash(git *)" (repeatable; the node grants these at most)', repeatableFlag('--allowed-tools', () => shape().allowedTools._zod.def.innerType._zod.def.element))
    .option('--interactive', 'claude: run it in a tmux session a person attaches to and steers, instead of headless');
  if (opts.resumeSession === false) return withFlags;
  return withFlags
    .option('--resume-session <session>', "claude: continue this claude session id (it must live on the node that runs the task, in the same folder: --resume TASK finds both for a task's session)", schemaFlag('--resume-session', () => shape().resume._zod.def.innerType));
}

/** The `claude:` requests the flags give, or null when none is given. Pure. */
export function claudeFromFlags(opts: ClaudeOpts): ClaudeRequest | null {
  const c: ClaudeRequest = {};
  if (opts.model !== undefined) c.model = opts.model;
  if (opts.permissionMode !== undefined) c.permissionMode = opts.permissionMode;
  if (opts.allowedTools?.length) c.allowedTools = opts.allowedTools;
  if (opts.maxBudgetUsd !== undefined) c.maxBudgetUsd = opts.maxBudgetUsd;
  if (opts.maxTurns !== undefined) c.maxTurns = opts.maxTurns;
  if (opts.resumeSession !== undefined) c.resume = opts.resumeSession;
  if (opts.interactive) c.interactive = true;
  return Object.keys(c).length > 0 ? c : null;
}

/**
 * Puts the flags' requests into the handoff (after `--resume TASK` filled in the session it continues), with the
 * claude runner unless another was asked for, which is refused. Pure apart from the error.
 */
export function applyClaudeFlags(handoff: Omit<Handoff, 'id' | 'from' | 'created'>, opts: ClaudeOpts & { resume?: string }): void {
  const c = claudeFromFlags(opts);
  if (c === null) return;
  if (handoff.runner !== undefined && handoff.runner !== 'claude') {
    throw new InputError(`the claude flags (--model, --max-budget-usd, --max-turns, --permission-mode, --allowed-tools, --interactive, --resume-session) are for the claude runner, and --runner is ${handoff.runner}`, 'leave --runner out (the flags imply --runner claude), or leave the claude flags out', { flag: '--runner' });
  }
  if (c.resume !== undefined && opts.resume !== undefined) {
    throw new InputError('--resume-session and --resume both name a session to continue', `give one: --resume TASK continues that task's session on its node, --resume-session ID a session id you know`, { flag: '--resume-session' });
  }
  if (handoff.command !== undefined && handoff.runner === undefined) {
    throw new InputError('--command with the claude flags: claude runs the task text as its prompt, not a command', 'leave --command out, or the claude flags', { flag: '--command' });
  }
  handoff.runner = 'claude';
  handoff.claude = { ...handoff.claude, ...c };
}
