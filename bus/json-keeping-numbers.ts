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
}

/** A JSON string literal, or a number; anything else between them is punctuation, spaces or a literal word. */
const TOKEN_RE = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/**
 * A mark for numbers kept as text while JSON.parse or JSON.stringify runs: U+0000, which JSON text holds in a string
 * only escaped (`\u0000`), then hex digits `text` does not hold, so that no string of the file can be taken for one.
 */
function numberMark(text: string): { id: string; value: string; escaped: string } {
  let id: string;
  do id = Math.random().toString(16).slice(2, 14);
  while (text.includes(id));
  return { id, value: `\u0000${id}:`, escaped: `\\u0000${id}:` };
}

/** JSON.parse, with the numbers whose text it would change kept as JsonNumberText. */
export function parseJsonKeepingNumbers(text: string): unknown {
  // Parsed as it is first: the common case (no such number), and the error message for text that is not JSON.
  const plain: unknown = JSON.parse(text);
  const numbers: string[] = [];
  const mark = numberMark(text);
  const marked = text.replace(TOKEN_RE, (token) => {
    if (token.startsWith('"') || JSON.stringify(Number(token)) === token) return token;
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
