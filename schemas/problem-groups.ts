import type { FileProblem } from './errors.js';

/** Lines of problems a batch's error prints after its first one; the rest are counted (`--json` has each). */
export const MAX_PROBLEM_LINES = 20;
/** Places one grouped line names before it counts the rest. */
const MAX_PLACES = 8;

/**
 * The "also" lines of an error about many problems: problems with the same severity, field, reason and fix are one
 * line naming all their places (`tasks.jsonl:2-1000`), in the order each first appears, at most MAX_PROBLEM_LINES of
 * them. A batch of a thousand tasks for a node that is not there printed two thousand lines of the same problem,
 * and hid a different one among them. A plan's problems are all in one file and tell their places apart by a list
 * position in the field (`workstreams.3.to`): fields that differ only in their first position are the same field,
 * named by runs of positions (`plan.md (workstreams.2-32.to)`). Pure.
 */
export function alsoLines(problems: readonly FileProblem[]): string[] {
  const groups = new Map<string, FileProblem[]>();
  for (const p of problems) {
    const key = JSON.stringify([p.severity, fieldShape(p.field), p.reason, p.fix]);
    const group = groups.get(key);
    if (group) group.push(p);
    else groups.set(key, [p]);
  }
  const lines: string[] = [];
  const all = [...groups.values()];
  for (const group of all.slice(0, MAX_PROBLEM_LINES)) {
    const p = group[0] as FileProblem;
    const count = group.length > 1 ? ` (${group.length} times)` : '';
    const where = group.every((g) => g.field === p.field) ? `${places(group.map((g) => g.path))}${p.field ? ` (${p.field})` : ''}` : fieldPlaces(group);
    lines.push(`also ${p.severity}${count}: ${where}: ${p.reason}\n    fix: ${p.fix}`);
  }
  const left = all.slice(MAX_PROBLEM_LINES).reduce((n, g) => n + g.length, 0);
  if (left > 0) lines.push(`... and ${left} more problem${left === 1 ? '' : 's'} of ${all.length - MAX_PROBLEM_LINES} other kind${all.length - MAX_PROBLEM_LINES === 1 ? '' : 's'} (--json lists every one)`);
  return lines;
}

/** A field's first list position, and the field around it (`workstreams.3.to`: 3, `workstreams.\0.to`). */
function firstPosition(field: string): { key: string; n: number } | null {
  const parts = field.split('.');
  const at = parts.findIndex((part) => /^\d+$/.test(part));
  const n = Number(parts[at]);
  if (at < 0 || !Number.isSafeInteger(n)) return null;
  parts[at] = '\0';
  return { key: parts.join('.'), n };
}

/** A field with its first list position left out: what fields the same but for that position share. */
function fieldShape(field: string): string {
  return firstPosition(field)?.key ?? field;
}

/**
 * Runs of consecutive numbers among `items`, in order: `split` gives an item's key and number (null: the item is
 * said as it is), `say` a run of one key.
 */
function runs(items: readonly string[], split: (item: string) => { key: string; n: number } | null, say: (key: string, from: number, to: number) => string): string[] {
  const parts: string[] = [];
  let run: { key: string; from: number; to: number } | null = null;
  const close = () => {
    if (run) parts.push(say(run.key, run.from, run.to));
    run = null;
  };
  for (const item of items) {
    const at = split(item);
    if (at === null) {
      close();
      parts.push(item);
      continue;
    }
    if (run !== null && run.key === at.key && run.to + 1 === at.n) {
      run.to = at.n;
      continue;
    }
    close();
    run = { key: at.key, from: at.n, to: at.n };
  }
  close();
  return parts;
}

const upTo = (parts: readonly string[]): string => {
  const shown = parts.slice(0, MAX_PLACES).join(', ');
  return parts.length > MAX_PLACES ? `${shown} and ${parts.length - MAX_PLACES} more` : shown;
};

/** `plan.md (workstreams.2-5.to, workstreams.9.to)`: each file once, with its fields' positions as runs. */
function fieldPlaces(group: readonly FileProblem[]): string {
  const byPath = new Map<string, string[]>();
  for (const p of group) {
    const fields = byPath.get(p.path);
    if (fields) fields.push(p.field);
    else byPath.set(p.path, [p.field]);
  }
  const say = (key: string, from: number, to: number) => key.replace('\0', from === to ? String(from) : `${from}-${to}`);
  return upTo([...byPath].map(([path, fields]) => `${path} (${upTo(runs(fields, firstPosition, say))})`));
}

/** `f:2-5, f:9, g` for f:2, f:3, f:4, f:5, f:9, g: runs of consecutive lines of one file as a range. */
export function places(paths: readonly string[]): string {
  const fileLine = (path: string) => {
    const m = /^(.*):(\d+)$/.exec(path);
    const line = m ? Number(m[2]) : NaN;
    return m?.[1] !== undefined && Number.isSafeInteger(line) ? { key: m[1], n: line } : null;
  };
  return upTo(runs(paths, fileLine, (file, from, to) => (from === to ? `${file}:${from}` : `${file}:${from}-${to}`)));
}
