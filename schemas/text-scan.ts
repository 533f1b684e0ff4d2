/**
 * Small scans that a short command would otherwise make with regular expressions. V8 keeps no regular expression in
 * a code cache: each one a command runs is compiled at its first run and compiled again to machine code at its
 * second, ~10-60 µs each: a `dispatch` ran ~55, ~1.4 ms in a script of their own, and without 28 of them it took
 * ~0.2 ms less (issue 14; docs/PERFORMANCE.md "The boot from a code cache the build makes, and what a start
 * compiled at every run", session 54). These functions come from the code cache
 * with the rest. Each says which expression it stands for, and test/unit/text-scan.test.ts holds each to that
 * expression on generated strings. Pure.
 */

/** An ASCII letter, either case. */
function isAsciiLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

/** 0-9. */
export function isAsciiDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** `\w` without the `u` flag: A-Z, a-z, 0-9 and `_`. */
export function isWordChar(c: number): boolean {
  return isAsciiLetter(c) || isAsciiDigit(c) || c === 0x5f;
}

/** ECMAScript's line terminators, where `^` and `$` match in a multiline expression. */
function isLineTerminator(c: number): boolean {
  return c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;
}

/** `\s`: ECMAScript's white space and line terminators. */
export function isJsSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** How many ASCII digits `s` has from `from` on, in a row. */
export function digitCount(s: string, from: number): number {
  let i = from;
  while (i < s.length && isAsciiDigit(s.charCodeAt(i))) i++;
  return i - from;
}

/** Whether all of `s` from `from` on is `test`'s characters (true for an empty rest). */
export function allFrom(s: string, from: number, test: (c: number) => boolean): boolean {
  for (let i = from; i < s.length; i++) if (!test(s.charCodeAt(i))) return false;
  return true;
}

/** Whether `s` has `word` (lower-case ASCII letters and others) at `at`, letters in either case: the `i` flag. */
export function hasAsciiCaseless(s: string, at: number, word: string): boolean {
  if (at < 0 || at + word.length > s.length) return false;
  for (let k = 0; k < word.length; k++) {
    const c = s.charCodeAt(at + k);
    const w = word.charCodeAt(k);
    if (c !== w && !(w >= 0x61 && w <= 0x7a && c === w - 0x20)) return false;
  }
  return true;
}

/** `/^[a-z][a-z0-9+.-]*:\/\//i`: `s` starts with a URL scheme and `://`. */
export function hasUrlScheme(s: string): boolean {
  if (s.length === 0 || !isAsciiLetter(s.charCodeAt(0))) return false;
  let i = 1;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(isAsciiLetter(c) || isAsciiDigit(c) || c === 0x2b || c === 0x2e || c === 0x2d)) break;
  }
  return s.startsWith('://', i);
}

/** `/^https?:\/\//i`. */
export function isHttpUrl(s: string): boolean {
  return hasAsciiCaseless(s, 0, 'http://') || hasAsciiCaseless(s, 0, 'https://');
}

/**
 * Whether `text[at]` starts a line once the white space before it is skipped: `^\s*` of a multiline expression
 * ending at `at` (its `\s*` may run over blank lines).
 */
export function afterLineStartSpace(text: string, at: number): boolean {
  for (let i = at - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (isLineTerminator(c)) return true;
    if (!isJsSpace(c)) return false;
  }
  return true;
}

/** The index of the first character from `from` on that is not `\s`. */
export function skipJsSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && isJsSpace(text.charCodeAt(i))) i++;
  return i;
}

/** `\s*$` of a multiline expression from `from`: white space up to a line's end or the text's. */
export function spaceToLineEnd(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isLineTerminator(c)) return true;
    if (!isJsSpace(c)) return false;
  }
  return true;
}

/** `/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/`: a surrogate not in a pair. */
export function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c >= 0xdc00) return true;
    const next = s.charCodeAt(i + 1);
    if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
    i++;
  }
  return false;
}

/** Whether `s` is `prefix` and then one or more ASCII digits, and nothing else. */
export function isPrefixAndDigits(s: string, prefix: string): boolean {
  return s.length > prefix.length && s.startsWith(prefix) && allFrom(s, prefix.length, isAsciiDigit);
}
