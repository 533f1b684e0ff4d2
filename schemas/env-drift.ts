import { z } from './zod.js';
import { text } from './fields.js';
import { ENV_PROFILE_RE, ENV_PROFILE_RULE } from './env-paths.js';

/**
 * The state of one synced file on a node, by content hash (docs/PROTOCOL.md "env/ profiles"), as chezmoi judges it:
 * the node's file, the bus's, and what this node last wrote or read. `missing-here`: the bus has it, the node not.
 */
export const ENV_STATES = ['in-sync', 'changed-here', 'changed-in-bus', 'conflict', 'missing-here'] as const;
export type EnvState = (typeof ENV_STATES)[number];

const oneLine = (what: string, maxChars: number): z.ZodMiniString => text({ what, maxChars, oneLine: true });

const count = z.int().check(z.minimum(0), z.maximum(1_000_000)).register(z.globalRegistry, { description: 'a number of files' });

/** At most this many drifting files are named per profile on a node card; `more` counts the rest. */
export const CARD_DRIFT_LIMIT = 10;

/** One profile's drift on a node, as its card publishes it (`gitbus status` shows the fleet's). */
export const cardEnvSchema = z.strictObject({
  profile: z.string().check(z.regex(ENV_PROFILE_RE)).register(z.globalRegistry, { description: ENV_PROFILE_RULE }),
  apply: z.optional(z.enum(['auto', 'manual'])).register(z.globalRegistry, { description: 'whether the node\'s watcher applies changes of the profile (auto) or a person does (manual)' }),
  counts: z.strictObject(Object.fromEntries(ENV_STATES.map((s) => [s, z.optional(count)])) as Record<EnvState, z.ZodMiniOptional<typeof count>>).register(z.globalRegistry, { description: `files per state: ${ENV_STATES.join(', ')}` }),
  drift: z.optional(z.array(z.strictObject({ target: oneLine('a path in the home, ~/…', 1100), state: z.enum(ENV_STATES) })).check(z.maxLength(CARD_DRIFT_LIMIT))).register(z.globalRegistry, { description: 'the files not in sync, as {target, state}' }),
  more: z.optional(z.int().check(z.minimum(1))).register(z.globalRegistry, { description: 'drifting files not named in drift' }),
  problem: z.optional(oneLine('why the profile cannot be applied here', 500)),
}).register(z.globalRegistry, { description: "a profile's drift on this node: {profile, apply, counts, drift, more, problem}" });

export type CardEnv = z.infer<typeof cardEnvSchema>;
