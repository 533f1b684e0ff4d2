import { z } from './zod.js';
import { durationSchema, positiveDurationSchema } from './duration-schema.js';
import { protocolSchema, text } from './fields.js';

/**
 * gitbus.yaml as written. Defaults are not applied here but by `resolveSettings`, so that parsing and rendering a
 * file gives back exactly the file.
 */
export const settingsSchema = z.strictObject({
  protocol: protocolSchema,
  name: z.optional(text({ what: 'a display name', maxChars: 100, oneLine: true })),
  lease: z.optional(positiveDurationSchema),
  heartbeat: z.optional(positiveDurationSchema),
  poll: z.optional(positiveDurationSchema),
  archiveAfter: z.optional(durationSchema),
  maxAttempts: z.optional(z.int().check(z.minimum(1), z.maximum(100))).register(z.globalRegistry, { description: 'a whole number from 1 to 100' }),
  pushBudget: z.optional(z.int().check(z.minimum(1), z.maximum(100_000))).register(z.globalRegistry, { description: 'pushes per minute for the whole fleet: a whole number from 1 to 100000' }),
  presence: z.optional(positiveDurationSchema),
  readBudget: z.optional(z.int().check(z.minimum(1), z.maximum(100_000))).register(z.globalRegistry, { description: 'git reads per second for the whole fleet: a whole number from 1 to 100000' }),
}).register(z.globalRegistry, { description: 'bus settings: gitbus.yaml' });

export type BusSettings = z.infer<typeof settingsSchema>;
