/**
 * What changed between two reads of a task's output (`logs --follow`, `dispatch --wait`, the web view). Each read
 * is a window onto the output as terminal text: a local log grows, a heartbeat carries only its last few KiB (the
 * window slides), the response keeps more, and a line still being written (a progress bar redrawn with \r) can
 * change in place. Linear in the sizes (a local log is up to 8 MiB, read every second). Pure.
 */

/** `append`: `text` follows what was shown. `reset`: what was shown is not a part of `next`; show `next` instead. */
export type OutputChange = { reset: false; text: string } | { reset: true; text: string };

/**
 * An overlap this short between the end of what was shown and the start of the new window is taken as chance
 * unless what was shown ends a line: a redrawn last line (`progress 1%` to `progress 2%`) shares a few characters
 * with many a window, a slid window shares most of its 4 KiB.
 */
const MIN_OVERLAP = 64;

export function outputChange(prev: string, next: string): OutputChange {
  const at = align(prev, next);
  return at === null ? { reset: true, text: next } : { reset: false, text: next.slice(at) };
}

/**
 * What a terminal that printed `prev` prints for `next`: it cannot take back what it printed, so after a reset it
 * prints the lines from where they differ again, on a line of their own: a progress bar redrawn once a second
 * shows as one line per read, `progress 1%`, `progress 2%`…; a window with nothing in common, whole.
 */
export function newOutput(prev: string, next: string): string {
  const at = align(prev, next);
  if (at !== null) return next.slice(at);
  const lineEnd = prev.lastIndexOf('\n') + 1;
  // Only the unfinished last line changed: what follows the finished ones.
  const from = lineEnd > 0 && lineEnd < prev.length ? align(prev.slice(0, lineEnd), next) : null;
  const lineBreak = prev.endsWith('\n') ? '' : '\n';
  return lineBreak + next.slice(from ?? 0);
}

/** Where in `next` what follows `prev` starts; null when `next` is not a window onto the same output as `prev`. */
function align(prev: string, next: string): number | null {
  if (!prev || next.startsWith(prev)) return prev.length;
  // A wider window (the response keeps more than a heartbeat) that contains everything shown so far.
  const wider = scan(prev, next);
  if (wider.lastEnd >= 0) return wider.lastEnd;
  // A narrower window inside what was shown: nothing new. Else the window slid: its start overlaps prev's end.
  const slid = scan(next, prev);
  if (slid.lastEnd >= 0) return next.length;
  const k = slid.tail;
  return k > 0 && (k >= MIN_OVERLAP || prev.endsWith('\n')) ? k : null;
}

/**
 * Knuth-Morris-Pratt: `pattern` run over `text` once. `lastEnd`: where its last occurrence in `text` ends (-1: none);
 * `tail`: the length of the longest start of `pattern` that `text` ends with (short of a whole occurrence).
 */
function scan(pattern: string, text: string): { lastEnd: number; tail: number } {
  if (pattern.length === 0) return { lastEnd: text.length, tail: 0 };
  return run(pattern, borders(pattern), text);
}

/** border[i]: the length of the longest proper prefix of pattern[0..i] that is also its suffix. */
function borders(pattern: string): Int32Array {
  const border = new Int32Array(pattern.length);
  let k = 0;
  for (let i = 1; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    while (k > 0 && pattern.charCodeAt(k) !== c) k = border[k - 1] ?? 0;
    if (pattern.charCodeAt(k) === c) k++;
    border[i] = k;
  }
  return border;
}

function run(pattern: string, border: Int32Array, text: string): { lastEnd: number; tail: number } {
  const m = pattern.length;
  let j = 0;
  let lastEnd = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    while (j > 0 && pattern.charCodeAt(j) !== c) j = border[j - 1] ?? 0;
    if (pattern.charCodeAt(j) === c) j++;
    if (j === m) {
      lastEnd = i + 1;
      j = border[j - 1] ?? 0;
    }
  }
  return { lastEnd, tail: j };
}
