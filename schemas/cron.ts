import { z } from './zod.js';
import { withRule } from './rule.js';

const NAMES = new Set(['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec', 'sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']);
const ATOM = '(?:[0-9]{1,4}|[A-Za-z]{3})';
const ITEM = `(?:\\*|${ATOM}(?:-${ATOM})?)(?:/[0-9]{1,4})?`;
const FIELD = `${ITEM}(?:,${ITEM})*`;
/**
 * The shape of a cron line; cronRangeProblem checks what its values mean, as the scheduler (npm cron) does. Five
 * fields, minute first: the scheduler also takes a sixth, of seconds, first, but a watcher dispatches the latest
 * due time at each wake (a poll, or any change on the bus), so a schedule due every second would dispatch at every
 * wake, each instance waking the fleet again. A schedule is to the minute.
 */
export const CRON_RE = new RegExp(`^${FIELD}(?:[ \\t]+${FIELD}){4}$`);
export const CRON_RULE =
  'a cron expression: 5 fields (minute, hour, day of month, month, day of week; UTC) separated by spaces, each made of digits, "*", ",", "-", "/" and month or day names (jan, mon), for example "0 3 * * mon-fri"';
const MAX_CRON_CHARS = 200;

function isCron(text: string): boolean {
  if (text.length > MAX_CRON_CHARS || !CRON_RE.test(text)) return false;
  return (text.match(/[A-Za-z]+/g) ?? []).every((name) => NAMES.has(name.toLowerCase())) && cronRangeProblem(text) === undefined;
}

/** Each field's name and bounds; day of week 7 is Sunday, as 0 is. */
const FIELDS = [['minute', 0, 59], ['hour', 0, 23], ['day of month', 1, 31], ['month', 1, 12], ['day of week', 0, 7]] as const;
const VALUE_OF_NAME: Readonly<Record<string, number>> = {
  jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12,
  sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6,
};

/**
 * What the scheduler would refuse in a cron line of the right shape: a value outside its field's bounds, a range
 * that runs backwards, a step of zero. The scheduler (npm cron) reads month and day names in any field, so this
 * does too. Pure; undefined when the line is fine.
 */
export function cronRangeProblem(text: string): string | undefined {
  const fields = text.trim().split(/[ \t]+/);
  for (const [i, field] of fields.entries()) {
    const spec = FIELDS[i];
    if (spec === undefined) return undefined; // the shape check counts the fields
    const [what, low, high] = spec;
    for (const item of field.split(',')) {
      const [range = '', step] = item.split('/');
      if (step !== undefined && Number(step) === 0) return `the ${what} field "${field}" has a step of zero`;
      if (range === '*') continue;
      const [from, to] = range.split('-').map((v) => VALUE_OF_NAME[v.toLowerCase()] ?? Number(v));
      for (const v of [from, to]) {
        if (v !== undefined && (v < low || v > high)) return `the ${what} ${v} is out of range ${low}-${high}`;
      }
      if (from !== undefined && to !== undefined && to < from) return `the ${what} range "${range}" runs backwards`;
    }
  }
  return undefined;
}

export function isCronExpression(value: unknown): value is string {
  return typeof value === 'string' && isCron(value);
}

/** A line of six fields as the scheduler reads them (seconds first), as five: the seconds field left out. */
function withoutSeconds(text: string): string | undefined {
  const fields = text.trim().split(/[ \t]+/);
  if (text.length > MAX_CRON_CHARS || fields.length !== 6) return undefined;
  const five = fields.slice(1).join(' ');
  return isCron(five) ? five : undefined;
}

export const cronSchema = withRule(z.string(), (text) => {
  if (isCron(text)) return undefined;
  const five = withoutSeconds(text);
  if (five !== undefined) {
    return {
      reason: `${JSON.stringify(text)} has 6 fields, the first of seconds: gitbus schedules to the minute, since watchers dispatch the latest due time at every wake and one due every second would dispatch at each`,
      fix: `write 5 fields, minute first: "${five}" (its seconds field left out)`,
    };
  }
  const fields = text.trim().split(/[ \t]+/).filter(Boolean).length;
  const badName = (text.match(/[A-Za-z]+/g) ?? []).find((name) => !NAMES.has(name.toLowerCase()));
  const why =
    text.length > MAX_CRON_CHARS
      ? ` (longer than ${MAX_CRON_CHARS} characters)`
      : fields !== 5
        ? ` (it has ${fields} field${fields === 1 ? '' : 's'}${fields === 6 ? ', the first of seconds: gitbus schedules to the minute' : ''})`
        : badName !== undefined
          ? ` ("${badName}" is not a month or day name)`
          : CRON_RE.test(text)
            ? ` (${cronRangeProblem(text) ?? 'a value the scheduler refuses'})`
            : '';
  return { reason: `${JSON.stringify(text)} is not a cron expression${why}`, fix: `write ${CRON_RULE}` };
}).register(z.globalRegistry, { ...{ pattern: CRON_RE.source, maxLength: MAX_CRON_CHARS }, description: CRON_RULE });
