import { z } from './zod.js';
import { personSchema, protocolSchema, reasonSchema, taskIdSchema } from './fields.js';
import { timestampSchema } from './timestamp-schema.js';

/** Field order here is the order gitbus writes them. */
export const cancelSchema = z.strictObject({
  protocol: z.optional(protocolSchema),
  id: taskIdSchema,
  by: personSchema,
  cancelled: timestampSchema,
  reason: z.optional(reasonSchema),
}).register(z.globalRegistry, { description: 'a cancel: cancels/<id>.md, "stop this task"' });

export type Cancel = z.infer<typeof cancelSchema>;
