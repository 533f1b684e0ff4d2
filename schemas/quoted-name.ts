/**
 * A name from untrusted text (a branch a task's run made) as one token in a sentence people read: in double quotes,
 * with every character that could pass for something else written as an escape. git takes nearly any character in
 * a branch name, so without this a name with no-break spaces (U+00A0), a line separator (U+2028), an invisible or
 * bidirectional mark, or quotes of its own would read as words of the sentence around it. Letters, digits,
 * punctuation and symbols stay as they are, so that `feature/café` reads as written; spaces of every kind, control
 * and format characters, unassigned and private-use code points, curly quotes, and a combining mark at the start
 * (which would sit on the opening quote) become `\uXXXX` (`\u{XXXXX}` beyond the BMP); `"` and `\` get a backslash.
 * A name longer than `maxChars` code points is cut, and says so after its closing quote. Pure.
 */
const SHOWN_AS_IS = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const ESCAPED_ANYWAY = /^[\p{Pi}\p{Pf}\u201a\u201e\u300c-\u300f\ufe41-\ufe44\uff02\uff07]$/u;

function escape(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

export function quotedName(name: string, maxChars = 80): string {
  const chars = [...name];
  const shown = chars.slice(0, maxChars).map((c, i) => {
    if (c === '"' || c === '\\') return `\\${c}`;
    if (!SHOWN_AS_IS.test(c) || ESCAPED_ANYWAY.test(c) || (i === 0 && /^\p{M}$/u.test(c))) return escape(c);
    return c;
  });
  const cut = chars.length > maxChars ? `… (a name of ${chars.length} characters, cut)` : '';
  return `"${shown.join('')}"${cut}`;
}
