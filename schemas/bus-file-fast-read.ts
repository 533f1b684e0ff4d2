import { CLAIM_SCHEMA_REF, fastClaimText } from './claim-fast.js';
import { CLAIM_FIELDS } from './claim-fields.js';
import type { Claim } from './claim.js';
import { decodeFileText } from './file-text.js';
import { fastHandoffText, HANDOFF_SCHEMA_REF } from './handoff-fast.js';
import { HANDOFF_FIELDS, handoffRules } from './handoff-fields.js';
import type { Handoff } from './handoff.js';
import { isAttempt, isTaskId } from './ids.js';
import { pathFor } from './layout.js';
import { fastResponseText, RESPONSE_SCHEMA_REF } from './response-fast.js';
import { RESPONSE_FIELDS } from './response-fields.js';
import type { TaskResponse } from './response.js';

/**
 * A handoff, claim or response read without zod or yaml, when its file is one gitbus writes (issue 14): in a process
 * of its own the schemas script (zod, yaml and the schemas, cli/schemas-script.ts) is ~15 ms of a ~40 ms `status`,
 * which every command after a dispatch, a claim or a response paid to parse the one new file. The file is read back
 * into data by the inverse of yaml-line.ts, and taken only when the kind's fast writer (handoff-fast.ts,
 * claim-fast.ts, response-fast.ts) writes exactly its bytes again from that data: a file that writer makes is one
 * `parseBusFile` accepts and reads back as that data (test/unit/handoff-fast.test.ts, fast-files.test.ts), so this
 * gives what parseBusFile gives, or undefined and the caller parses with the schemas. A file with anything a person's
 * editor or another tool would write differently (comments, other quoting, blank lines, a field the writer leaves to
 * yaml, a warning from the rules) goes to the schemas, which also word its problems.
 */

/** What parseBusFile gives for a file it accepts with no warning: its data and body. */
export interface FastRead<T> {
  data: T;
  body: string;
}

interface Reader<T> {
  head: string;
  fields: ReadonlyMap<string, number>;
  names: readonly string[];
  /** The writer's text for the data, when the data is fit for the file at `path`, else undefined. */
  write(data: T, body: string, path: string): string | undefined;
}

const WHOLE_NUMBER_RE = /^-?(?:0|[1-9][0-9]*)$/;

function reader<T>(schemaRef: string, names: readonly string[], write: Reader<T>['write']): Reader<T> {
  return { head: `---\n# yaml-language-server: $schema=${schemaRef}\n`, fields: new Map(names.map((key, i) => [key, i])), names, write };
}

// The file name is the file's identity; parseBusFile would say so about another id or attempt, and word any warning.
// The rules across fields run on data the writer has checked field by field: read from a file, a value may be anything.
const HANDOFF = reader<Handoff>(HANDOFF_SCHEMA_REF, HANDOFF_FIELDS, (data, body, path) => {
  if (!isTaskId(data.id) || path !== pathFor({ kind: 'handoff', id: data.id })) return undefined;
  const text = fastHandoffText(data, body);
  return text !== undefined && handoffRules(data, data.id).length === 0 ? text : undefined;
});
const CLAIM = reader<Claim>(CLAIM_SCHEMA_REF, CLAIM_FIELDS, (data, body, path) =>
  isTaskId(data.id) && isAttempt(data.attempt) && path === pathFor({ kind: 'claim', id: data.id, attempt: data.attempt }) ? fastClaimText(data, body) : undefined,
);
const RESPONSE = reader<TaskResponse>(RESPONSE_SCHEMA_REF, RESPONSE_FIELDS, (data, body, path) =>
  isTaskId(data.id) && path === pathFor({ kind: 'response', id: data.id }) ? fastResponseText(data, body) : undefined,
);

/**
 * The file at `path` (`handoffs/<id>.md`, `claims/<id>.<attempt>.md`, `responses/<id>.md`) as parseBusFile reads
 * it; undefined for another kind of file, or one to parse with the schemas.
 */
export function fastBusFileRead(path: string, content: string | Uint8Array): FastRead<Handoff | Claim | TaskResponse> | undefined {
  if (path.startsWith('handoffs/')) return fastRead(HANDOFF, path, content);
  if (path.startsWith('claims/')) return fastRead(CLAIM, path, content);
  if (path.startsWith('responses/')) return fastRead(RESPONSE, path, content);
  return undefined;
}

function fastRead<T>(kind: Reader<T>, path: string, content: string | Uint8Array): FastRead<T> | undefined {
  const decoded = decodeFileText(path, content);
  if (!decoded.ok) return undefined;
  // Without a byte-order mark, which decodeFileText drops as parseBusFile does.
  const text = decoded.text;
  if (!text.startsWith(kind.head)) return undefined;
  const fields: Record<string, unknown> = {};
  let at = kind.head.length;
  let last = -1;
  for (;;) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) return undefined;
    const line = text.slice(at, nl);
    at = nl + 1;
    if (line === '---') break;
    const colon = line.indexOf(': ');
    if (colon < 0) return undefined;
    const index = kind.fields.get(line.slice(0, colon));
    // In the writer's order, each field once.
    if (index === undefined || index <= last) return undefined;
    last = index;
    const value = lineValue(line.slice(colon + 2));
    if (value === undefined) return undefined;
    fields[kind.names[index] as string] = value;
  }
  const data = fields as T;
  const body = text.slice(at);
  return kind.write(data, body, path) === text ? { data, body } : undefined;
}

/** A value as yaml-line.ts writes one: true/false, a whole number, a flow list of strings, or a string. */
function lineValue(s: string): unknown {
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (WHOLE_NUMBER_RE.test(s)) return Number(s);
  if (s.startsWith('[')) return flowList(s);
  const one = scalar(s, 0, false);
  return one !== undefined && one.end === s.length ? one.value : undefined;
}

/** `[a, "b", 'c']`: the items as strings, or undefined. */
function flowList(s: string): string[] | undefined {
  if (!s.endsWith(']')) return undefined;
  const items: string[] = [];
  if (s === '[]') return items;
  let at = 1;
  for (;;) {
    const item = scalar(s, at, true);
    if (item === undefined) return undefined;
    items.push(item.value);
    if (s.startsWith(', ', item.end)) at = item.end + 2;
    else return item.end === s.length - 1 ? items : undefined;
  }
}

/**
 * One string from `at`: double-quoted (the JSON string yaml writes then), single-quoted (`''` for a quote), or plain
 * (to the end, or in a list to the next `, ` or the closing `]`). Whether it is the writer's form is decided by
 * writing it again (fastRead): here only where it ends and what it says.
 */
function scalar(s: string, at: number, inFlow: boolean): { value: string; end: number } | undefined {
  const first = s[at];
  if (first === '"') {
    for (let i = at + 1; i < s.length; i++) {
      if (s[i] === '\\') i++;
      else if (s[i] === '"') {
        try {
          const value: unknown = JSON.parse(s.slice(at, i + 1));
          return typeof value === 'string' ? { value, end: i + 1 } : undefined;
        } catch {
          return undefined;
        }
      }
    }
    return undefined;
  }
  if (first === "'") {
    let value = '';
    for (let i = at + 1; i < s.length; i++) {
      if (s[i] !== "'") value += s[i];
      else if (s[i + 1] === "'") {
        value += "'";
        i++;
      } else return { value, end: i + 1 };
    }
    return undefined;
  }
  if (!inFlow) return { value: s.slice(at), end: s.length };
  const comma = s.indexOf(', ', at);
  const end = comma < 0 ? s.length - 1 : comma;
  return end > at ? { value: s.slice(at, end), end } : undefined;
}
