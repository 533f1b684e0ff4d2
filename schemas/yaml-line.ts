/**
 * One `key: value` line of YAML exactly as `renderYaml` (safe-yaml.ts, the yaml package with gitbus's options)
 * writes it, for the values a dispatched handoff mostly holds: one-line strings, whole numbers, true/false and
 * lists of one-line strings. Without the yaml package (issue 14: a `dispatch` in a process of its own would
 * otherwise load it, with zod, for one file). Anything it is not sure to write as yaml would gives undefined, and
 * the caller renders with yaml: a string with a line break or another control character, a lone surrogate, a
 * document marker at its start, a fraction, a nested mapping. test/unit/yaml-line.test.ts compares it with
 * `renderYaml` on strings made to hit each of yaml's choices.
 */

/** yaml's test for a string that cannot be written plain (stringifyString.js `plainString`). */
const NOT_PLAIN_RE = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;

/** Strings the core schema would read back as null, a boolean or a number (yaml's core tags' `test`). */
const CORE_SCALAR_RES = [
  /^(?:~|[Nn]ull|NULL)?$/,
  /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
  /^0o[0-7]+$/,
  /^[-+]?[0-9]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
];

/**
 * Control characters and lone surrogates (yaml escapes them), line and paragraph separators, NEL and the byte
 * order mark (which yaml writes as they are, and which readers and editors may take for line breaks): left to yaml.
 */
const LEFT_TO_YAML_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A string as yaml writes it, plain or quoted; `inFlow`: an item of a `[a, b]` list. */
export function yamlString(value: string, inFlow: boolean): string | undefined {
  if (LEFT_TO_YAML_RE.test(value)) return undefined;
  // A document marker (---, ..., %) at a line's start: yaml writes such a value as a block scalar.
  if (/^(?:%|---|\.\.\.)/.test(value)) return undefined;
  if ((inFlow && /[[\]{},]/.test(value)) || NOT_PLAIN_RE.test(value) || CORE_SCALAR_RES.some((re) => re.test(value))) return quoted(value);
  return value;
}

/** yaml's `quotedString` without the `singleQuote` option: single quotes only for a value with `"` and no `'`. */
function quoted(value: string): string {
  if (value.includes('"') && !value.includes("'")) return `'${value.replace(/'/g, "''")}'`;
  // Without control characters, line breaks or lone surrogates yaml's double-quoted form is the JSON string.
  return JSON.stringify(value);
}

/** A value on one line: a string, a whole number, true/false, or a list of strings (flow style, as renderYaml writes lists). */
export function yamlValue(value: unknown): string | undefined {
  if (typeof value === 'string') return yamlString(value, false);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isSafeInteger(value) && !Object.is(value, -0) ? String(value) : undefined;
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (const item of value as unknown[]) {
      const s = typeof item === 'string' ? yamlString(item, true) : undefined;
      if (s === undefined) return undefined;
      items.push(s);
    }
    return `[${items.join(', ')}]`;
  }
  return undefined;
}
