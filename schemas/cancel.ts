import { z } from 'zod';
import { personSchema, protocolSchema, reasonSchema, taskIdSchema } from './fields.js';
import { timestampSchema } from './timestamp.js';

/** Field order here is the order gitbus writes them. */
export const cancelSchema = z
  .strictObject({
    protocol: protocolSchema.optional(),
    id: taskIdSchema,
    by: personSchema,
    cancelled: timestampSchema,
    reason: reasonSchema.optional(),
  })
  .describe('a cancel: cancels/<id>.md, "stop this task"');

export type Cancel = z.infer<typeof cancelSchema>;
