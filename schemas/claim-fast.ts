import type { Claim } from './claim.js';
import { CLAIM_FIELDS, claimRules, SESSION_TEXT } from './claim-fields.js';
import { fastFields, fastFileText, ruled, type FastKind } from './fast-file.js';
import { isAttempt, isNodeName, isTaskId } from './ids.js';
import { pathFor } from './layout.js';
import { PERSON_TEXT } from './text-rule.js';
import { isTimestamp } from './timestamp.js';

/**
 * A claim's file as `renderBusFile('claim', ...)` writes it, made without zod or yaml when every field is one checked
 * here (a reclaim and a protocol are left to the schemas), so that a reader can tell a claim a watcher wrote
 * (bus-file-fast-read.ts). test/unit/fast-files.test.ts holds it to renderBusFile and parseBusFile.
 */

/** Where editors find the claim's JSON Schema: `schemaRefFor('claim')` (the unit test keeps them equal). */
export const CLAIM_SCHEMA_REF = '../schemas/claim.schema.json';

/** The claim's fields as written here, each by its schema's rule (exported for the test that holds them to the schema). */
export const CLAIM: FastKind = {
  schemaRef: CLAIM_SCHEMA_REF,
  fields: CLAIM_FIELDS,
  checks: { id: isTaskId, attempt: isAttempt, node: isNodeName, claimed: isTimestamp, by: ruled(PERSON_TEXT), session: ruled(SESSION_TEXT) },
};

/** The text of `claims/<id>.<attempt>.md` with `body`, or undefined: render and check it with the schemas. */
export function fastClaimText(data: Claim, body: string): string | undefined {
  // Required by the schema.
  if (!isTaskId(data.id) || !isAttempt(data.attempt) || data.node === undefined || data.claimed === undefined) return undefined;
  const yaml = fastFields(CLAIM, data);
  // The rules across fields run on data checked field by field; any rule's word, a warning too, is the schemas' to give.
  if (yaml === undefined || claimRules(data).length > 0) return undefined;
  return fastFileText(CLAIM, pathFor({ kind: 'claim', id: data.id, attempt: data.attempt }), yaml, body);
}
