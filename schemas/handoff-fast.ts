import { fastFields, fastFileText, isBoolean, listOf, matches, ruled, type Check, type FastKind } from './fast-file.js';
import { RUNNERS } from './field-limits.js';
import { COMMAND_TEXT, HANDOFF_FIELDS, handoffRules, TITLE_TEXT, WORKDIR_TEXT, workdirViolation } from './handoff-fields.js';
import type { Handoff } from './handoff.js';
import { isLabel, isNodeName, isTaskId } from './ids.js';
import { durationViolation } from './duration.js';
import { pathFor } from './layout.js';
import { BASE_TEXT, baseViolation, BRANCH_TEXT, branchViolation, COMMIT_RE, GROUP_NAME_RE, REPO_TEXT, repoViolation } from './project.js';
import { PERSON_TEXT } from './text-rule.js';
import { timestampMs } from './timestamp.js';

/**
 * The file of a handoff that `dispatch` writes, made and checked without zod or yaml (issue 14: in a process of its
 * own they were ~30 ms of a ~160 ms dispatch, for one file). It gives the text only when it is sure of both halves:
 * that it is byte for byte what `renderBusFile('handoff', ...)` writes (each line by yaml-line.ts), and that
 * `parseBusFile` accepts it — every field by the rule its schema is built from (the same functions and limits),
 * the rules spanning fields (handoffRules), the file's size, encoding, conflict markers and fences. Otherwise, and
 * for the fields it does not check itself (a schedule, claude's requests, merges, a protocol), undefined: the
 * caller renders and checks with the schemas, which also word any problem. test/unit/handoff-fast.test.ts holds it
 * to renderBusFile and parseBusFile on generated handoffs.
 */

/** Where editors find the handoff's JSON Schema: `schemaRefFor('handoff')` (the unit test keeps them equal). */
export const HANDOFF_SCHEMA_REF = '../schemas/handoff.schema.json';

/** The fields checked here, each by its schema's rule (handoff.ts); the others are left to the schemas. */
const CHECKS: { readonly [K in (typeof HANDOFF_FIELDS)[number]]?: Check } = {
  id: isTaskId,
  title: ruled(TITLE_TEXT),
  from: ruled(PERSON_TEXT),
  created: (v) => typeof v === 'string' && timestampMs(v) !== undefined,
  to: isNodeName,
  labels: listOf(isLabel),
  runner: (v) => (RUNNERS as readonly unknown[]).includes(v),
  command: ruled(COMMAND_TEXT),
  workdir: ruled(WORKDIR_TEXT, workdirViolation),
  repo: ruled(REPO_TEXT, repoViolation),
  base: ruled(BASE_TEXT, baseViolation),
  baseCommit: matches(COMMIT_RE),
  branch: ruled(BRANCH_TEXT, branchViolation),
  autoCommit: isBoolean,
  group: matches(GROUP_NAME_RE),
  workstream: matches(GROUP_NAME_RE),
  resumes: isTaskId,
  after: listOf(isTaskId),
  priority: (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= -1000 && v <= 1000,
  timeout: (v) => typeof v === 'string' && durationViolation(v, true) === undefined,
  keep: isBoolean,
};

const HANDOFF: FastKind = { schemaRef: HANDOFF_SCHEMA_REF, fields: HANDOFF_FIELDS, checks: CHECKS };

/**
 * True when `value` is certainly valid as the handoff's field `key` (false: not checked here, or not valid): what
 * dispatch's flags accept without loading the schemas (cli/flags.ts `schemaFlag`'s `quick`).
 */
export function handoffFieldOk(key: (typeof HANDOFF_FIELDS)[number], value: unknown): boolean {
  return CHECKS[key]?.(value) === true;
}

/** The text of `handoffs/<data.id>.md` with `body`, or undefined: render and check it with the schemas. */
export function fastHandoffText(data: Handoff, body: string): string | undefined {
  if (!isTaskId(data.id) || data.title === undefined) return undefined;
  const yaml = fastFields(HANDOFF, data);
  if (yaml === undefined) return undefined;
  // Its own id is the file's (the path is made from it), so the rules judge the handoff as a reader of the file would.
  if (handoffRules(data, data.id).some((v) => v.severity === 'error')) return undefined;
  return fastFileText(HANDOFF, pathFor({ kind: 'handoff', id: data.id }), yaml, body);
}
