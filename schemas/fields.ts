import { z } from './zod.js';
import {
  ATTEMPT_RULE,
  LABEL_RE,
  LABEL_RULE,
  MAX_ATTEMPT,
  NODE_NAME_RE,
  NODE_NAME_RULE,
  TASK_ID_RE,
  TASK_ID_RULE,
} from './ids.js';
import { withRule, type Violation } from './rule.js';
import { charLength, MAX_NAME_CHARS, PROTOCOL_VERSION, RUNNERS, utf8Length } from './field-limits.js';



export const protocolSchema = z.int().check(z.minimum(1), z.maximum(1_000_000)).register(z.globalRegistry, { description: `the protocol version the file was written for (this gitbus writes ${PROTOCOL_VERSION})` });

export const taskIdSchema = z.string().check(z.regex(TASK_ID_RE)).register(z.globalRegistry, { description: TASK_ID_RULE });
export const nodeNameSchema = z.string().check(z.regex(NODE_NAME_RE)).register(z.globalRegistry, { description: NODE_NAME_RULE });
export const labelSchema = z.string().check(z.regex(LABEL_RE)).register(z.globalRegistry, { description: LABEL_RULE });
export const attemptSchema = z.int().check(z.minimum(1), z.maximum(MAX_ATTEMPT)).register(z.globalRegistry, { description: ATTEMPT_RULE });
export const runnerSchema = z.enum(RUNNERS).register(z.globalRegistry, { description: `a runner: one of ${RUNNERS.join(', ')}` });

interface TextOptions {
  /** What the value is ("one line saying what to do"), for the fix and the JSON Schema description. */
  what: string;
  minChars?: number;
  maxChars?: number;
  maxBytes?: number;
  /** Refuse line breaks and other control characters (tab included): the value is shown on one line. */
  oneLine?: boolean;
}

// C0 controls except tab and line breaks, DEL, and C1 controls: invisible, and NUL cannot even reach `sh -c`.
const CONTROL_RE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const ONE_LINE_BAD_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

// Reasons leave out the field's name: a FileProblem carries it separately.
function textViolation(value: string, o: TextOptions): Violation | undefined {
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

/** A string field with the limits PROTOCOL.md gives, and messages that say which limit was broken. */
export function text(o: TextOptions): z.ZodMiniString {
  const json: Record<string, unknown> = { description: o.what };
  if ((o.minChars ?? 1) > 0) json['minLength'] = o.minChars ?? 1;
  if (o.maxChars !== undefined) json['maxLength'] = o.maxChars;
  // JSON Schema counts characters, not bytes; a character is at most 4 UTF-8 bytes, but most commands are ASCII,
  // so the byte limit is the closest honest hint an editor can check.
  else if (o.maxBytes !== undefined) json['maxLength'] = o.maxBytes;
  return withRule(z.string(), (value) => textViolation(value, o)).register(z.globalRegistry, json);
}

/** Short one-line names of people, agents or tools (`from`, `by`). */
export const personSchema = text({ what: 'a name of at most 100 characters', maxChars: MAX_NAME_CHARS, oneLine: true });

/** Free text such as a `reason`: any length the file allows, line breaks allowed. */
export const reasonSchema = text({ what: 'free text', minChars: 0 });
