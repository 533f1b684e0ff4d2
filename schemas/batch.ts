import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { z } from './zod.js';
import { isExtraKey } from './bus-file.js';
import { GitbusError, type FileProblem } from './errors.js';
import { problemsFromIssues, unknownFieldProblem } from './field-problems.js';
import { alsoLines } from './problem-groups.js';
import { text } from './fields.js';
import { handoffSchema, type Handoff } from './handoff.js';
import { handoffRules } from './handoff-fields.js';
import { duplicateJsonKey } from './json-duplicate-key.js';
import { jsonNestedDeeperThan } from './json-depth.js';
import { duplicateKey, MAX_DEPTH, parseYaml } from './safe-yaml.js';

/**
 * A batch file for `gitbus dispatch --from FILE` (docs/PROTOCOL.md §10a): many independent tasks that go on the
 * bus in ONE commit. Two shapes, because two kinds of author write them:
 *
 * - **JSON Lines** (one JSON object per line), for scripts: every line stands alone (`jq -c`, a loop of `printf`,
 *   `split -l`), needs no quoting rules beyond JSON's, and a problem is named by its line number.
 * - **YAML** with `tasks: [...]`, for people: comments, multi-line bodies without `\n`, the same safe YAML as bus
 *   files and plan files. A JSON document `{"tasks": [...]}` is YAML too.
 *
 * Each task holds a handoff's own fields (docs/PROTOCOL.md §3, §3a; `id` optional, to choose one), plus `body`,
 * `context` and `instructions` as `dispatch --body-file/--context/--instructions` give them, plus `x-` fields of
 * its own. `from` and `created` are written by gitbus. Pure: no I/O.
 */

/** The most tasks one batch (one commit) takes. */
export const MAX_BATCH_TASKS = 1000;
/** The most bytes of handoffs and signatures one batch's commit carries. */
export const MAX_BATCH_BYTES = 16 * 1024 * 1024;
/** The most bytes of batch file gitbus reads. */
export const MAX_BATCH_INPUT_BYTES = 64 * 1024 * 1024;

export type BatchFormat = 'jsonl' | 'yaml';

const PLACEHOLDER_REPO = 'batch-checkout';

const markdown = (what: string) => text({ what, minChars: 0 });

const { protocol: _p, from: _f, created: _c, ...handoffFields } = handoffSchema.shape;

/** Field order here is the order of the documentation. */
export const batchTaskSchema = z.strictObject({
  ...handoffFields,
  body: z.optional(markdown('the task description in Markdown (default: the title)')),
  context: z.optional(markdown('background the worker needs')),
  instructions: z.optional(markdown('how to do it and how to report back')),
}).register(z.globalRegistry, { description: 'a task: the fields of a handoff, plus body, context and instructions' });

export type BatchTaskData = z.infer<typeof batchTaskSchema>;

/** One task of a batch, checked field by field; the rules across fields are checked once the handoff is built. */
export interface BatchTask {
  /** `FILE:LINE`, where the task starts: the path of every problem about it. */
  at: string;
  /** What its fields are named under in messages: '' for JSON Lines, `tasks.3.` for YAML. */
  field: string;
  /** The handoff's fields as written (no `body`, `context`, `instructions`). */
  handoff: Omit<Handoff, 'protocol' | 'from' | 'created'>;
  body?: string;
  context?: string;
  instructions?: string;
  /** `x-` fields, kept in the handoff as they are. */
  extras: Record<string, unknown>;
}

/**
 * A batch file read: its tasks, or its problems with the tasks that passed on their own lines (`tasks`), so that the
 * checks against the bus can name those lines' problems in the same run (bus/ops/dispatch-batch.ts).
 */
export type BatchParse = { ok: true; format: BatchFormat; tasks: BatchTask[] } | { ok: false; format: BatchFormat; problems: FileProblem[]; tasks: BatchTask[] };

