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
import { withRule } from './rule.js';
import { PERSON_TEXT, REASON_TEXT, textViolation, type TextOptions } from './text-rule.js';
import { PROTOCOL_VERSION, RUNNERS } from './field-limits.js';



export const protocolSchema = z.int().check(z.minimum(1), z.maximum(1_000_000)).register(z.globalRegistry, { description: `the protocol version the file was written for (this gitbus writes ${PROTOCOL_VERSION})` });

export const taskIdSchema = z.string().check(z.regex(TASK_ID_RE)).register(z.globalRegistry, { description: TASK_ID_RULE });
export const nodeNameSchema = z.string().check(z.regex(NODE_NAME_RE)).register(z.globalRegistry, { description: NODE_NAME_RULE });
export const labelSchema = z.string().check(z.regex(LABEL_RE)).register(z.globalRegistry, { description: LABEL_RULE });
export const attemptSchema = z.int().check(z.minimum(1), z.maximum(MAX_ATTEMPT)).register(z.globalRegistry, { description: ATTEMPT_RULE });
export const runnerSchema = z.enum(RUNNERS).register(z.globalRegistry, { description: `a runner: one of ${RUNNERS.join(', ')}` });

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
export const personSchema = text(PERSON_TEXT);

/** Free text such as a `reason`: any length the file allows, line breaks allowed. */
export const reasonSchema = text(REASON_TEXT);
