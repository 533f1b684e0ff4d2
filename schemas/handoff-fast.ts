import { decodeFileText, findConflictMarker } from './file-text.js';
import { RUNNERS } from './field-limits.js';
import { splitFrontmatter } from './frontmatter-split.js';
import { COMMAND_TEXT, HANDOFF_FIELDS, handoffRules, TITLE_TEXT, WORKDIR_TEXT, workdirViolation } from './handoff-fields.js';
import type { Handoff } from './handoff.js';
import { isLabel, isNodeName, isTaskId } from './ids.js';
import { durationViolation } from './duration.js';
import { pathFor } from './layout.js';
import { BASE_TEXT, baseViolation, BRANCH_TEXT, branchViolation, COMMIT_RE, GROUP_NAME_RE, REPO_TEXT, repoViolation } from './project.js';
import type { Violation } from './rule.js';
import { PERSON_TEXT, textViolation, type TextOptions } from './text-rule.js';
import { timestampMs } from './timestamp.js';
import { yamlValue } from './yaml-line.js';

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

type Check = (value: unknown) => boolean;

const ruled = (text: TextOptions, rule?: (s: string) => Violation | undefined): Check => (v) =>
  typeof v === 'string' && textViolation(v, text) === undefined && (rule === undefined || rule(v) === undefined);
const matches = (re: RegExp): Check => (v) => typeof v === 'string' && re.test(v);
// Every index, holes too: `every` skips a hole, which the schema reads as undefined and refuses.
const listOf = (item: Check): Check => (v) => {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (!item(v[i])) return false;
  return true;
};
const isBoolean: Check = (v) => typeof v === 'boolean';

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

const KNOWN: ReadonlySet<string> = new Set(HANDOFF_FIELDS);

/**
 * True when `value` is certainly valid as the handoff's field `key` (false: not checked here, or not valid): what
 * dispatch's flags accept without loading the schemas (cli/flags.ts `schemaFlag`'s `quick`).
 */
export function handoffFieldOk(key: (typeof HANDOFF_FIELDS)[number], value: unknown): boolean {
  return CHECKS[key]?.(value) === true;
}

/** The text of `handoffs/<data.id>.md` with `body`, or undefined: render and check it with the schemas. */
export function fastHandoffText(data: Handoff, body: string): string | undefined {
  // renderBusFile's own terms for the data: a plain mapping (its fields are read below, and a prototype's would be
  // too), and no unknown key, even one whose value is undefined (the strict schema refuses it).
  const proto = Object.getPrototypeOf(data) as unknown;
  if (proto !== Object.prototype && proto !== null) return undefined;
  if (!isTaskId(data.id)) return undefined;
  const fields = data as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(fields)) if (!KNOWN.has(key)) return undefined;
  if (fields['title'] === undefined) return undefined;
  let yaml = '';
  for (const key of HANDOFF_FIELDS) {
    const value = fields[key];
    if (value === undefined) continue;
    const check = CHECKS[key];
    const line = check?.(value) === true ? yamlValue(value) : undefined;
    if (line === undefined) return undefined;
    yaml += `${key}: ${line}\n`;
  }
  // Its own id is the file's (the path is made from it), so the rules judge the handoff as a reader of the file would.
  if (handoffRules(data, data.id).some((v) => v.severity === 'error')) return undefined;
  const text = `---\n# yaml-language-server: $schema=${HANDOFF_SCHEMA_REF}\n${yaml}---\n${body}`;
  const path = pathFor({ kind: 'handoff', id: data.id });
  if (!decodeFileText(path, text).ok) return undefined;
  const split = splitFrontmatter(text);
  if (!split.ok || split.body !== body || findConflictMarker(text, split.frontmatterLines) !== undefined) return undefined;
  return text;
}
