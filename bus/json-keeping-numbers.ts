import { mathRandomHex } from '../schemas/math-random.js';

/**
 * JSON read and written again without changing its numbers (pure). gitbus rewrites files that are not its own — a
 * node's Claude Code settings.json, merged by keys by `env apply` (bus/env/json-merge.ts) and by `gitbus setup claude`
 * (claude/settings.ts) — and the keys it does not manage must come out as they went in: JSON.parse turns
 * 12345678901234567890 into 12345678901234567000, and `1.0`, `1e3`, `-0`, `0.10` into other spellings.
 */

/**
 * A number whose text JSON.parse would not give back, kept as its text and written back as it
 * (renderJsonKeepingNumbers); `toJSON` gives the number, for anything else that prints the value.
 */
export class JsonNumberText {
  constructor(readonly text: string) {}
  toJSON(): number {
    return Number(this.text);
  }
  /**
   * What it is as a value, for hashing and comparing: JavaScript's spelling of the number when that is the value the
   * text writes (`30.0`, `1e3`, `0.10`: the same hash as JSON.parse's 30, 1000, 0.1 gave before numbers were kept),
   * else the text itself (`12345678901234567890` and `...891` are one double but two settings; `1e400` no double).
   */
  get valueText(): string {
    const js = JSON.stringify(Number(this.text));
    return js !== 'null' && decimalOf(js) === decimalOf(this.text) ? js : this.text;
  }
}

/** A JSON number's exact decimal value as `<sign><digits>e<exponent>`, without leading or trailing zeros (zero: "0"). */
function decimalOf(text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return text;
  const frac = m[3] ?? '';
  let digits = `${m[2] ?? ''}${frac}`.replace(/^0+/, '');
  let exp = BigInt(m[4] ?? '0') - BigInt(frac.length);
  const trailing = /0*$/.exec(digits)?.[0].length ?? 0;
  digits = digits.slice(0, digits.length - trailing);
  exp += BigInt(trailing);
  return digits === '' ? '0' : `${m[1] ?? ''}${digits}e${exp}`;
}

/**
 * `text` with `fn` applied to each number outside strings: scanned by hand, since a regular expression over a string
 * literal of some megabytes overflows V8's stack ("Maximum call stack size exceeded") and would call valid JSON invalid.
 */
function mapNumbers(text: string, fn: (token: string) => string): string {
  const out: string[] = [];
  let copied = 0;
  let i = 0;
  const isDigit = (c: number) => c >= 48 && c <= 57;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // A string: to its closing quote, past escaped characters.
      i++;
      while (i < text.length && text.charCodeAt(i) !== 34) i += text.charCodeAt(i) === 92 ? 2 : 1;
      i++;
    } else if (c === 45 || isDigit(c)) {
      const start = i;
      i++;
      while (i < text.length && (isDigit(text.charCodeAt(i)) || '.eE+-'.includes(text.charAt(i)))) i++;
      const token = text.slice(start, i);
      const replaced = fn(token);
      if (replaced !== token) {
        out.push(text.slice(copied, start), replaced);
        copied = i;
      }
    } else i++;
  }
  out.push(text.slice(copied));
  return out.join('');
}

/**
 * A mark for numbers kept as text while JSON.parse or JSON.stringify runs: U+0000, which JSON text holds in a string
 * only escaped (`\u0000`), then hex digits `text` does not hold, so that no string of the file can be taken for one.
 */
function numberMark(text: string): { id: string; value: string; escaped: string } {
  let id: string;
  do id = mathRandomHex(6);
  while (text.includes(id));
  return { id, value: `\u0000${id}:`, escaped: `\\u0000${id}:` };
}

/** JSON.parse, with the numbers whose text it would change kept as JsonNumberText. */
export function parseJsonKeepingNumbers(text: string): unknown {
  // Parsed as it is first: the common case (no such number), and the error message for text that is not JSON.
  const plain: unknown = JSON.parse(text);
  const numbers: string[] = [];
  const mark = numberMark(text);
  // The text parsed as JSON above, so each token scanned is a valid JSON number.
  const marked = mapNumbers(text, (token) => {
    if (JSON.stringify(Number(token)) === token) return token;
    numbers.push(token);
    return `"${mark.escaped}${numbers.length - 1}"`;
  });
  if (numbers.length === 0) return plain;
  return JSON.parse(marked, (_key, value: unknown) => {
    if (typeof value !== 'string' || !value.startsWith(mark.value)) return value;
    const number = numbers[Number(value.slice(mark.value.length))];
    return number === undefined ? value : new JsonNumberText(number);
  });
}

/** JSON.stringify with two spaces, each JsonNumberText written as its own text (no final newline). */
export function renderJsonKeepingNumbers(value: unknown): string {
  const numbers: string[] = [];
  const mark = numberMark('');
  const text = JSON.stringify(
    value,
    function (this: Record<string, unknown>, key: string, v: unknown) {
      // The holder's own value: toJSON has turned a JsonNumberText into a number by the time the replacer sees it.
      const own = this[key];
      if (!(own instanceof JsonNumberText)) return v;
      numbers.push(own.text);
      return `${mark.value}${numbers.length - 1}`;
    },
    2,
  );
  if (numbers.length === 0) return text;
  // JSON.stringify writes U+0000 as \u0000: the mark so written, in quotes, is where a number goes. A string of the
  // value's own that happened to hold the mark would be written by JSON.stringify with the same escape: the id is
  // random and 12 hex digits long.
  const place = new RegExp(`"${mark.escaped.replace(/\\/g, '\\\\')}(\\d+)"`, 'g');
  return text.replace(place, (whole, i: string) => numbers[Number(i)] ?? whole);
}
