import { z } from '../../schemas/zod.js';
import { busStatus } from '../../bus/ops/status.js';
import { nodeCardSchema } from '../../schemas/node-card.js';
import { fileProblemSchema, offlineSchema, taskStateSchema, taskSummarySchema } from '../schemas.js';
import { defineTool } from '../tool.js';

const DEFAULT_LIMIT = 100;

const input = z.strictObject({
  states: z.optional(z.array(taskStateSchema)).register(z.globalRegistry, { description: 'list only tasks in these states (default: all)' }),
  limit: z.optional(z.int().check(z.minimum(0), z.maximum(100_000))).register(z.globalRegistry, { description: `list at most this many tasks, live work first (default ${DEFAULT_LIMIT}); counts cover all` }),
});

const output = z.object({
  node: z.string().register(z.globalRegistry, { description: 'this node' }),
  remote: z.string(),
  nodes: z.array(
    z.object({
      node: z.string(),
      card: z.optional(nodeCardSchema).register(z.globalRegistry, { description: "the node's card: labels, runners, host, version" }),
      liveness: z.enum(['alive', 'idle', 'silent', 'unleased', 'stopped']).register(z.globalRegistry, { description: 'alive: its watcher beats; idle: it holds no claims and marks presence rarely, its last beat within the interval it announced; silent: its heartbeat is older than the lease (and its announced interval); stopped: its watcher shut down; unleased: no watcher ever ran' }),
      heartbeat: z.nullable(z.object({ at: z.string(), ageMs: z.number(), stopped: z.boolean() })),
      problems: z.array(fileProblemSchema),
    }),
  ),
  counts: z.record(z.string(), z.number()).register(z.globalRegistry, { description: 'how many tasks are in each state' }),
  tasks: z.array(taskSummarySchema),
  more: z.int().register(z.globalRegistry, { description: 'tasks left out by `limit`' }),
  problems: z.array(fileProblemSchema).register(z.globalRegistry, { description: 'files of the bus that are not valid' }),
  queued: z.array(z.object({ kind: z.string(), id: z.string(), title: z.optional(z.string()), queuedAt: z.string() })).register(z.globalRegistry, { description: 'changes made on this node that the remote has not taken yet' }),
  offline: offlineSchema,
});

export const statusTool = defineTool({
  name: 'status',
  title: 'Bus status',
  description: "The fleet at a glance: each node with its liveness and card, tasks by state (claimed and pending first), changes queued on this node, and problems in the bus.",
  input,
  output,
  hints: { readOnlyHint: true, openWorldHint: true },
  async run(a, env) {
    const s = await busStatus(await env.bus());
    const wanted = a.states === undefined ? s.tasks : s.tasks.filter((t) => a.states?.includes(t.state));
    const limit = a.limit ?? DEFAULT_LIMIT;
    // The bus settings are left out: a client asking for the fleet's state has no use for the lease and poll
    // (a setting the trust root overrides is among the problems).
    const { settings: _settings, settingsOverridden: _overridden, ...rest } = s;
    return { ...rest, tasks: wanted.slice(0, limit), more: Math.max(0, wanted.length - limit) };
  },
});