export class InvalidBatchError extends GitbusError {
  readonly code = 'INVALID_BATCH';
  readonly problems: FileProblem[];
  constructor(problems: FileProblem[]) {
    const first = problems[0];
    const head = first ? `${first.path}${first.field ? ` (field ${first.field})` : ''}: ${first.reason}` : 'invalid batch';
    const more = problems.length > 1 ? ` (+${problems.length - 1} more problem${problems.length > 2 ? 's' : ''}; nothing was dispatched)` : ' (nothing was dispatched)';
    super(head + more, first?.fix ?? 'correct the batch file', { problems });
    this.problems = problems;
    // A person fixing the file wants every kind of problem at once, after the first and its fix (the first line,
    // and `data.problems` for scripts with each problem, stay as they were); the same problem on many lines is one.
    for (const line of alsoLines(problems.slice(1))) this.message += `\n${line}`;
  }
}

export class BatchTooLargeError extends GitbusError {
  readonly code = 'BATCH_TOO_LARGE';
  constructor(what: string, limit: string, data: Record<string, unknown> = {}) {
    super(
      `${what}; one batch (one commit) takes at most ${limit}, so nothing was dispatched`,
      `split the file and dispatch each part (JSON Lines: split -l ${MAX_BATCH_TASKS} FILE part-); each part is one commit`,
      { ...data, limit },
    );
  }
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** The size cap on the handoffs and signatures a batch commits. Throws BatchTooLargeError. Pure. */
export function checkBatchBytes(bytes: number): void {
  if (bytes > MAX_BATCH_BYTES) throw new BatchTooLargeError(`the batch's handoffs and signatures come to ${mib(bytes)}`, mib(MAX_BATCH_BYTES), { bytes });
}

function checkCount(path: string, count: number): void {
  if (count > MAX_BATCH_TASKS) throw new BatchTooLargeError(`${path} has ${count} tasks`, `${MAX_BATCH_TASKS} tasks`, { tasks: count });
}

function decode(path: string, content: string | Uint8Array): string | FileProblem {
  const size = typeof content === 'string' ? Buffer.byteLength(content) : content.length;
  if (size > MAX_BATCH_INPUT_BYTES) throw new BatchTooLargeError(`${path} is ${mib(size)}`, mib(MAX_BATCH_INPUT_BYTES), { bytes: size });
  let t: string;
  try {
    t = typeof content === 'string' ? content : new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(content);
  } catch {
    return { path, field: '', reason: 'the file is not valid UTF-8', fix: 'save it as UTF-8 text', severity: 'error' };
  }
  if (t.includes('\u0000')) return { path, field: '', reason: 'the file contains a NUL byte, so it is not text', fix: 'write the batch as UTF-8 text', severity: 'error' };
  return t.startsWith('\uFEFF') ? t.slice(1) : t;
}

function hasTasksKey(whole: string): boolean {
  try {
    const v: unknown = JSON.parse(whole);
    return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, 'tasks');
  } catch {
    return false;
  }
}

/**
 * JSON Lines or YAML: by the file's extension (`.jsonl`/`.ndjson`; `.yaml`/`.yml`/`.json`), else (standard
 * input, other names) by the content: JSON Lines when the first non-blank line starts with `{`, unless the whole
 * text is one JSON document with `tasks`. Pure.
 */
export function batchFormat(path: string, content: string): BatchFormat {
  const ext = /\.([A-Za-z]+)$/.exec(path)?.[1]?.toLowerCase();
  if (ext === 'jsonl' || ext === 'ndjson') return 'jsonl';
  if (ext === 'yaml' || ext === 'yml' || ext === 'json') return 'yaml';
  const first = content.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  return first.startsWith('{') && !hasTasksKey(content) ? 'jsonl' : 'yaml';
}

