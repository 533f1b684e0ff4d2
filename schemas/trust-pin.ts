import { z } from './zod.js';
import { DIGEST_RE, FINGERPRINT_RE, MAX_TRUST_VERSION, principalSchema } from './trust-root.js';

/**
 * What this node trusts, in its home (`<home>/trust-pin.json`): the version it pinned at join (the admin keys a
 * person accepted by fingerprint) and the newest version it has accepted since, with that version's files, so
 * that the node keeps its trust whatever later happens to the bus (a fork, a rollback, trust/ deleted).
 */
const version = z.int().check(z.minimum(1), z.maximum(MAX_TRUST_VERSION));
const digest = z.string().check(z.regex(DIGEST_RE));

export const trustPinSchema = z.strictObject({
  pinned: z.strictObject({
    version,
    digest,
    admins: z.array(z.strictObject({ principal: principalSchema, fingerprint: z.string().check(z.regex(FINGERPRINT_RE)) })),
    at: z.string(),
    /** How it was pinned: by the person at the terminal, by --trust fingerprints, by --trust-root digest, or by `trust init`. */
    how: z.enum(['prompt', 'fingerprints', 'digest', 'init']),
  }),
  accepted: z.strictObject({ version, digest, allowedSigners: z.string(), policy: z.string(), at: z.string() }),
});

export type TrustPin = z.infer<typeof trustPinSchema>;
