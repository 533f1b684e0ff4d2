/**
 * Whether a JSON text nests lists and objects more than `max` levels deep, read in one pass over its brackets
 * (strings skipped) and without recursion: the checks after JSON.parse walk a value level by level, and a line of
 * 100,000 brackets took them quadratic time and memory (gigabytes) before any error. Pure.
 */
export function jsonNestedDeeperThan(json: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x22) {
      // A string: its brackets are text. An escaped character is skipped with its backslash.
      for (i++; i < json.length && json.charCodeAt(i) !== 0x22; i++) if (json.charCodeAt(i) === 0x5c) i++;
    }
  }
  return false;
}
