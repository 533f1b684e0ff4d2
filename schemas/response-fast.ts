import { fastFields, fastFileText, oneOf, ruled, wholeNumber, type FastKind } from './fast-file.js';
import { RUNNERS } from './field-limits.js';
import { isAttempt, isNodeName, isTaskId } from './ids.js';
import { pathFor } from './layout.js';
import type { TaskResponse } from './response.js';
import { RESPONSE_FIELDS, RESPONSE_STATUSES, responseRules } from './response-fields.js';
import { REASON_TEXT } from './text-rule.js';
import { isTimestamp } from './timestamp.js';

/**
 * A response's file as `renderBusFile('response', ...)` writes it, made without zod or yaml when every field is one
 * checked here (claude's report, a project's, an exit code of null and a reason of more than one line are left to
 * the schemas), so that a reader can tell a response a watcher wrote (bus-file-fast-read.ts).
 * test/unit/fast-files.test.ts holds it to renderBusFile and parseBusFile.
 */

/** Where editors find the response's JSON Schema: `schemaRefFor('response')` (the unit test keeps them equal). */
export const RESPONSE_SCHEMA_REF = '../schemas/response.schema.json';

/** The response's fields as written here, each by its schema's rule (exported for the test that holds them to the schema). */
export const RESPONSE: FastKind = {
  schemaRef: RESPONSE_SCHEMA_REF,
  fields: RESPONSE_FIELDS,
  checks: {
    id: isTaskId,
    status: oneOf(RESPONSE_STATUSES),
    node: isNodeName,
    attempt: isAttempt,
    finished: isTimestamp,
    started: isTimestamp,
    exitCode: wholeNumber(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    runner: oneOf(RUNNERS),
    durationMs: wholeNumber(0, Number.MAX_SAFE_INTEGER),
    reason: ruled(REASON_TEXT),
  },
};

/** The text of `responses/<id>.md` with `body`, or undefined: render and check it with the schemas. */
export function fastResponseText(data: TaskResponse, body: string): string | undefined {
  if (!isTaskId(data.id) || data.status === undefined || data.node === undefined || data.finished === undefined) return undefined;
  const yaml = fastFields(RESPONSE, data);
  if (yaml === undefined) return undefined;
  // The rules across fields only warn; a warning is the schemas' to word.
  if (responseRules(data).length > 0) return undefined;
  return fastFileText(RESPONSE, pathFor({ kind: 'response', id: data.id }), yaml, body);
}
