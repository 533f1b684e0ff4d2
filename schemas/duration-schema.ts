import { z } from './zod.js';
import { withRule } from './rule.js';
import { DURATION_RE, DURATION_RULE, durationViolation } from './duration.js';

// The pattern is metadata for the JSON Schema only: the rule gives a better message than a pattern mismatch.
const PATTERN = { pattern: DURATION_RE.source };

/** A duration as written in a file; kept as text so rendering reproduces the file exactly. */
export const durationSchema = withRule(z.string(), (text) => durationViolation(text, false)).register(z.globalRegistry, { ...PATTERN, description: DURATION_RULE });

/** For intervals a watcher sleeps or waits on, where zero would mean a busy loop or an instant expiry. */
export const positiveDurationSchema = withRule(z.string(), (text) => durationViolation(text, true)).register(z.globalRegistry, { ...PATTERN, description: `${DURATION_RULE}; greater than zero` });
