import type { Violation } from './rule.js';
import { charLength, MAX_NAME_CHARS, utf8Length } from './field-limits.js';

/**
 * The rule of a text field (`text()` in fields.ts), without zod: the schemas build their checks from it, and the
 * handoff a dispatch writes is checked with it without loading them (handoff-fast.ts).
 */
export interface TextOptions {
  /** What the value is ("one line saying what to do"), for the fix and the JSON Schema description. */
  what: string;
  minChars?: number;
  maxChars?: number;
  maxBytes?: number;
  /** Refuse line breaks and other control characters (tab included): the value is shown on one line. */
  oneLine?: boolean;
}

/** Short one-line names of people, agents or tools (`from`, `by`): personSchema in fields.ts. */
export const PERSON_TEXT: TextOptions = { what: 'a name of at most 100 characters', maxChars: MAX_NAME_CHARS, oneLine: true };
/** Free text such as a `reason`: any length the file allows, line breaks allowed. */
export const REASON_TEXT: TextOptions = { what: 'free text', minChars: 0 };

// C0 controls except tab and line breaks, DEL, and C1 controls: invisible, and NUL cannot even reach `sh -c`.
const CONTROL_RE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const ONE_LINE_BAD_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** What is wrong with `value` as such a text, or undefined. Reasons leave out the field's name: a FileProblem carries it separately. */
export function textViolation(value: string, o: TextOptions): Violation | undefined {
  if ((o.minChars ?? 1) > 0 && value.trim() === '') return { reason: 'the text is empty', fix: `write ${o.what}` };
  const chars = charLength(value);
  if (o.maxChars !== undefined && chars > o.maxChars) {
    return { reason: `the text is ${chars} characters long, more than ${o.maxChars}`, fix: `shorten it to at most ${o.maxChars} characters` };
  }
  if (o.maxBytes !== undefined) {
    const bytes = utf8Length(value);
    if (bytes > o.maxBytes) {
      return {
        reason: `the text is ${bytes} bytes long, more than ${o.maxBytes} (${o.maxBytes / 1024} KiB)`,
        fix: 'shorten it, or put the long part in a script in the repository and run that',
      };
    }
  }
  const bad = (o.oneLine ? ONE_LINE_BAD_RE : CONTROL_RE).exec(value);
  if (bad) {
    const code = `U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    return /[\n\r\u2028\u2029]/.test(bad[0])
      ? { reason: 'the text has a line break; it must be one line', fix: 'put it on one line (longer text belongs in the body)' }
      : { reason: `the text contains the control character ${code}`, fix: 'remove the control character' };
  }
  return undefined;
}
