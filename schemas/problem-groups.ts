import type { FileProblem } from './errors.js';

/** Lines of problems a batch's error prints after its first one; the rest are counted (`--json` has each). */
export const MAX_PROBLEM_LINES = 20;
/** Places one grouped line names before it counts the rest. */
const MAX_PLACES = 8;

/**
 * The "also" lines of an error about many problems: problems with the same severity, field, reason and fix are one
 * line naming all their places (`tasks.jsonl:2-1000`), in the order each first appears, at most MAX_PROBLEM_LINES of
 * them. A batch of a thousand tasks for a node that is not there printed two thousand lines of the same problem,
 * and hid a different one among them. Pure.
 */
export function alsoLines(problems: readonly FileProblem[]): string[] {
  const groups = new Map<string, FileProblem[]>();
  for (const p of problems) {
    const key = JSON.stringify([p.severity, p.field, p.reason, p.fix]);
    const group = groups.get(key);
    if (group) group.push(p);
    else groups.set(key, [p]);
  }
  const lines: string[] = [];
  const all = [...groups.values()];
  for (const group of all.slice(0, MAX_PROBLEM_LINES)) {
    const p = group[0] as FileProblem;
    const count = group.length > 1 ? ` (${group.length} times)` : '';
    lines.push(`also ${p.severity}${count}: ${places(group.map((g) => g.path))}${p.field ? ` (${p.field})` : ''}: ${p.reason}\n    fix: ${p.fix}`);
  }
  const left = all.slice(MAX_PROBLEM_LINES).reduce((n, g) => n + g.length, 0);
  if (left > 0) lines.push(`... and ${left} more problem${left === 1 ? '' : 's'} of ${all.length - MAX_PROBLEM_LINES} other kind${all.length - MAX_PROBLEM_LINES === 1 ? '' : 's'} (--json lists every one)`);
  return lines;
}

/** `f:2-5, f:9, g` for f:2, f:3, f:4, f:5, f:9, g: runs of consecutive lines of one file as a range. */
export function places(paths: readonly string[]): string {
  const parts: string[] = [];
  let run: { file: string; from: number; to: number } | null = null;
  const close = () => {
    if (run) parts.push(run.from === run.to ? `${run.file}:${run.from}` : `${run.file}:${run.from}-${run.to}`);
    run = null;
  };
  for (const path of paths) {
    const m = /^(.*):(\d+)$/.exec(path);
    const file = m?.[1];
    const line = m ? Number(m[2]) : NaN;
    if (file !== undefined && Number.isSafeInteger(line)) {
      if (run !== null && run.file === file && run.to + 1 === line) {
        run.to = line;
        continue;
      }
      close();
      run = { file, from: line, to: line };
      continue;
    }
    close();
    parts.push(path);
  }
  close();
  const shown = parts.slice(0, MAX_PLACES).join(', ');
  return parts.length > MAX_PLACES ? `${shown} and ${parts.length - MAX_PLACES} more` : shown;
}
