import { z } from './zod.js';
import { attemptSchema, nodeNameSchema, personSchema, protocolSchema, reasonSchema, taskIdSchema, text } from './fields.js';
import type { FieldViolation } from './kind-rules.js';
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

export function claimRules(c: Claim): FieldViolation[] {
  if (c.reclaims !== undefined && c.reclaims.attempt >= c.attempt) {
    return [
      {
        field: 'reclaims.attempt',
        reason: `attempt ${c.attempt} cannot take over attempt ${c.reclaims.attempt}: only an earlier attempt can be reclaimed`,
        fix: `set reclaims.attempt to the expired attempt, which is below ${c.attempt}`,
        severity: 'error',
      },
    ];
  }
  return [];
}
