import { z } from 'zod';
import {
  attemptSchema,
  nodeNameSchema,
  protocolSchema,
  reasonSchema,
  runnerSchema,
  taskIdSchema,
  text,
} from './fields.js';
import type { FieldViolation } from './kind-rules.js';
import { timestampMs, timestampSchema } from './timestamp.js';
import { projectReportSchema } from './project.js';

export const RESPONSE_STATUSES = ['succeeded', 'failed', 'cancelled', 'timed-out'] as const;
export type ResponseStatus = (typeof RESPONSE_STATUSES)[number];

export const claudeReportSchema = z
  .strictObject({
    sessionId: text({ what: 'a claude session id', maxChars: 200, oneLine: true }).optional(),
    costUsd: z.number().min(0).optional().describe('the cost in US dollars, a number ≥ 0'),
    turns: z.int().min(0).optional().describe('a whole number ≥ 0'),
    model: text({ what: 'a model name', maxChars: 200, oneLine: true }).optional(),
    subtype: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,99}$/)
      .optional()
      .describe('how claude ended, as its result line says: success, error_max_turns, error_max_budget_usd, error_during_execution, ... (lower-case letters, digits and "_")'),
  })
  .describe('what the claude runner reports: {sessionId, costUsd, turns, model, subtype}');

/** Field order here is the order gitbus writes them. */
export const responseSchema = z
  .strictObject({
    protocol: protocolSchema.optional(),
    id: taskIdSchema,
    status: z.enum(RESPONSE_STATUSES).describe(`one of ${RESPONSE_STATUSES.join(', ')}`),
    node: nodeNameSchema,
    attempt: attemptSchema.optional(),
    finished: timestampSchema,
    started: timestampSchema.optional(),
    exitCode: z.int().nullable().optional().describe('a whole number, or null'),
    runner: runnerSchema.optional(),
    durationMs: z.int().min(0).optional().describe('a whole number of milliseconds ≥ 0'),
    reason: reasonSchema.optional(),
    claude: claudeReportSchema.optional(),
    project: projectReportSchema.optional(),
  })
  .describe('a response: responses/<id>.md, how the task ended');

export type TaskResponse = z.infer<typeof responseSchema>;
export type ClaudeReport = z.infer<typeof claudeReportSchema>;

export function responseRules(r: TaskResponse): FieldViolation[] {
  const started = r.started === undefined ? undefined : timestampMs(r.started);
  const finished = timestampMs(r.finished);
  if (started !== undefined && finished !== undefined && started > finished) {
    return [{ field: 'started', reason: `the run started (${r.started}) after it finished (${r.finished})`, fix: 'check both times', severity: 'warning' }];
  }
  return [];
}
