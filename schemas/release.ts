import { z } from './zod.js';
import { attemptSchema, nodeNameSchema, protocolSchema, reasonSchema, taskIdSchema } from './fields.js';
import { timestampSchema } from './timestamp-schema.js';

/** Field order here is the order gitbus writes them. */
export const releaseSchema = z.strictObject({
  protocol: z.optional(protocolSchema),
  id: taskIdSchema,
  attempt: attemptSchema,
  node: nodeNameSchema,
  released: timestampSchema,
  reason: z.optional(reasonSchema),
}).register(z.globalRegistry, { description: 'a release: releases/<id>.<attempt>.md, "node N gives attempt A back"' });

export type Release = z.infer<typeof releaseSchema>;
