import { z } from './zod.js';
import { withRule } from './rule.js';
import { TIMESTAMP_RE, TIMESTAMP_RULE, timestampMs } from './timestamp.js';

function timestampHint(text: string): string {
  if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(text)) return ' (a date without a time)';
  if (/^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]/.test(text)) return ' (use "T", not a space, between date and time)';
  if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9:.]+$/.test(text)) return ' (it has no zone; add Z for UTC)';
  if (/:60(\.[0-9]+)?([Zz]|[+-][0-9:]+)$/.test(text)) return ' (second 60 is a leap second, only at 23:59 UTC)';
  if (TIMESTAMP_RE.test(text) && /^(0000|9999)-/.test(text)) return ' (its zone puts it outside the years 0000-9999 in UTC)';
  if (TIMESTAMP_RE.test(text)) return ' (no such date or time)';
  return '';
}

/** Kept as the original text so rendering reproduces the file byte for byte; validated, not converted. */
export const timestampSchema = withRule(z.string(), (text) =>
  timestampMs(text) === undefined
    ? { reason: `${JSON.stringify(text)} is not a timestamp${timestampHint(text)}`, fix: `write ${TIMESTAMP_RULE}` }
    : undefined,
).register(z.globalRegistry, { ...{ format: 'date-time', pattern: TIMESTAMP_RE.source }, description: TIMESTAMP_RULE });
