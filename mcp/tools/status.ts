import { z } from '../../schemas/zod.js';
import { busStatus } from '../../bus/ops/status.js';
import { nodeCardSchema } from '../../schemas/node-card.js';
import { deliveringSchema, fileProblemSchema, forgedFileSchema, offlineSchema, taskStateSchema, taskSummarySchema, trustVerdictSchema } from '../schemas.js';
import { defineTool } from '../tool.js';

const DEFAULT_LIMIT = 100;

const input = z.strictObject({
  states: z.optional(z.array(taskStateSchema)).register(z.globalRegistry, { description: 'list only tasks in these states (default: all)' }),
  limit: z.optional(z.int().check(z.minimum(0), z.maximum(100_000))).register(z.globalRegistry, { description: `list at most this many tasks, live work first (default ${DEFAULT_LIMIT}); counts cover all` }),
});

const liveness = {
  liveness: z.enum(['alive', 'idle', 'silent', 'unleased', 'stopped']).register(z.globalRegistry, { description: 'alive: its watcher beats; idle: it holds no claims and marks presence rarely, its last beat within the interval it announced; silent: its heartbeat is older than the lease (and its announced interval); stopped: its watcher shut down; unleased: no watcher ever ran' }),
  heartbeat: z.nullable(z.object({ at: z.string(), ageMs: z.number(), stopped: z.boolean() })),
  spend: z.nullable(z.object({ day: z.string(), spentUsd: z.number(), capUsd: z.nullable(z.number()) })).register(z.globalRegistry, { description: 'what its claude runs spent today (UTC) against its daily cap; null when it says nothing' }),
};

const output = z.object({
  node: z.string().register(z.globalRegistry, { description: 'this node' }),
  left: z.nullable(z.object({ node: z.string(), remote: z.string(), at: z.string() })).register(z.globalRegistry, { description: 'this node left the bus ("gitbus leave"): when, and from which remote; "gitbus join" brings it back. null while it is a node of the bus' }),
  remote: z.string(),
  head: z.nullable(z.string()).register(z.globalRegistry, { description: 'the commit of main this is the status of' }),
  nodes: z.array(
    z.object({
      node: z.string(),
      card: z.optional(nodeCardSchema).register(z.globalRegistry, { description: "the node's card: labels, runners, host, version" }),
      ...liveness,
      problems: z.array(fileProblemSchema),
    }),
  ),
  cardless: z.array(z.object({ node: z.string(), ...liveness })).register(z.globalRegistry, { description: 'nodes that beat with no card on main: taken off the bus while a watcher ran, or the card was removed' }),
  counts: z.record(z.string(), z.number()).register(z.globalRegistry, { description: 'how many tasks are in each state' }),
  tasks: z.array(
    z.extend(taskSummarySchema, {
      untrusted: z.optional(z.string()).register(z.globalRegistry, { description: 'why its handoff is not trusted under the trust root this node pinned: for the node it is addressed to (`to`), else for this node' }),
      trustVerdict: z.optional(trustVerdictSchema).register(z.globalRegistry, { description: 'with `untrusted`: the verdict on its handoff as `show` gives it (`trust` there): the trust version, the reason, the fix, and notForThisNode when it is not this node\'s to run at all' }),
      refusedHere: z.optional(z.string()).register(z.globalRegistry, { description: "why this node's policy refuses it" }),
      noTaker: z.optional(z.string()).register(z.globalRegistry, { description: "why no node's watcher takes the pending task: no node's card lets it (addressed to a node that lacks its runner or labels, a policy that refuses it), or it is a manual task, which a person or an agent claims by hand" }),
      takersDown: z.optional(z.string()).register(z.globalRegistry, { description: 'why a pending task that node cards let nodes take waits all the same: each of those nodes is stopped, silent or runs no watcher now (since when, and what brings it back)' }),
      delivering: z.optional(deliveringSchema),
    }),
  ),
  more: z.int().register(z.globalRegistry, { description: 'tasks left out by `limit`' }),
  trust: z.nullable(z.object({ version: z.int() })).register(z.globalRegistry, { description: "the trust root's version this node enforces on handoffs (it pinned the bus's trust root); null: it acts on any handoff" }),
  trustNotEnforced: z
    .nullable(
      z.object({
        version: z.int(),
        nodes: z.array(z.object({ node: z.string(), reason: z.string() })),
        fingerprints: z.array(z.string()),
        from: z.nullable(z.enum(['accepted', 'bus'])),
        fix: z.string(),
      }),
    )
    .register(z.globalRegistry, { description: "on a bus with a trust root: the nodes that do not enforce it (their cards say they pinned none, or another root), which run any handoff, signed or not, with the admin fingerprints and the `gitbus trust pin` to run on each; null when there are none" }),
  problems: z.array(fileProblemSchema).register(z.globalRegistry, { description: 'files of the bus that are not valid' }),
  forged: z.array(forgedFileSchema).register(z.globalRegistry, { description: "claims, releases, responses and node cards written in a node's name that this node does not count (its trust root pinned), each with why and the fix" }),
  queued: z.array(z.object({ kind: z.string(), id: z.string(), title: z.optional(z.string()), queuedAt: z.string() })).register(z.globalRegistry, { description: 'changes made on this node that the remote has not taken yet' }),
  offline: offlineSchema,
  budget: z
    .object({
      budget: z.object({ pushesPerMin: z.number(), readsPerSec: z.number(), source: z.string() }),
      nodes: z.number(),
      holders: z.number(),
      expectedPerMin: z.number(),
      observedPerMin: z.nullable(z.number()),
      windowMs: z.number(),
      readsPerSec: z.number(),
      over: z.boolean(),
      advice: z.array(z.string()),
    })
    .register(z.globalRegistry, { description: "the fleet's heartbeat pushes a minute (expected, and seen) and polling reads a second against the bus's budget; when over, what to change" }),
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
