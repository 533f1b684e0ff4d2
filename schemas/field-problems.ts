import type { z } from 'zod/mini';
import type { FileProblem } from './errors.js';
import type { FieldViolation } from './kind-rules.js';
import { describeRule, describeSchema, knownKeysAt, recordKeyAt, schemaAt } from './schema-walk.js';
import { nearestName } from './suggest.js';

/** A value as a person would describe it in one short phrase. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (typeof value === 'string') {
    if (value === '') return 'empty text';
    const chars = [...value];
    return chars.length > 60 ? `text of ${chars.length} characters starting ${JSON.stringify(chars.slice(0, 30).join(''))}` : `the text ${JSON.stringify(value)}`;
  }
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean') return `the value ${value}`;
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/**
 * A field's dotted path. `countFrom`: the number of a list's first item; zod counts from 0, and a file written for
 * people (a fan-out plan) counts its items as they do, from 1. Record keys are strings, so only list positions move.
 */
function joinPath(path: readonly PropertyKey[], countFrom: 0 | 1 = 0): string {
  return path.map((p) => (typeof p === 'number' ? String(p + countFrom) : String(p))).join('.');
}

export function unknownFieldProblem(path: string, parent: readonly PropertyKey[], key: string, known: readonly string[], countFrom: 0 | 1 = 0): FileProblem {
  const suggestion = nearestName(key, known);
  const field = joinPath([...parent, key], countFrom);
  const own = parent.length === 0 ? `, or rename it to "x-${key}" to keep it as your own field` : '';
  return {
    path,
    field,
    reason: `unknown field "${key}"`,
    fix:
      suggestion !== undefined
        ? `remove it or rename it to "${suggestion}"`
        : `remove it${own} (known fields: ${known.join(', ')})`,
    severity: 'error',
  };
}

function patternOf(issue: z.core.$ZodIssue): RegExp | undefined {
  if (issue.code !== 'invalid_format' || issue.format !== 'regex') return undefined;
  const m = /^\/(.*)\/([a-z]*)$/s.exec(issue.pattern ?? '');
  return m ? new RegExp(m[1] ?? '', m[2]) : undefined;
}

/**
 * The text to suggest for a number or true/false given where text is expected: the value itself in quotes when the
 * field takes that, else with a unit (`30` for a duration is `"30s"`), else undefined (nothing to quote that fits).
 */
function quotedCandidate(at: z.ZodMiniType | undefined, input: number | boolean): string | undefined {
  const plain = String(input);
  if (at === undefined) return plain;
  if (at.safeParse(plain).success) return plain;
  if (typeof input === 'number') return ['s', 'm'].map((unit) => `${plain}${unit}`).find((t) => at.safeParse(t).success);
  return undefined;
}

function fixFor(issue: z.core.$ZodIssue, key: string, expected: string, input: unknown, json: boolean, at: z.ZodMiniType | undefined): string {
  if (issue.code === 'invalid_type' && issue.expected === 'array' && (typeof input === 'string' || typeof input === 'number')) {
    return json ? `give it as a list, for example "${key}": [${JSON.stringify(input)}]` : `write it as a list, for example ${key}: [${String(input)}]`;
  }
  if (issue.code === 'invalid_type' && issue.expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')) {
    // Only a suggestion the field takes: a duration's `30` quoted is still not a duration.
    const text = quotedCandidate(at, input);
    if (text !== undefined) {
      return json ? `give it as a JSON string, for example "${key}": "${text}"` : `put the value in quotes so YAML reads it as text, for example ${key}: "${text}"`;
    }
    return `use ${expected}`;
  }
  if (typeof input === 'string') {
    const pattern = patternOf(issue);
    const lower = input.trim().toLowerCase();
    if (pattern && lower !== input && pattern.test(lower)) return `write it as "${lower}" (lower case, no spaces around it)`;
    if (issue.code === 'invalid_value') {
      const options = issue.values.filter((v): v is string => typeof v === 'string');
      const near = nearestName(input, options);
      if (near !== undefined) return `did you mean "${near}"? Use ${expected}`;
    }
  }
  return `use ${expected}`;
}

