/** mulberry32: small, good enough to spread test cases, and replayable from one number. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One of `items`, drawn with `rand`. */
export function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

/**
 * Pieces of text that make YAML writers choose a style: indicators at the start, ": " and " #" inside, quotes,
 * flow characters, words the core schema reads as null, booleans or numbers, document markers, white space at the
 * ends, control characters, line breaks, separators, lone surrogates, and plain letters to glue them.
 */
export const YAML_PIECES: readonly string[] = [
  'a', 'b', 'x', 'Run', 'the tests', ' ', '  ', ':', ': ', ' #', '#', '-', '- ', '?', '? ', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>',
  "'", '"', '%', '@', '`', '~', 'null', 'Null', 'NULL', 'true', 'False', 'TRUE', 'yes', 'no', 'on', '0', '7', '42', '-3', '+5', '0o17', '0x1F',
  '0xg', '1e3', '.5', '3.', '.inf', '-.Inf', '.nan', '1_000', '---', '...', '\t', '\n', '\r', '\u0000', '\u0007', '\u001b', '\u007f', '\u0085',
  '\u00a0', '\u2028', '\u2029', '\ufeff', '\ud83d\ude80', '\ud800', '\udc00', 'é', 'ß', '日本', '\\', '/', '=', '<<', '$', '(', ')', '.', '..',
];

/** A string of 0..max pieces of YAML_PIECES. */
export function yamlishString(rand: () => number, max = 5): string {
  let s = '';
  const n = Math.floor(rand() * (max + 1));
  for (let i = 0; i < n; i++) s += pick(rand, YAML_PIECES);
  return s;
}
