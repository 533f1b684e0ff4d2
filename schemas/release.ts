import { z } from 'zod';
import { attemptSchema, nodeNameSchema, protocolSchema, reasonSchema, taskIdSchema } from './fields.js';
import { timestampSchema } from './timestamp.js';

/** Field order here is the order gitbus writes them. */
export const releaseSchema = z
  .strictObject({
    protocol: protocolSchema.optional(),
    id: taskIdSchema,
    attempt: attemptSchema,
    node: nodeNameSchema,
    released: timestampSchema,
    reason: reasonSchema.optional(),
  })
  .describe('a release: releases/<id>.<attempt>.md, "node N gives attempt A back"');

export type Release = z.infer<typeof releaseSchema>;