/**
 * Zod issues as FileProblems: the field's dotted path, what was expected (the schema's description) and what was found.
 * `json`: the values are a call's JSON arguments (mcp/call.ts), whose descriptions say what an argument is for: what
 * is expected is then said from the schema's type and bounds (describeRule), and fixes are in JSON, not YAML.
 * `countFrom`: as joinPath's.
 */
export function problemsFromIssues(path: string, schema: z.ZodMiniType, issues: readonly z.core.$ZodIssue[], opts: { json?: boolean; countFrom?: 0 | 1 } = {}): FileProblem[] {
  const json = opts.json === true;
  const countFrom = opts.countFrom ?? 0;
  const describe = json ? describeRule : describeSchema;
  const problems: FileProblem[] = [];
  // One problem per field: zod may report a value twice (not a safe integer, and too big), which says nothing more.
  const reported = new Set<string>();
  for (const issue of issues) {
    const field = joinPath(issue.path, countFrom);
    if (issue.code !== 'unrecognized_keys') {
      if (reported.has(field)) continue;
      reported.add(field);
    }
    const key = String(issue.path[issue.path.length - 1] ?? 'value');
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path);
      for (const k of issue.keys) problems.push(unknownFieldProblem(path, issue.path, k, known, countFrom));
      continue;
    }
    if (issue.code === 'invalid_key') {
      // The key is the fault, not its value: say what a key there must be (`workRoots` names a root).
      const rule = describe(recordKeyAt(schema, issue.path.slice(0, -1)));
      problems.push({ path, field, reason: `the name "${key}" is not ${rule}`, fix: `rename it: use ${rule}`, severity: 'error' });
      continue;
    }
    const at = schemaAt(schema, issue.path);
    const expected = describe(at);
    if (issue.code === 'custom') {
      const fix = (issue.params as { fix?: unknown } | undefined)?.fix;
      problems.push({ path, field, reason: issue.message, fix: typeof fix === 'string' ? fix : `use ${expected}`, severity: 'error' });
      continue;
    }
    const input = issue.input;
    if (issue.code === 'invalid_type' && input === undefined) {
      problems.push({ path, field, reason: `the required field "${key}" is missing`, fix: `add "${key}": ${expected}`, severity: 'error' });
      continue;
    }
    problems.push({ path, field, reason: `expected ${expected}, got ${describeValue(input)}`, fix: fixFor(issue, key, expected, input, json, at), severity: 'error' });
  }
  return problems;
}

export function problemsFromViolations(path: string, violations: readonly FieldViolation[]): FileProblem[] {
  return violations.map((v) => ({ path, field: v.field, reason: v.reason, fix: v.fix, severity: v.severity }));
}

/** Problems of one file described one by one; the rest are counted in one more (capProblems). */
export const MAX_FILE_PROBLEMS = 20;

/**
 * A file's problems, the first MAX_FILE_PROBLEMS as they are and the rest counted in one: a file of 10,000 unknown
 * keys is one mistake, not 10,000 lines in every status and lint. Pure.
 */
export function capProblems(path: string, problems: FileProblem[]): FileProblem[] {
  if (problems.length <= MAX_FILE_PROBLEMS + 1) return problems;
  const rest = problems.slice(MAX_FILE_PROBLEMS);
  const errors = rest.filter((p) => p.severity === 'error').length;
  const named = rest.slice(0, 3).map((p) => JSON.stringify(p.field.length > 40 ? `${p.field.slice(0, 39)}\u2026` : p.field || '(the file)'));
  return [
    ...problems.slice(0, MAX_FILE_PROBLEMS),
    {
      path,
      field: '',
      reason: `and ${rest.length} more problems in this file (fields ${named.join(', ')}${rest.length > 3 ? ', ...' : ''})`,
      fix: `correct the file; the first ${MAX_FILE_PROBLEMS} are named above`,
      severity: errors > 0 ? 'error' : 'warning',
    },
  ];
}
