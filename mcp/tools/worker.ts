import { z } from '../../schemas/zod.js';
import { NothingClaimableError } from '../../bus/errors.js';
import { claim } from '../../bus/ops/claim.js';
import { respond } from '../../bus/ops/respond.js';
import { cutSections, givenSummary } from '../../bus/ops/respond-by-hand.js';
import { manualMergeFields } from '../../watcher/workspace/manual-merge.js';
import { firstLine } from '../../schemas/errors.js';
import { reasonSchema, runnerSchema, taskIdSchema } from '../../schemas/fields.js';
import { handoffSchema } from '../../schemas/handoff.js';
import { RESPONSE_STATUSES, responseSchema } from '../../schemas/response.js';
import { taskRefSchema } from '../schemas.js';
import { defineTool } from '../tool.js';

/**
 * The two tools of an agent acting as a worker of this node: take the next task meant for it, do it, report back.
 * By default only `manual` tasks, the ones dispatched for a person or an agent to do by hand: the node's watcher
 * runs the others, and a task claimed here is this agent's to finish.
 */
const DEFAULT_RUNNERS = ['manual'] as const;

const claimOutput = z.object({
  claimed: z.boolean().register(z.globalRegistry, { description: 'false: nothing this node may take now (not an error)' }),
  message: z.optional(z.string()).register(z.globalRegistry, { description: 'why nothing was claimed' }),
  id: z.optional(taskIdSchema),
  attempt: z.optional(z.number()),
  node: z.optional(z.string()),
  title: z.optional(z.string()),
  handoff: z.optional(handoffSchema).register(z.globalRegistry, { description: "the claimed task's fields" }),
  body: z.optional(z.string()).register(z.globalRegistry, { description: 'the task description (Markdown): what to do' }),
  reclaimed: z.optional(z.nullable(z.object({ attempt: z.number(), node: z.string() }))).register(z.globalRegistry, { description: 'the attempt this claim took over from a node that went silent' }),
  session: z.optional(z.string()),
});

export const claimNextTool = defineTool({
  name: 'claim_next',
  title: 'Claim the next task',
  description:
    "For an agent acting as a worker of this node: claim the best task this node may take (its labels, `to`, dependencies, priority) and return what to do. Do the work, then report with `respond`. Returns claimed: false when there is nothing to take.",
  input: z.strictObject({
    runners: z.optional(z.array(runnerSchema).check(z.minLength(1))).register(z.globalRegistry, { description: `only tasks for these runners (default: ${DEFAULT_RUNNERS.join(', ')}, the tasks meant for a person or an agent; the node's watcher runs the others)` }),
  }),
  output: claimOutput,
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(a, env) {
    try {
      const r = await claim(await env.bus(), { next: true, runners: a.runners ?? DEFAULT_RUNNERS });
      return { claimed: true, id: r.id, attempt: r.attempt, node: r.node, title: r.title, handoff: r.handoff, body: r.body, reclaimed: r.reclaimed, ...(r.session !== undefined ? { session: r.session } : {}) };
    } catch (err) {
      if (err instanceof NothingClaimableError) return { claimed: false, message: firstLine(err) };
      throw err;
    }
  },
});

export const respondTool = defineTool({
  name: 'respond',
  title: 'Respond to a claimed task',
  description: 'Report how a task this node holds ended (claimed with `claim_next`): its `status` (succeeded, failed, cancelled, timed-out), a summary and the results. The dispatcher sees it with `wait`, `show` or `status`.',
  input: z.strictObject({
    id: taskRefSchema,
    status: responseSchema.shape.status,
    summary: z.optional(z.string()).register(z.globalRegistry, { description: 'the Summary section: its first line is the headline one-line views show (the hear-back, collect), marked when more lines follow; default (and when blank): the status, when no results are given. At most 16 KiB is kept (warnings say what was cut)' }),
    results: z.optional(z.string()).register(z.globalRegistry, { description: 'the Results section (Markdown): what was done, what was found. At most 128 KiB is kept (warnings say what was cut): longer material belongs in the project\'s repository' }),
    exitCode: z.optional(z.int().check(z.minimum(-2147483648), z.maximum(2147483647))).register(z.globalRegistry, { description: 'the exit code of what ran, if anything did' }),
    reason: z.optional(reasonSchema).register(z.globalRegistry, { description: 'why it failed or was cancelled; at most 4 KiB is kept (warnings say what was cut)' }),
  }),
  output: z.object({
    id: taskIdSchema,
    status: z.enum(RESPONSE_STATUSES),
    path: z.string().register(z.globalRegistry, { description: 'the response file on the bus' }),
    warnings: z.optional(z.array(z.string())).register(z.globalRegistry, { description: 'each section that was longer than a response holds, and what was kept of it' }),
  }),
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(a, env) {
    const ctx = await env.bus();
    // A merge by hand (gitbus resolve --runner manual) counts from what the project remote's branch holds.
    const merged = await manualMergeFields(ctx, a.id, a.status);
    const r = await respond(ctx, {
      ...merged,
      id: a.id,
      status: a.status,
      ...givenSummary(a.summary, a.results, a.status),
      ...(a.results !== undefined ? { results: a.results } : {}),
      ...(a.exitCode !== undefined ? { exitCode: a.exitCode } : {}),
      ...(a.reason !== undefined ? { reason: a.reason } : {}),
    });
    const warnings = cutSections(a);
    return { id: r.id, status: r.status, path: r.path, ...(warnings.length > 0 ? { warnings } : {}) };
  },
});
