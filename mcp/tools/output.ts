import { outputView } from '../../watcher/output-view.js';
import { z } from '../../schemas/zod.js';
import { taskOutput } from '../../bus/ops/task-output.js';
import { deliveringSchema, maxCharsSchema, offlineSchema, tail, taskRefSchema, shownStateSchema } from '../schemas.js';
import { defineTool } from '../tool.js';

const DEFAULT_MAX = 16_000;

export const outputSourceSchema = z.enum(['local', 'heartbeat', 'response', 'none']).register(z.globalRegistry, { description: "where the output comes from: this node's log (it runs the task), the holder's heartbeat (the last few KiB, refreshed every beat), the response (the task ended), or none yet" });

const output = z.object({
  id: z.string(),
  state: shownStateSchema,
  node: z.nullable(z.string()).register(z.globalRegistry, { description: 'the node that runs or ran it' }),
  attempt: z.nullable(z.number()),
  source: outputSourceSchema,
  text: z.string().register(z.globalRegistry, { description: 'the output, as terminal text (no escape sequences)' }),
  truncated: z.boolean().register(z.globalRegistry, { description: 'whether only the end of the output is given' }),
  offline: offlineSchema,
  delivering: z.optional(deliveringSchema),
});

export const logsTool = defineTool({
  name: 'logs',
  title: 'Task output',
  description: 'The output of a task: live from the node that runs it (any node can ask), or from its response once it ended. For output as it comes, use `wait` with a progress token.',
  input: z.strictObject({ id: taskRefSchema, maxChars: maxCharsSchema(DEFAULT_MAX) }),
  output,
  hints: { readOnlyHint: true, openWorldHint: true },
  async run(a, env) {
    const out = await taskOutput(await env.bus(), a.id);
    const t = tail(outputView(out), a.maxChars ?? DEFAULT_MAX);
    // Cut here to maxChars, or only the end of a longer log to begin with (`fullLogPath` says where all of it is).
    return { ...out, text: t.text, truncated: t.truncated || out.truncated };
  },
});
