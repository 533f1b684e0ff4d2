/**
 * A tool result cut to fit one MCP message. The SDK's stdio client closes the whole session when one line passes
 * 10 MiB, and a result goes out twice in that line (as text and as structured content): a `show` of a task with
 * forty 250 KB claims written by hand, or a `status` of tasks waiting on 25,000 ids, ended the client's session,
 * one of them after its dispatch was committed. A result over MAX_RESULT_CHARS of compact JSON is cut: long strings
 * and long lists shortened together, more at each step until it fits (a log's end kept, KEEP_END), and `cut` says
 * where. Pure.
 */

/** The most characters of compact JSON a result keeps: with its pretty text beside it, a line of about 3 MB. */
export const MAX_RESULT_CHARS = 1 << 20;

/** How far each try shortens: strings to this many characters, lists to this many items. */
const STEPS: readonly (readonly [number, number])[] = [
  [65_536, 1_000],
  [16_384, 200],
  [4_096, 50],
  [1_024, 20],
  [256, 5],
];

/**
 * Fields that hold the end of a log (`wait`'s output, `logs`' text): cut from their start, so that what is kept is
 * the newest output, where a failure's error is.
 */
const KEEP_END: ReadonlySet<string> = new Set(['output', 'text']);

/** Paths named in `cut`; the rest are counted. */
const NAMED = 20;

export interface ResultCut {
  note: string;
  /** Each shortened value: `files.3.text: 1024 of 250000 characters`, `tasks: 20 of 3000 items`. */
  paths: string[];
  /** Shortened values not named in `paths`. */
  more: number;
}

export function fitResult(out: Record<string, unknown>, max = MAX_RESULT_CHARS): Record<string, unknown> {
  if (JSON.stringify(out).length <= max) return out;
  let last: Record<string, unknown> = out;
  for (const [chars, items] of STEPS) {
    const paths: string[] = [];
    const shrunk = shrink(out, chars, items, '', paths) as Record<string, unknown>;
    const cut: ResultCut = {
      note: `this result was cut to fit one MCP message (${max} characters of JSON): strings to ${chars} characters, lists to ${items} items; ask for less (status: states, limit), or read it whole with the CLI (gitbus show ID --json, gitbus logs ID)`,
      paths: paths.slice(0, NAMED),
      more: Math.max(0, paths.length - NAMED),
    };
    last = { ...shrunk, cut };
    if (JSON.stringify(last).length <= max) return last;
  }
  // Wider than the last step allows (thousands of fields): the last try goes out, still far below a line's limit.
  return last;
}

function shrink(value: unknown, chars: number, items: number, path: string, paths: string[]): unknown {
  if (typeof value === 'string') {
    if (value.length <= chars) return value;
    if (KEEP_END.has(path)) {
      paths.push(`${path}: the last ${chars} of ${value.length} characters`);
      return `(${value.length - chars} earlier characters cut) …${value.slice(-chars)}`;
    }
    paths.push(`${path}: ${chars} of ${value.length} characters`);
    return `${value.slice(0, chars)}… (${value.length - chars} more characters cut)`;
  }
  if (Array.isArray(value)) {
    if (value.length > items) paths.push(`${path}: ${items} of ${value.length} items`);
    return value.slice(0, items).map((v, i) => shrink(v, chars, items, path ? `${path}.${i}` : String(i), paths));
  }
  if (value === null || typeof value !== 'object') return value;
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) o[k] = shrink(v, chars, items, path ? `${path}.${k}` : k, paths);
  return o;
}
