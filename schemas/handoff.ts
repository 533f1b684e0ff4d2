import { z } from './zod.js';
import { cronSchema } from './cron.js';
import { positiveDurationSchema } from './duration-schema.js';
import { labelSchema, nodeNameSchema, personSchema, protocolSchema, runnerSchema, taskIdSchema, text } from './fields.js';
import { COMMAND_RUNNERS, effectiveRunner, MAX_COMMAND_BYTES, MAX_TITLE_CHARS, type RunnerName } from './field-limits.js';
import { withRule } from './rule.js';
import type { FieldViolation } from './kind-rules.js';
import { timestampSchema } from './timestamp-schema.js';
import { MAX_COST_USD } from './response.js';
import { baseSchema, branchSchema, commitSchema, groupNameSchema, repoSchema } from './project-schema.js';

const WORKDIR_RULE =
  'a relative path inside one of the worker\'s work roots: no leading "/" or "~", no ".." part, no backslashes';

/**
 * `workdir` becomes a path on the worker, so it is checked here like an id: content from the repository must never
 * name a place outside the work roots (PROTOCOL.md §8).
 */
const workdirSchema = withRule(text({ what: 'a relative directory', maxChars: 1000, oneLine: true }), (dir) => {
  const escapes =
    dir.startsWith('/') || dir.startsWith('~') || dir.includes('\\') || /^[A-Za-z]:/.test(dir) || dir.split('/').includes('..');
  return escapes ? { reason: `${JSON.stringify(dir)} leaves the work root`, fix: `write ${WORKDIR_RULE}` } : undefined;
}).register(z.globalRegistry, { description: WORKDIR_RULE });

const oneLine = (what: string, maxChars = 200): z.ZodMiniString => text({ what, maxChars, oneLine: true });

/**
 * The largest budget a task may ask claude for: the bound readers put on a reported cost (MAX_COST_USD), more than
 * any run costs. Every node compares a request with its caps, its daily spend and trust rules, so a budget is a
 * finite amount a person could mean, not 1e308 standing for "no limit".
 */
export const MAX_BUDGET_USD = MAX_COST_USD;

export const claudeRequestSchema = z.strictObject({
  model: z.optional(oneLine('a model name, such as sonnet')),
  permissionMode: z.optional(oneLine('a permission mode, such as acceptEdits')),
  allowedTools: z.optional(z.array(oneLine('a tool pattern, such as Bash(git *)'))).register(z.globalRegistry, { description: 'a list of tool patterns' }),
  maxBudgetUsd: z.optional(z.number().check(z.minimum(0), z.maximum(MAX_BUDGET_USD))).register(z.globalRegistry, { description: `a budget in US dollars, a number from 0 to ${MAX_BUDGET_USD}` }),
  maxTurns: z.optional(z.int().check(z.minimum(1), z.maximum(10_000))).register(z.globalRegistry, { description: 'the most agentic turns claude may take, a whole number from 1 to 10000' }),
  resume: z.optional(oneLine('a session id to resume')),
  interactive: z.optional(z.boolean()).register(z.globalRegistry, { description: 'run claude interactively in a tmux session that a person attaches to, watches and steers (true or false)' }),
}).register(z.globalRegistry, { description: 'requests for the claude runner; a node grants less, never more, than its own settings' });

/** Field order here is the order gitbus writes them. */
export const handoffSchema = z.strictObject({
  protocol: z.optional(protocolSchema),
  id: z.optional(taskIdSchema),
  title: text({ what: 'one line saying what to do', maxChars: MAX_TITLE_CHARS, oneLine: true }),
  from: z.optional(personSchema),
  created: z.optional(timestampSchema),
  to: z.optional(nodeNameSchema),
  labels: z.optional(z.array(labelSchema)).register(z.globalRegistry, { description: 'a list of labels' }),
  runner: z.optional(runnerSchema),
  command: z.optional(text({ what: 'a command line for sh -c', maxBytes: MAX_COMMAND_BYTES })),
  workdir: z.optional(workdirSchema),
  repo: z.optional(repoSchema),
  base: z.optional(baseSchema),
  baseCommit: z.optional(commitSchema),
  branch: z.optional(branchSchema),
  autoCommit: z.optional(z.boolean()).register(z.globalRegistry, { description: 'commit what the run left uncommitted before pushing the branch (true or false; default true)' }),
  group: z.optional(groupNameSchema),
  workstream: z.optional(groupNameSchema),
  merge: z.optional(z.array(branchSchema).check(z.maxLength(100))).register(z.globalRegistry, { description: 'branches to merge, in order, into the task branch' }),
  resumes: z.optional(taskIdSchema),
  after: z.optional(z.array(taskIdSchema)).register(z.globalRegistry, { description: 'a list of task ids' }),
  priority: z.optional(z.int().check(z.minimum(-1000), z.maximum(1000))).register(z.globalRegistry, { description: 'a whole number from -1000 to 1000' }),
  timeout: z.optional(positiveDurationSchema),
  schedule: z.optional(cronSchema),
  keep: z.optional(z.boolean()).register(z.globalRegistry, { description: 'true or false' }),
  claude: z.optional(claudeRequestSchema),
}).register(z.globalRegistry, { description: 'a task: handoffs/<id>.md' });

