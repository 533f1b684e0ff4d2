import { z } from './zod.js';
import { attemptSchema, nodeNameSchema, protocolSchema, taskIdSchema } from './fields.js';
import { branchSchema, commitSchema, repoSchema } from './project-schema.js';
import { timestampSchema } from './timestamp-schema.js';

/**
 * A delivery: deliveries/<id>.<attempt>.md, "the project remote took attempt A's results after its response went
 * out" (docs/PROTOCOL.md §3a, "A push that lands later"). A response is written once, so the push that lands later
 * is said by a file of its own, written once by the attempt's holder. Field order here is the order gitbus writes them.
 */
export const deliverySchema = z.strictObject({
  protocol: z.optional(protocolSchema),
  id: taskIdSchema,
  attempt: attemptSchema,
  node: nodeNameSchema,
  branch: branchSchema,
  headCommit: commitSchema,
  /**
   * The URL the node pushed to, when the response's `repo` is a node.yaml project name (which git does not read
   * elsewhere): without credentials, as the response's Branch section publishes it when its push went through at once.
   */
  url: z.optional(repoSchema),
  delivered: timestampSchema,
}).register(z.globalRegistry, { description: 'a delivery: deliveries/<id>.<attempt>.md, "the project remote now has attempt A\'s branch"' });

export type Delivery = z.infer<typeof deliverySchema>;
