/**
 * One `key: value` line of YAML exactly as `renderYaml` (safe-yaml.ts, the yaml package with gitbus's options)
 * writes it, for the values a dispatched handoff mostly holds: one-line strings, whole numbers, true/false and
 * lists of one-line strings. Without the yaml package (issue 14: a `dispatch` in a process of its own would
 * otherwise load it, with zod, for one file). Anything it is not sure to write as yaml would gives undefined, and
 * the caller renders with yaml: a string with a line break or another control character, a lone surrogate, a
 * document marker at its start, a fraction, a nested mapping. test/unit/yaml-line.test.ts compares it with
 * `renderYaml` on strings made to hit each of yaml's choices.
 */
import { allFrom, digitCount, hasLoneSurrogate, isAsciiDigit } from './text-scan.js';

/**
 * yaml's test for a string that cannot be written plain (stringifyString.js `plainString`),
 * `/^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/`, as a scan: a command
 * compiles each regular expression it runs, where this comes from the code cache (schemas/text-scan.ts).
 */
function notPlain(value: string): boolean {
  if (value.length === 0) return false;
  const first = value.charCodeAt(0);
  if (NOT_PLAIN_FIRST.includes(value.charAt(0))) return true;
  if (first === 0x3f || first === 0x2d) {
    if (value.length === 1) return true;
    const second = value.charCodeAt(1);
    if (second === 0x20 || second === 0x09) return true;
  }
  for (let i = 0; i + 1 < value.length; i++) {
    const c = value.charCodeAt(i);
    const next = value.charCodeAt(i + 1);
    if ((c === 0x0a || c === 0x3a) && (next === 0x20 || next === 0x09)) return true;
    if ((c === 0x20 || c === 0x09) && next === 0x0a) return true;
    if ((c === 0x0a || c === 0x09 || c === 0x20) && next === 0x23) return true;
  }
  const last = value.charCodeAt(value.length - 1);
  return last === 0x0a || last === 0x09 || last === 0x20 || last === 0x3a;
}

const NOT_PLAIN_FIRST = '\n\t ,[]{}#&*!|>\'"%@`';

/** Strings the core schema reads as null, a boolean or a .nan (yaml's core tags' `test`). */
const CORE_WORDS = new Set(['', '~', 'null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE', '.nan', '.NaN', '.NAN']);

/**
 * Strings the core schema would read back as null, a boolean or a number: yaml's core tags' `test`s,
 * `/^(?:~|[Nn]ull|NULL)?$/`, `/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/`, `/^0o[0-7]+$/`, `/^[-+]?[0-9]+$/`,
 * `/^0x[0-9a-fA-F]+$/`, `/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/`,
 * `/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/` and `/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/`, as a scan.
 */
function readsAsCoreScalar(value: string): boolean {
  if (CORE_WORDS.has(value)) return true;
  if (value.length > 2 && value.startsWith('0o')) return allFrom(value, 2, (c) => c >= 0x30 && c <= 0x37);
  if (value.length > 2 && value.startsWith('0x')) return allFrom(value, 2, (c) => isAsciiDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46));
  const signed = value.startsWith('-') || value.startsWith('+') ? 1 : 0;
  const rest = value.slice(signed);
  if (rest === '.inf' || rest === '.Inf' || rest === '.INF') return true;
  // A number: [-+]? then .D+, D+ or D+.D*, then an optional [eE][-+]?D+ (the last three tests together).
  let i = signed;
  const whole = digitCount(value, i);
  i += whole;
  let fraction = 0;
  if (value.charCodeAt(i) === 0x2e) {
    fraction = digitCount(value, i + 1);
    i += 1 + fraction;
  }
  if (whole === 0 && fraction === 0) return false;
  if (i === value.length) return true;
  const e = value.charCodeAt(i);
  if (e !== 0x65 && e !== 0x45) return false;
  i++;
  if (value.charCodeAt(i) === 0x2d || value.charCodeAt(i) === 0x2b) i++;
  return i < value.length && allFrom(value, i, isAsciiDigit);
}

/**
 * Control characters and lone surrogates (yaml escapes them), line and paragraph separators, NEL and the byte
 * order mark (which yaml writes as they are, and which readers and editors may take for line breaks): left to yaml.
 * `/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/`
 * as a scan.
 */
function leftToYaml(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029 || c === 0xfeff) return true;
  }
  return hasLoneSurrogate(value);
}

/** A string as yaml writes it, plain or quoted; `inFlow`: an item of a `[a, b]` list. */
export function yamlString(value: string, inFlow: boolean): string | undefined {
  if (leftToYaml(value)) return undefined;
  // A document marker (---, ..., %) at a line's start: yaml writes such a value as a block scalar.
  if (value.startsWith('%') || value.startsWith('---') || value.startsWith('...')) return undefined;
  if ((inFlow && hasFlowIndicator(value)) || notPlain(value) || readsAsCoreScalar(value)) return quoted(value);
  return value;
}

/** `/[[\]{},]/`. */
function hasFlowIndicator(value: string): boolean {
  for (let i = 0; i < value.length; i++) if ('[]{},'.includes(value.charAt(i))) return true;
  return false;
}

/** yaml's `quotedString` without the `singleQuote` option: single quotes only for a value with `"` and no `'`. */
function quoted(value: string): string {
  if (value.includes('"') && !value.includes("'")) return `'${value.replaceAll("'", "''")}'`;
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
