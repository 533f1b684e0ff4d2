import { describe, expect, it } from 'vitest';
import { quotedName } from '../../schemas/quoted-name.js';

describe('quotedName', () => {
  it('quotes a plain name as it is, letters of any script included', () => {
    expect(quotedName('feature/café-2')).toBe('"feature/café-2"');
  });

  it('escapes spaces of every kind, line separators, invisible and bidirectional marks, curly quotes, and its own quote and backslash', () => {
    expect(quotedName('a\u00a0b\u2028c\u200bd\u202ee“f”g"h\\i j\u{e0001}')).toBe('"a\\u00a0b\\u2028c\\u200bd\\u202ee\\u201cf\\u201dg\\"h\\\\i\\u0020j\\u{e0001}"');
  });

  it('escapes a combining mark that would sit on the opening quote, and keeps one after a letter', () => {
    expect(quotedName('\u0301e\u0301')).toBe('"\\u0301e\u0301"');
  });

  it('cuts a long name and says how long it was', () => {
    expect(quotedName('x'.repeat(100), 10)).toBe('"xxxxxxxxxx"… (a name of 100 characters, cut)');
  });
});
