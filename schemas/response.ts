import { z } from './zod.js';
import {
  attemptSchema,
  nodeNameSchema,
  protocolSchema,
  reasonSchema,
  runnerSchema,
  taskIdSchema,
  text,
} from './fields.js';
import { MAX_COST_USD, RESPONSE_STATUSES } from './response-fields.js';
import { timestampSchema } from './timestamp-schema.js';
import { projectReportSchema } from './project-schema.js';

export { costCounts, MAX_COST_USD, RESPONSE_STATUSES, responseRules, type ResponseStatus } from './response-fields.js';

export const claudeReportSchema = z.strictObject({
  sessionId: z.optional(text({ what: 'a claude session id', maxChars: 200, oneLine: true })),
  costUsd: z.optional(z.number().check(z.minimum(0))).register(z.globalRegistry, { description: `the cost in US dollars, a number ≥ 0 (above ${MAX_COST_USD}: a warning, and readers count it as unknown)` }),
  turns: z.optional(z.int().check(z.minimum(0))).register(z.globalRegistry, { description: 'a whole number ≥ 0' }),
  model: z.optional(text({ what: 'a model name', maxChars: 200, oneLine: true })),
  subtype: z.optional(z.string().check(z.regex(/^[a-z][a-z0-9_]{0,99}$/))).register(z.globalRegistry, { description: 'how claude ended, as its result line says: success, error_max_turns, error_max_budget_usd, error_during_execution, ... (lower-case letters, digits and "_")' }),
}).register(z.globalRegistry, { description: 'what the claude runner reports: {sessionId, costUsd, turns, model, subtype}' });

/** Field order here is the order gitbus writes them. */
export const responseSchema = z.strictObject({
  protocol: z.optional(protocolSchema),
  id: taskIdSchema,
  status: z.enum(RESPONSE_STATUSES).register(z.globalRegistry, { description: `one of ${RESPONSE_STATUSES.join(', ')}` }),
  node: nodeNameSchema,
  attempt: z.optional(attemptSchema),
  finished: timestampSchema,
  started: z.optional(timestampSchema),
  exitCode: z.optional(z.nullable(z.int())).register(z.globalRegistry, { description: 'a whole number, or null' }),
  runner: z.optional(runnerSchema),
  durationMs: z.optional(z.int().check(z.minimum(0))).register(z.globalRegistry, { description: 'a whole number of milliseconds ≥ 0' }),
  reason: z.optional(reasonSchema),
  claude: z.optional(claudeReportSchema),
  project: z.optional(projectReportSchema),
}).register(z.globalRegistry, { description: 'a response: responses/<id>.md, how the task ended' });

export type TaskResponse = z.infer<typeof responseSchema>;
export type ClaudeReport = z.infer<typeof claudeReportSchema>;

