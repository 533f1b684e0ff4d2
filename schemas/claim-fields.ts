import type { Claim } from './claim.js';
import type { FieldViolation } from './kind-rules.js';
import type { TextOptions } from './text-rule.js';

/**
 * The claim's fields and text rules without zod: claim.ts builds its schema from them, and claim-fast.ts reads and
 * writes a claim without loading the schemas.
 */

/** The claude session an attempt runs in. */
export const SESSION_TEXT: TextOptions = { what: 'the claude session id this attempt runs in', maxChars: 200, oneLine: true };

/** The fields in the order gitbus writes them (claimSchema's; test/unit/fast-files.test.ts holds them equal). */
export const CLAIM_FIELDS = ['protocol', 'id', 'attempt', 'node', 'claimed', 'by', 'reclaims', 'session'] as const;

/** The rules across a claim's fields (a reclaim takes over an earlier attempt only). */
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
