import { decodeFileText } from './file-text.js';
import { fastHandoffText, HANDOFF_SCHEMA_REF } from './handoff-fast.js';
import { HANDOFF_FIELDS, handoffRules } from './handoff-fields.js';
import type { Handoff } from './handoff.js';
import { isTaskId } from './ids.js';
import { pathFor } from './layout.js';

/**
 * A handoff read without zod or yaml, when its file is one `dispatch` writes (issue 14): in a process of its own the
 * schemas script (zod, yaml and the schemas, cli/schemas-script.ts) is ~15 ms of a ~40 ms `status`, which every
 * command after a dispatch paid to parse the one new handoff. The file is read back into data by the inverse of
 * yaml-line.ts, and taken only when `fastHandoffText` writes exactly its bytes again from that data: a file that
 * writer makes is one `parseBusFile` accepts and reads back as that data (test/unit/handoff-fast.test.ts), so this
 * gives what parseBusFile gives, or undefined and the caller parses with the schemas. A file with anything a
 * person's editor or another tool would write differently (comments, other quoting, blank lines, a field the writer
 * leaves to yaml, a warning from the rules) goes to the schemas, which also word its problems.
 */

/** What parseBusFile gives for a handoff it accepts with no warning: its data and body. */
export interface FastHandoff {
  data: Handoff;
  body: string;
}

const HEAD = `---\n# yaml-language-server: $schema=${HANDOFF_SCHEMA_REF}\n`;
const FIELD_INDEX: ReadonlyMap<string, number> = new Map(HANDOFF_FIELDS.map((key, i) => [key, i]));
const WHOLE_NUMBER_RE = /^-?(?:0|[1-9][0-9]*)$/;

/** The handoff in `content`, the file at `path`, as parseBusFile reads it; undefined: parse it with the schemas. */
export function fastHandoffRead(path: string, content: string | Uint8Array): FastHandoff | undefined {
  const decoded = decodeFileText(path, content);
  if (!decoded.ok) return undefined;
  // Without a byte-order mark, which decodeFileText drops as parseBusFile does.
  const text = decoded.text;
  if (!text.startsWith(HEAD)) return undefined;
  const fields: Record<string, unknown> = {};
  let at = HEAD.length;
  let last = -1;
  for (;;) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) return undefined;
    const line = text.slice(at, nl);
    at = nl + 1;
    if (line === '---') break;
    const colon = line.indexOf(': ');
    if (colon < 0) return undefined;
    const index = FIELD_INDEX.get(line.slice(0, colon));
    // In the writer's order, each field once.
    if (index === undefined || index <= last) return undefined;
    last = index;
    const value = lineValue(line.slice(colon + 2));
    if (value === undefined) return undefined;
    fields[HANDOFF_FIELDS[index] as string] = value;
  }
  const data = fields as unknown as Handoff;
  const body = text.slice(at);
  // The file name is the task's identity; parseBusFile would say so about another id, and word any rule's warning.
  if (!isTaskId(data.id) || path !== pathFor({ kind: 'handoff', id: data.id })) return undefined;
  if (fastHandoffText(data, body) !== text) return undefined;
  if (handoffRules(data, data.id).length > 0) return undefined;
  return { data, body };
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
 * writing it again (fastHandoffRead): here only where it ends and what it says.
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