/** One task's fields against the schema; problems named `at` (the file and line), fields under `prefix`. Pure. */
function checkTask(at: string, prefix: string, raw: unknown): BatchTask | FileProblem[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    const shape = raw === null ? 'null' : Array.isArray(raw) ? 'a list' : `a ${typeof raw}`;
    return [{ path: at, field: prefix.replace(/\.$/, ''), reason: `a task must be a mapping of fields, and this is ${shape}`, fix: 'write the task as {"title": "...", ...}', severity: 'error' }];
  }
  // No prototype: on a plain {} a "__proto__" key would set the prototype, and the schema would read its fields as
  // the task's own; here it stays a key, which the schema refuses as an unknown field.
  const fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const extras: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(raw)) {
    if (isExtraKey(key)) extras[key] = value;
    else fields[key] = value;
  }
  const parsed = batchTaskSchema.safeParse(fields, { reportInput: true });
  if (!parsed.success) return problemsFromIssues(at, batchTaskSchema, parsed.error.issues).map((p) => ({ ...p, field: `${prefix}${p.field}`.replace(/\.$/, '') }));
  const { body, context, instructions, ...handoff } = parsed.data;
  // The rules across fields, but those about project work: its `repo` may still come from the checkout the
  // batch is dispatched in (checked again on the whole handoff, once built).
  const rules = handoffRules({ ...handoff, repo: handoff.repo ?? PLACEHOLDER_REPO }).filter((v) => v.severity === 'error');
  if (rules.length > 0) return rules.map((v) => ({ path: at, field: `${prefix}${v.field}`, reason: v.reason, fix: v.fix, severity: 'error' }));
  return { at, field: prefix, handoff, extras, ...(body !== undefined ? { body } : {}), ...(context !== undefined ? { context } : {}), ...(instructions !== undefined ? { instructions } : {}) };
}

function jsonLines(path: string, content: string): { tasks: BatchTask[]; problems: FileProblem[] } {
  const lines = content.split('\n');
  const filled = lines.filter((l) => l.trim() !== '').length;
  checkCount(path, filled);
  const tasks: BatchTask[] = [];
  const problems: FileProblem[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const at = `${path}:${i + 1}`;
    if (jsonNestedDeeperThan(line, MAX_DEPTH)) {
      problems.push({ path: at, field: '', reason: `the line is nested more than ${MAX_DEPTH} levels deep`, fix: 'flatten the value: a task is one object of fields whose values are text, numbers, lists or small objects', severity: 'error' });
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      problems.push({ path: at, field: '', reason: `the line is not JSON: ${(err as Error).message}`, fix: 'write one task per line as one JSON object, e.g. {"title": "Run the tests", "command": "make test"}', severity: 'error' });
      return;
    }
    const twice = duplicateJsonKey(line);
    if (twice !== null) {
      problems.push({ path: at, field: [...twice.path, twice.key].join('.'), ...duplicateKey(twice.key, i + 1), severity: 'error' });
      return;
    }
    const r = checkTask(at, '', raw);
    if (Array.isArray(r)) problems.push(...r);
    else tasks.push(r);
  });
  return { tasks, problems };
}

/** The file line each item of the top-level `tasks` list starts on. */
function taskLines(content: string): number[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(content, { version: '1.2', schema: 'core', merge: false, uniqueKeys: false, lineCounter });
  const tasks = isMap(doc.contents) ? doc.contents.get('tasks', true) : undefined;
  return isSeq(tasks) ? tasks.items.map((item) => lineCounter.linePos((item as { range?: [number] } | null)?.range?.[0] ?? 0).line) : [];
}

