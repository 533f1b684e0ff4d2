import { z } from 'zod';
import type { TaskState } from '../bus/model/types.js';
import { text } from '../schemas/fields.js';

/**
 * The pieces the tools' input and output schemas share. Fields that the bus's own files have (a handoff's title,
 * a response's status) come from schemas/ itself; what is here describes the ops' results (bus/ops), which are
 * TypeScript interfaces, so that a tool's result is checked against its schema at compile time (mcp/tool.ts).
 * Results are plain objects, whose JSON Schema leaves other properties open (mcp/listing.ts): a field an op
 * gains later passes through instead of failing the client's check.
 */

/** Every state, keyed so that the compiler notices a state added to bus/model/types.ts. */
const STATES: Record<TaskState, true> = {
  pending: true,
  blocked: true,
  claimed: true,
  cancelling: true,
  succeeded: true,
  failed: true,
  cancelled: true,
  'timed-out': true,
  invalid: true,
  unsupported: true,
  scheduled: true,
};
export const TASK_STATES = Object.keys(STATES) as [TaskState, ...TaskState[]];
export const taskStateSchema = z.enum(TASK_STATES).describe(`a task state: one of ${TASK_STATES.join(', ')}`);

/** How the CLI's commands take a task: the id, or enough of its start or end to be unique. */
export const taskRefSchema = text({ what: 'a task id, or a unique prefix or suffix of it', maxChars: 100, oneLine: true });

export const offlineSchema = z
  .object({ code: z.string(), reason: z.string(), lastContact: z.string().nullable() })
  .nullable()
  .describe('set when the remote could not be reached: what is shown is the bus as this node last saw it');

export const fileProblemSchema = z.object({
  path: z.string(),
  field: z.string(),
  reason: z.string(),
  fix: z.string(),
  severity: z.enum(['error', 'warning']),
});

/** bus/ops/query.ts TaskSummary. */
export const taskSummarySchema = z.object({
  id: z.string(),
  state: taskStateSchema,
  title: z.string().nullable(),
  from: z.string().nullable(),
  created: z.string().nullable(),
  to: z.string().nullable(),
  labels: z.array(z.string()),
  runner: z.string().nullable(),
  priority: z.number(),
  attempts: z.number(),
  claim: z.object({ attempt: z.number(), node: z.string().nullable() }).nullable(),
  response: z.object({ status: z.string(), node: z.string(), finished: z.string() }).nullable(),
  waitingFor: z.array(z.string()),
  waitingOn: z.array(z.object({ id: z.string(), state: z.string() })),
  problems: z.array(fileProblemSchema),
  branch: z.string().nullable(),
  group: z.string().nullable(),
});

export const maxCharsSchema = (dflt: number) =>
  z.int().min(0).max(1_000_000).optional().describe(`how many characters of output to return at most, from its end (default ${dflt})`);

/** The last `max` characters of `text`, from a line start when one is near. Pure. */
export function tail(full: string, max: number): { text: string; truncated: boolean } {
  if (full.length <= max) return { text: full, truncated: false };
  const cut = full.slice(full.length - max);
  const nl = cut.indexOf('\n');
  return { text: nl >= 0 && nl < 200 ? cut.slice(nl + 1) : cut, truncated: true };
}
