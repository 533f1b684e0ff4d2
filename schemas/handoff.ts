import { z } from './zod.js';
import { cronSchema } from './cron.js';
import { positiveDurationSchema } from './duration-schema.js';
import { labelSchema, nodeNameSchema, personSchema, protocolSchema, runnerSchema, taskIdSchema, text } from './fields.js';
import { withRule } from './rule.js';
import { COMMAND_TEXT, TITLE_TEXT, WORKDIR_RULE, WORKDIR_TEXT, workdirViolation } from './handoff-fields.js';
import { timestampSchema } from './timestamp-schema.js';
import { MAX_COST_USD } from './response.js';
import { baseSchema, branchSchema, commitSchema, groupNameSchema, repoSchema } from './project-schema.js';

/**
 * `workdir` becomes a path on the worker, so it is checked here like an id: content from the repository must never
 * name a place outside the work roots (PROTOCOL.md §8).
 */
const workdirSchema = withRule(text(WORKDIR_TEXT), workdirViolation).register(z.globalRegistry, { description: WORKDIR_RULE });

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
  title: text(TITLE_TEXT),
  from: z.optional(personSchema),
  created: z.optional(timestampSchema),
  to: z.optional(nodeNameSchema),
  labels: z.optional(z.array(labelSchema)).register(z.globalRegistry, { description: 'a list of labels' }),
  runner: z.optional(runnerSchema),
  command: z.optional(text(COMMAND_TEXT)),
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

