import { z } from '../../schemas/zod.js';
import { showTask } from '../../bus/ops/query.js';
import { handoffSchema } from '../../schemas/handoff.js';
import { projectReportSchema, repoSchema, branchSchema } from '../../schemas/project-schema.js';
import { responseSchema } from '../../schemas/response.js';
import { deliveringSchema, forgedFileSchema, offlineSchema, shownStateSchema, taskRefSchema, taskSummarySchema, trustVerdictSchema } from '../schemas.js';
import { taskFiles } from '../task-files.js';
import { defineTool } from '../tool.js';

export const handoffOut = z.nullable(z.object({ fields: handoffSchema, body: z.string() })).register(z.globalRegistry, { description: 'the task as dispatched: its fields and its body (Markdown); null when it cannot be read' });
export const responseOut = z.nullable(z.object({ fields: responseSchema, body: z.string() })).register(z.globalRegistry, { description: 'how the task ended: its fields and its body (Summary, Results, Branch, Output); null until it ends' });

const output = z.object({
  id: z.string(),
  state: shownStateSchema,
  archived: z.nullable(z.string()).register(z.globalRegistry, { description: 'the archive month (yyyy-mm) when the task has left the live bus' }),
  summary: z.nullable(taskSummarySchema).register(z.globalRegistry, { description: 'the task as `status` lists it (null for an archived task)' }),
  handoff: handoffOut,
  response: responseOut,
  files: z.array(z.object({ path: z.string(), text: z.string() })).register(z.globalRegistry, { description: 'its claims, releases and cancel as the files on the bus' }),
  forged: z
    .array(forgedFileSchema)
    .register(z.globalRegistry, { description: "files written in a node's name that this node does not count (its trust root pinned): not among files or the response, each with why and the fix" }),
  branch: z.optional(z.object({ repo: repoSchema, branch: branchSchema, pushed: z.nullable(z.boolean()), report: z.optional(projectReportSchema), delivered: z.optional(z.object({ at: z.string(), path: z.string() })).register(z.globalRegistry, { description: "set when the response went out with the branch not pushed and its node said since, in this delivery file, that the project remote took it: report reads as the remote has it" }), fetch: z.string().register(z.globalRegistry, { description: 'the command that fetches the results' }) })).register(z.globalRegistry, { description: "project work: the task's result branch (pushed is null until it ends; report folds in a later delivery)" }),
  offline: offlineSchema,
  delivering: z.optional(deliveringSchema),
  trust: z.optional(trustVerdictSchema).register(z.globalRegistry, {
    description:
      "only on a node that pinned the bus's trust root: the trust version it enforces and its verdict on the handoff, as `gitbus verify` gives it. trusted: whether this node would run it; reason: signed by whom, or unsigned, forged or refused and why; signer: who signed it, when a listed key did and a rule allows it; notForThisNode: not this node's to run (it ended, another node's claim holds it, a schedule's template (it never runs itself), invalid or of a newer protocol, addressed to another node, a label or runner it lacks, its own key not listed)",
  }),
});

export const showTool = defineTool({
  name: 'show',
  title: 'Show a task',
  description: "One task, live or archived: its state, its handoff, claims and response, the files this node does not count as forged in a node's name, for project work where its result branch is, and on a node that pinned the trust root its verdict on the handoff (signed by whom, or unsigned, forged or refused and why).",
  input: z.strictObject({ id: taskRefSchema }),
  output,
  hints: { readOnlyHint: true, openWorldHint: true },
  async run(a, env) {
    const t = await showTask(await env.bus(), a.id);
    const f = taskFiles(t.files);
    return { id: t.id, state: t.state, archived: t.archived, summary: t.summary, handoff: f.handoff, response: f.response, files: f.others, forged: t.forged, ...(t.branch ? { branch: t.branch } : {}), offline: t.offline, ...(t.delivering ? { delivering: t.delivering } : {}), ...(t.trust ? { trust: t.trust } : {}) };
  },
});
