import { z } from '../schemas/zod.js';
import type { TaskState } from '../bus/model/types.js';
import { text } from '../schemas/fields.js';
import { claudeReportSchema } from '../schemas/response.js';

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
export const taskStateSchema = z.enum(TASK_STATES).register(z.globalRegistry, { description: `a task state: one of ${TASK_STATES.join(', ')}` });
/** What `show`, `wait` and `logs` say of a task: its state, or queued (bus/model/types.ts ShownState). */
export const shownStateSchema = z.enum([...TASK_STATES, 'queued']).register(z.globalRegistry, { description: `a task state (${TASK_STATES.join(', ')}), or queued: dispatched on this node while the remote could not be reached, sent at the next contact` });

/** How the CLI's commands take a task: the id, or enough of its start or end to be unique. */
export const taskRefSchema = text({ what: 'a task id, or a unique prefix or suffix of it', maxChars: 100, oneLine: true });

export const offlineSchema = z.nullable(z.object({ code: z.string(), reason: z.string(), lastContact: z.nullable(z.string()) })).register(z.globalRegistry, { description: 'set when the remote could not be reached: what is shown is the bus as this node last saw it' });

export const fileProblemSchema = z.object({
  path: z.string(),
  field: z.string(),
  reason: z.string(),
  fix: z.string(),
  severity: z.enum(['error', 'warning']),
});

/** bus/model/types.ts ForgedFile: a file written in a node's name that this node does not count (a pinned trust root). */
export const forgedFileSchema = z.object({
  path: z.string(),
  kind: z.enum(['claim', 'release', 'response', 'delivery', 'node']),
  id: z.optional(z.string()).register(z.globalRegistry, { description: 'the task it belongs to (none for a node card)' }),
  node: z.nullable(z.string()).register(z.globalRegistry, { description: 'the node it names, when it parses' }),
  reason: z.string(),
  fix: z.string(),
});

/** bus/ops/task-summary.ts TaskSummary. */
/** A node's verdict on a task's handoff, as `show` gives it (`trust`) and `status` with an untrusted task (`trustVerdict`). */
export const trustVerdictSchema = z.object({
  version: z.number(),
  trusted: z.boolean(),
  reason: z.string(),
  fix: z.optional(z.string()),
  signer: z.optional(z.object({ principals: z.array(z.string()), fingerprint: z.string() })),
  notForThisNode: z.optional(z.literal(true)),
});

/** A claimed task's result held by its holder for the project remote (its heartbeat's `delivering`, docs/PROTOCOL.md §5a). */
export const deliveringSchema = z
  .object({ since: z.string(), reason: z.string() })
  .register(z.globalRegistry, { description: "set while the task is claimed but its run has ended on its node, and its result waits there for the project remote (an outage, ten minutes at most) before it goes out: since when the push fails, and why. The state stays claimed; it goes out when the remote answers" });

export const taskSummarySchema = z.object({
  id: z.string(),
  state: taskStateSchema,
  title: z.nullable(z.string()),
  from: z.nullable(z.string()),
  created: z.nullable(z.string()),
  to: z.nullable(z.string()),
  labels: z.array(z.string()),
  runner: z.nullable(z.string()),
  priority: z.number(),
  attempts: z.number(),
  claim: z.nullable(z.object({ attempt: z.number(), node: z.nullable(z.string()) })),
  response: z.nullable(z.object({ status: z.string(), node: z.string(), finished: z.string() })),
  waitingFor: z.array(z.string()),
  waitingOn: z.array(z.object({ id: z.string(), state: z.string() })),
  problems: z.array(fileProblemSchema),
  repo: z.nullable(z.string()).register(z.globalRegistry, { description: "a project task's repository, as its handoff names it" }),
  branch: z.nullable(z.string()),
  group: z.nullable(z.string()),
  exhausted: z.boolean().register(z.globalRegistry, { description: 'pending with every attempt used: no node may claim it, and the next watcher answers it failed' }),
  claude: z.nullable(claudeReportSchema).register(z.globalRegistry, { description: "a claude task's facts from its response (null before it ends, or for other runners)" }),
  progress: z.nullable(z.object({ text: z.string(), at: z.string() })).register(z.globalRegistry, { description: 'the latest progress its agent posted while it runs' }),
});

export const maxCharsSchema = (dflt: number, more = '') =>
  z.optional(z.int().check(z.minimum(0), z.maximum(1_000_000))).register(z.globalRegistry, { description: `how many characters of output to return at most, from its end (default ${dflt})${more}` });

/**
 * The last `max` characters of `text`, from a line start when one is near. A last line longer than `max` is given
 * as its end (from after its own line break there would be nothing), and a character the cut split (an emoji's
 * second half, a lone surrogate that JSON carries but UTF-8 cannot) is left out. Pure.
 */
export function tail(full: string, max: number): { text: string; truncated: boolean } {
  if (full.length <= max) return { text: full, truncated: false };
  let cut = full.slice(full.length - max);
  if (/^[\uDC00-\uDFFF]/.test(cut)) cut = cut.slice(1);
  const nl = cut.indexOf('\n');
  return { text: nl >= 0 && nl < 200 && nl + 1 < cut.length ? cut.slice(nl + 1) : cut, truncated: true };
}
