import { z } from './zod.js';
import { withRule } from './rule.js';

const NAMES = new Set(['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec', 'sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']);
const ATOM = '(?:[0-9]{1,4}|[A-Za-z]{3})';
const ITEM = `(?:\\*|${ATOM}(?:-${ATOM})?)(?:/[0-9]{1,4})?`;
const FIELD = `${ITEM}(?:,${ITEM})*`;
/** Only the shape of a cron line is checked here; what each field means is the scheduler's business (issue #3). */
export const CRON_RE = new RegExp(`^${FIELD}(?:[ \\t]+${FIELD}){4,5}$`);
export const CRON_RULE =
  'a cron expression: 5 or 6 fields separated by spaces, each made of digits, "*", ",", "-", "/" and month or day names (jan, mon), for example "0 3 * * mon-fri"';
const MAX_CRON_CHARS = 200;

function isCron(text: string): boolean {
  if (text.length > MAX_CRON_CHARS || !CRON_RE.test(text)) return false;
  return (text.match(/[A-Za-z]+/g) ?? []).every((name) => NAMES.has(name.toLowerCase()));
}

export function isCronExpression(value: unknown): value is string {
  return typeof value === 'string' && isCron(value);
}

export const cronSchema = withRule(z.string(), (text) => {
  if (isCron(text)) return undefined;
  const fields = text.trim().split(/[ \t]+/).filter(Boolean).length;
  const badName = (text.match(/[A-Za-z]+/g) ?? []).find((name) => !NAMES.has(name.toLowerCase()));
  const why =
    text.length > MAX_CRON_CHARS
      ? ` (longer than ${MAX_CRON_CHARS} characters)`
      : fields !== 5 && fields !== 6
        ? ` (it has ${fields} field${fields === 1 ? '' : 's'})`
        : badName !== undefined
          ? ` ("${badName}" is not a month or day name)`
          : '';
  return { reason: `${JSON.stringify(text)} is not a cron expression${why}`, fix: `write ${CRON_RULE}` };
}).register(z.globalRegistry, { ...{ pattern: CRON_RE.source, maxLength: MAX_CRON_CHARS }, description: CRON_RULE });
