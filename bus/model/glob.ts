/**
 * Whether `text` matches the glob `pattern`: `**` any run of characters, `*` any run without "/", `?` one
 * character but "/", anything else itself. Pure.
 *
 * Matched by dynamic programming in O(pattern × text), never through a regular expression: patterns can come
 * from a node card on the bus, and a backtracking regex built from `*a*a*a…` could hang whoever matches it.
 */
export function globMatch(pattern: string, text: string): boolean {
  const n = text.length;
  // reach[j]: the pattern so far can end exactly after text[0..j).
  let reach: boolean[] = new Array<boolean>(n + 1).fill(false);
  reach[0] = true;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const next: boolean[] = new Array<boolean>(n + 1).fill(false);
    if (c === '*') {
      const any = pattern[i + 1] === '*';
      if (any) i++;
      for (let j = 0; j <= n; j++) next[j] = reach[j] === true || (j > 0 && next[j - 1] === true && (any || text[j - 1] !== '/'));
    } else {
      for (let j = 0; j < n; j++) if (reach[j] && (c === '?' ? text[j] !== '/' : text[j] === c)) next[j + 1] = true;
    }
    reach = next;
  }
  return reach[n] === true;
}