function yamlTasks(path: string, content: string): { tasks: BatchTask[]; problems: FileProblem[] } {
  const read = parseYaml(path, content, 1);
  if (!read.ok) return { tasks: [], problems: read.problems };
  const doc = read.value;
  const shapeFix = 'write "tasks:" and under it one "- title: ..." item per task (or JSON Lines: one JSON object per line)';
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return { tasks: [], problems: [{ path, field: '', reason: 'the file is not a mapping with "tasks"', fix: shapeFix, severity: 'error' }] };
  }
  const problems: FileProblem[] = [];
  for (const key of Object.keys(doc)) if (key !== 'tasks') problems.push(unknownFieldProblem(path, [], key, ['tasks']));
  const list = (doc as Record<string, unknown>)['tasks'];
  if (!Array.isArray(list) || list.length === 0) {
    problems.push({ path, field: 'tasks', reason: list === undefined ? 'the file has no "tasks"' : 'expected a list of at least one task', fix: shapeFix, severity: 'error' });
    return { tasks: [], problems };
  }
  checkCount(path, list.length);
  const lines = taskLines(content);
  const tasks: BatchTask[] = [];
  list.forEach((raw, i) => {
    const r = checkTask(`${path}:${lines[i] ?? 1}`, `tasks.${i}.`, raw);
    if (Array.isArray(r)) problems.push(...r);
    else tasks.push(r);
  });
  return { tasks, problems };
}

/** Rules across the tasks of one batch: a chosen id used twice. Pure. */
function batchRules(tasks: BatchTask[]): FileProblem[] {
  const seen = new Map<string, string>();
  const out: FileProblem[] = [];
  for (const t of tasks) {
    const id = t.handoff.id;
    if (id === undefined) continue;
    const first = seen.get(id);
    if (first !== undefined) out.push({ path: t.at, field: `${t.field}id`, reason: `the id ${id} is chosen twice (also at ${first})`, fix: 'give each task its own id, or leave "id" out to get a generated one', severity: 'error' });
    else seen.set(id, t.at);
  }
  return out;
}

/**
 * Reads a batch file. Every problem comes back at once, each naming `FILE:LINE`, the field, the reason and the
 * fix; throws only BatchTooLargeError (more than MAX_BATCH_TASKS tasks, or a file over MAX_BATCH_INPUT_BYTES),
 * before reading the tasks. `path` is the file as given (`-`: standard input). Pure.
 */
export function parseBatch(path: string, content: string | Uint8Array): BatchParse {
  const name = path === '-' ? 'stdin' : path;
  const decoded = decode(name, content);
  if (typeof decoded !== 'string') return { ok: false, format: 'jsonl', problems: [decoded], tasks: [] };
  const format = batchFormat(path, decoded);
  const { tasks, problems } = format === 'jsonl' ? jsonLines(name, decoded) : yamlTasks(name, decoded);
  if (format === 'jsonl' && tasks.length === 0 && problems.length === 0) {
    problems.push({ path: name, field: '', reason: 'the file has no tasks', fix: 'write one task per line, e.g. {"title": "Run the tests", "command": "make test"}', severity: 'error' });
  }
  const twice = batchRules(tasks);
  problems.push(...twice);
  // A line whose id another line chose too is left out of the checks against the bus: which one would keep it is
  // not decided.
  const passed = twice.length > 0 ? tasks.filter((t) => !twice.some((p) => p.path === t.at)) : tasks;
  return problems.length > 0 ? { ok: false, format, problems: inFileOrder(problems), tasks: passed } : { ok: true, format, tasks };
}

/** The line of `FILE:LINE`; 0 for the file as a whole; -1 for what is not in the file (a flag such as `--to`). Pure. */
function lineOf(path: string): number {
  if (path.startsWith('--')) return -1;
  const m = /:(\d+)$/.exec(path);
  return m ? Number(m[1]) : 0;
}

/**
 * A batch's problems as a person fixes them, top down: those of the command line's flags first, then the file's
 * own, then each line's in the order of the file (a line's keep their order). Pure.
 */
export function inFileOrder(problems: readonly FileProblem[]): FileProblem[] {
  return problems.map((p, i) => ({ p, i, line: lineOf(p.path) })).sort((a, b) => a.line - b.line || a.i - b.i).map((x) => x.p);
}
