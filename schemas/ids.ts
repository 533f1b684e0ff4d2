import { GitbusError } from './errors.js';

// Ids become file names. Lower case only, so two ids never collide on a case-insensitive file system; no `.`,
// `/` or `..`, so no id can name a path outside its folder (PROTOCOL.md §2).
export const TASK_ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const NODE_NAME_RE = /^[a-z0-9][a-z0-9_-]{0,39}$/;
export const LABEL_RE = /^[a-z0-9][a-z0-9_.:-]{0,39}$/;
/** An attempt as written in a file name: decimal, no leading zeros, no sign. */
export const ATTEMPT_NAME_RE = /^[1-9][0-9]*$/;

/**
 * PROTOCOL.md only says "integer ≥ 1". Attempts are bounded so that the number in a file name always survives the
 * trip through a JS number exactly; real attempts never exceed `maxAttempts` (≤ 100).
 */
export const MAX_ATTEMPT = 999_999;

// Rules are noun phrases ("a task id: …") so messages can say "expected <rule>" and "use <rule>".
export const TASK_ID_RULE =
  'a task id: 1–64 characters of lower-case letters a–z, digits, "-" and "_", starting with a letter or digit';
export const NODE_NAME_RULE =
  'a node name: 1–40 characters of lower-case letters a–z, digits, "-" and "_", starting with a letter or digit';
export const LABEL_RULE =
  'a label: 1–40 characters of lower-case letters a–z, digits, "-", "_", "." and ":", starting with a letter or digit';
export const ATTEMPT_RULE = `an attempt number: a whole number from 1 to ${MAX_ATTEMPT}, written without leading zeros`;

/** Crockford-style base32 without i, l, o, u: no look-alike characters, and 32 symbols = 5 bits each. */
export const ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const RANDOM_CHARS = 6;

export class InvalidIdError extends GitbusError {
  readonly code = 'INVALID_ID';
}

export function isTaskId(value: unknown): value is string {
  return typeof value === 'string' && TASK_ID_RE.test(value);
}

export function isNodeName(value: unknown): value is string {
  return typeof value === 'string' && NODE_NAME_RE.test(value);
}

export function isLabel(value: unknown): value is string {
  return typeof value === 'string' && LABEL_RE.test(value);
}

export function isAttempt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_ATTEMPT;
}

/** The attempt a file name spells, or undefined when the text is not a canonical attempt number. */
export function parseAttempt(text: string): number | undefined {
  if (!ATTEMPT_NAME_RE.test(text) || text.length > String(MAX_ATTEMPT).length) return undefined;
  const n = Number(text);
  return isAttempt(n) ? n : undefined;
}

/**
 * A fresh task id `YYYYMMDD-HHMMSS-rrrrrr`: UTC dispatch time, then 30 random bits, which only have to differ from
 * another node's in the same second. The random source is a parameter (tests pass a fixed one); gitbus passes
 * mathRandomBytes (schemas/math-random.ts says why not node:crypto).
 */
export function newTaskId(now: Date = new Date(), randomBytes: (n: number) => Uint8Array): string {
  const year = now.getUTCFullYear();
  if (Number.isNaN(now.getTime()) || year < 0 || year > 9999) {
    throw new InvalidIdError(`cannot make a task id for the time ${String(now)}`, 'pass a valid date between years 0 and 9999', {
      now: String(now),
    });
  }
  const bytes = randomBytes(RANDOM_CHARS);
  if (bytes.length < RANDOM_CHARS) {
    throw new InvalidIdError(
      `the random source returned ${bytes.length} bytes, ${RANDOM_CHARS} are needed`,
      'pass a random source such as crypto.randomBytes',
      { got: bytes.length },
    );
  }
  const two = (n: number): string => String(n).padStart(2, '0');
  const date = `${String(year).padStart(4, '0')}${two(now.getUTCMonth() + 1)}${two(now.getUTCDate())}`;
  const time = `${two(now.getUTCHours())}${two(now.getUTCMinutes())}${two(now.getUTCSeconds())}`;
  let random = '';
  // 256 is a multiple of 32, so masking the low 5 bits keeps every symbol equally likely.
  for (let i = 0; i < RANDOM_CHARS; i++) random += ID_ALPHABET[(bytes[i] ?? 0) & 31];
  return `${date}-${time}-${random}`;
}
