/**
 * A unified diff of two texts, pure, for `gitbus env diff`: what applying the profile would change in a file. Line
 * based, by longest common subsequence; texts too large for that are reported as differing without a diff.
 */

const CONTEXT = 3;
/** Cells of the LCS table at most (after the common start and end are cut off). */
const MAX_CELLS = 4_000_000;

type Op = { kind: ' ' | '-' | '+'; line: string };

function lines(text: string): string[] {
  if (text === '') return [];
  const out = text.split('\n');
  if (out[out.length - 1] === '') out.pop();
  return out;
}

function middleOps(a: string[], b: string[]): Op[] | null {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) return null;
  // lcs[i][j] = LCS length of a[i..] and b[j..], in one flat array.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = a[i] === b[j] ? (lcs[(i + 1) * w + j + 1] ?? 0) + 1 : Math.max(lcs[(i + 1) * w + j] ?? 0, lcs[i * w + j + 1] ?? 0);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i] ?? '' });
      i++;
      j++;
    } else if ((lcs[(i + 1) * w + j] ?? 0) >= (lcs[i * w + j + 1] ?? 0)) ops.push({ kind: '-', line: a[i++] ?? '' });
    else ops.push({ kind: '+', line: b[j++] ?? '' });
  }
  while (i < n) ops.push({ kind: '-', line: a[i++] ?? '' });
  while (j < m) ops.push({ kind: '+', line: b[j++] ?? '' });
  return ops;
}

/**
 * `--- a` / `+++ b` and hunks with three lines of context; '' when the texts are equal; a one-line note when they
 * are too large to compare line by line or are not text.
 */
export function unifiedDiff(before: string, after: string, labels: { a: string; b: string }): string {
  if (before === after) return '';
  if (before.includes('\u0000') || after.includes('\u0000')) return `Binary files ${labels.a} and ${labels.b} differ\n`;
  const a = lines(before);
  const b = lines(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end++;
  const middle = middleOps(a.slice(start, a.length - end), b.slice(start, b.length - end));
  if (!middle) return `Files ${labels.a} and ${labels.b} differ (too large to show line by line)\n`;
  const ops: Op[] = [...a.slice(0, start).map((line): Op => ({ kind: ' ', line })), ...middle, ...a.slice(a.length - end).map((line): Op => ({ kind: ' ', line }))];
  const out = [`--- ${labels.a}`, `+++ ${labels.b}`];
  // Hunks: runs of changes with up to CONTEXT unchanged lines around them, merged when their contexts touch.
  let k = 0;
  let aLine = 1;
  let bLine = 1;
  const advance = (op: Op) => {
    if (op.kind !== '+') aLine++;
    if (op.kind !== '-') bLine++;
  };
  while (k < ops.length) {
    if (ops[k]?.kind === ' ') {
      advance(ops[k] as Op);
      k++;
      continue;
    }
    let from = k;
    let back = 0;
    while (from > 0 && back < CONTEXT && ops[from - 1]?.kind === ' ') {
      from--;
      back++;
    }
    let to = k;
    for (;;) {
      while (to < ops.length && ops[to]?.kind !== ' ') to++;
      let ctx = 0;
      while (to + ctx < ops.length && ops[to + ctx]?.kind === ' ') ctx++;
      if (to + ctx < ops.length && ctx <= 2 * CONTEXT) {
        to += ctx;
        continue;
      }
      to += Math.min(ctx, CONTEXT);
      break;
    }
    const hunk = ops.slice(from, to);
    const aStart = aLine - back;
    const bStart = bLine - back;
    const aCount = hunk.filter((o) => o.kind !== '+').length;
    const bCount = hunk.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${aCount === 0 ? aStart - 1 : aStart},${aCount} +${bCount === 0 ? bStart - 1 : bStart},${bCount} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.line}`);
    for (let x = k; x < to; x++) advance(ops[x] as Op);
    k = to;
  }
  return `${out.join('\n')}\n`;
}