export type Handoff = z.infer<typeof handoffSchema>;
export type ClaudeRequest = z.infer<typeof claudeRequestSchema>;

/** Rules that span fields, which a per-field schema cannot express. `fileId` is the id the file name gives. */
export function handoffRules(h: Handoff, fileId: string | undefined = h.id): FieldViolation[] {
  const out: FieldViolation[] = [];
  const runner = effectiveRunner(h);
  if (COMMAND_RUNNERS.includes(runner) && h.command === undefined) {
    out.push({
      field: 'command',
      reason: `the ${runner} runner needs a command, and there is none`,
      fix: `add "command: <command line>", or set "runner: manual" for a task people or agents claim by hand`,
      severity: 'error',
    });
  }
  if (h.keep !== undefined && runner !== 'tmux') {
    out.push({ field: 'keep', reason: `"keep" only matters for the tmux runner, and this task runs with ${runner}`, fix: 'remove "keep", or set "runner: tmux"', severity: 'warning' });
  }
  if (h.claude !== undefined && runner !== 'claude') {
    out.push({ field: 'claude', reason: `"claude" only matters for the claude runner, and this task runs with ${runner}`, fix: 'remove "claude", or set "runner: claude"', severity: 'warning' });
  }
  out.push(...projectRules(h, runner));
  const seen = new Set<string>();
  h.after?.forEach((dep, i) => {
    if (dep === fileId) {
      out.push({ field: `after.${i}`, reason: 'the task waits for itself, so it could never run', fix: `remove "${dep}" from "after"`, severity: 'error' });
    } else if (seen.has(dep)) {
      out.push({ field: `after.${i}`, reason: `"${dep}" is listed twice`, fix: 'remove the repeated id', severity: 'warning' });
    }
    seen.add(dep);
  });
  return out;
}

const PROJECT_ONLY = ['base', 'baseCommit', 'branch', 'autoCommit', 'merge'] as const;

/** Project work's fields need a `repo`, and the merge runner needs branches to merge (PROTOCOL.md §3a). Pure. */
function projectRules(h: Handoff, runner: RunnerName): FieldViolation[] {
  const out: FieldViolation[] = [];
  if (h.repo === undefined) {
    for (const f of PROJECT_ONLY) {
      if (h[f] !== undefined) out.push({ field: f, reason: `"${f}" only matters for project work, and the task names no "repo"`, fix: 'add "repo: <the project\'s remote>", or remove the field', severity: 'error' });
    }
  }
  if (runner === 'merge') {
    if (h.repo === undefined) out.push({ field: 'repo', reason: 'the merge runner merges branches of a project, and the task names no "repo"', fix: 'add "repo: <the project\'s remote>"', severity: 'error' });
    if (!h.merge?.length) out.push({ field: 'merge', reason: 'the merge runner needs the branches to merge, and there are none', fix: 'add "merge: [branch, ...]"', severity: 'error' });
    if (h.command !== undefined) out.push({ field: 'command', reason: 'the merge runner runs no command', fix: 'remove "command"', severity: 'warning' });
  }
  if (h.workstream !== undefined && h.group === undefined) out.push({ field: 'workstream', reason: '"workstream" names a part of a fan-out, and the task names no "group"', fix: 'add "group: <the fan-out\'s name>", or remove "workstream"', severity: 'warning' });
  if (h.resumes !== undefined && h.repo === undefined && runner !== 'claude') {
    out.push({ field: 'resumes', reason: '"resumes" continues a project task\'s worktree or a claude session, and this task has neither "repo" nor runner claude', fix: 'add the "repo" of the task it resumes, or remove "resumes"', severity: 'error' });
  }
  return out;
}
