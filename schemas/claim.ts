import { z } from './zod.js';
import { attemptSchema, nodeNameSchema, personSchema, protocolSchema, reasonSchema, taskIdSchema, text } from './fields.js';
import { timestampSchema } from './timestamp-schema.js';
import { SESSION_TEXT } from './claim-fields.js';

export const reclaimSchema = z.strictObject({
  attempt: attemptSchema,
  node: nodeNameSchema,
  reason: z.optional(reasonSchema),
}).register(z.globalRegistry, { description: 'the earlier attempt this claim takes over after its lease expired: {attempt, node, reason}' });

/** Field order here is the order gitbus writes them. */
export const claimSchema = z.strictObject({
  protocol: z.optional(protocolSchema),
  id: taskIdSchema,
  attempt: attemptSchema,
  node: nodeNameSchema,
  claimed: timestampSchema,
  by: z.optional(personSchema),
  reclaims: z.optional(reclaimSchema),
  session: z.optional(text(SESSION_TEXT)),
}).register(z.globalRegistry, { description: 'a claim: claims/<id>.<attempt>.md, "node N runs attempt A"' });

export type Claim = z.infer<typeof claimSchema>;
export type Reclaim = z.infer<typeof reclaimSchema>;

export { claimRules } from './claim-fields.js';
