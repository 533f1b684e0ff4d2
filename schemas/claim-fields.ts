import type { TextOptions } from './text-rule.js';

/**
 * The claim's fields and text rules without zod: claim.ts builds its schema from them, and claim-fast.ts reads and
 * writes a claim without loading the schemas.
 */

/** The claude session an attempt runs in. */
export const SESSION_TEXT: TextOptions = { what: 'the claude session id this attempt runs in', maxChars: 200, oneLine: true };

/** The fields in the order gitbus writes them (claimSchema's; test/unit/fast-files.test.ts holds them equal). */
export const CLAIM_FIELDS = ['protocol', 'id', 'attempt', 'node', 'claimed', 'by', 'reclaims', 'session'] as const;
