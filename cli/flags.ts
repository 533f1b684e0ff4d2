import type { z } from 'zod/mini';
import { InputError } from '../bus/errors.js';
import { DURATION_RULE, tryParseDuration } from '../schemas/duration.js';
import { InvalidBusFileError, type FileProblem } from '../schemas/errors.js';
import { problemsFromIssues } from '../schemas/field-problems.js';
import { RUNNERS } from '../schemas/field-limits.js';

/**
 * Parsers for flag values, run by commander while it reads the command line: a bad value is refused before
 * anything is opened or written, as BAD_INPUT (exit 2) naming the flag and the accepted form. The rules are the
 * bus schemas' own, so a value a flag accepts is never refused later against a generated file's path.
 */

function bad(flag: string, value: string, reason: string, fix: string): InputError {
  return new InputError(`${flag} ${JSON.stringify(value)} is not valid: ${reason}`, fix, { flag, value });
}

/** `value` if the schema accepts it, else BAD_INPUT naming `flag` with the schema's reason and fix. */
export function checkFlag<T>(flag: string, schema: z.ZodMiniType<T>, value: unknown): T {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  const p = problemsFromIssues('', schema, r.error.issues)[0];
  throw bad(flag, String(value), p?.reason ?? 'it breaks the rule for this flag', p ? `${flag}: ${p.fix}` : `give ${flag} a valid value`);
}

/**
 * A flag's schema, or a function that gives it. Commands declare their flags at every start, and where the schemas
 * are a script of their own (cli/schemas-script.ts) reading one there would run it even for a flag not given.
 */
export type FlagSchema = z.ZodMiniType<string> | (() => z.ZodMiniType<string>);

/**
 * `quick`: a value it accepts is valid without asking the schema (the same rule, without zod: schemas/handoff-fast.ts),
 * so that a `dispatch` with valid flags loads no schemas; any other value is checked, and refused, by the schema.
 */
function flagCheck(flag: string, schema: FlagSchema, quick: ((v: string) => boolean) | undefined): (v: string) => string {
  return (v) => (quick?.(v) === true ? v : checkFlag(flag, typeof schema === 'function' ? schema() : schema, v));
}

/** A commander parser checking one value against a schema. */
export function schemaFlag(flag: string, schema: FlagSchema, quick?: (v: string) => boolean): (v: string) => string {
  return flagCheck(flag, schema, quick);
}

/** A repeatable flag whose every value must pass the schema. */
export function repeatableFlag(flag: string, schema: FlagSchema, quick?: (v: string) => boolean): (v: string, previous?: string[]) => string[] {
  const check = flagCheck(flag, schema, quick);
  return (v, previous = []) => [...previous, check(v)];
}

/** A whole number from `min` to `max`. */
export function intFlag(flag: string, min: number, max: number): (v: string) => number {
  const rule = `a whole number from ${min} to ${max}`;
  return (v) => {
    if (!/^-?\d+$/.test(v.trim())) throw bad(flag, v, 'it is not a whole number', `give ${flag} ${rule}`);
    const n = Number(v.trim());
    if (n < min || n > max) throw bad(flag, v, 'it is out of range', `give ${flag} ${rule}`);
    return n;
  };
}

/**
 * A duration as the bus writes them (5m, 30s). `positive`: zero refused; `zeroOff`: a bare `0` means "off".
 * Returns the text, which the bus stores as written.
 */
export function durationFlag(flag: string, opts: { positive?: boolean; zeroOff?: boolean; range?: DurationRange } = {}): (v: string) => string {
  return (v) => {
    if (opts.zeroOff && v.trim() === '0') return '0';
    const ms = tryParseDuration(v);
    if (ms === undefined) throw bad(flag, v, 'it is not a duration', `give ${flag} ${DURATION_RULE}${opts.zeroOff ? ', or 0 for off' : ''}`);
    if (opts.positive && ms <= 0) throw bad(flag, v, 'it must be longer than zero', `give ${flag} a duration above zero, for example 30s or 5m`);
    const r = opts.range;
    if (r && (ms < r.minMs || (r.maxMs !== undefined && ms > r.maxMs))) throw bad(flag, v, `it is out of range (${r.text})`, `give ${flag} a duration ${r.text}`);
    return v;
  };
}

/** Bounds of a duration flag, and how they are said (`from 1s to 1m`). */
export interface DurationRange {
  minMs: number;
  maxMs?: number;
  text: string;
}

/**
 * `gitbus ui --poll`: the bounds the bus's `poll` setting is kept in there (web/server.ts). `gitbus watch --poll`:
 * at least half a second (1ms kept a third of a CPU busy listing refs); no upper bound, a watcher may wait long.
 */
export const UI_POLL_RANGE: DurationRange = { minMs: 1000, maxMs: 60_000, text: 'from 1s to 1m' };
export const WATCH_POLL_RANGE: DurationRange = { minMs: 500, text: 'of at least 500ms' };

/** A duration flag's value in milliseconds (after durationFlag accepted it), or undefined when not given. */
export function durationMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return value.trim() === '0' ? 0 : tryParseDuration(value);
}

/** One of a fixed set, with the set in the fix (commander's own choices() error names no accepted form for --json). */
export function oneOfFlag<T extends string>(flag: string, values: readonly T[]): (v: string) => T {
  return (v) => {
    if ((values as readonly string[]).includes(v)) return v as T;
    throw bad(flag, v, 'it is not one of the accepted values', `give ${flag} one of ${values.join(', ')}`);
  };
}

/** Like oneOfFlag, repeatable. */
export function repeatableOneOf<T extends string>(flag: string, values: readonly T[]): (v: string, previous?: T[]) => T[] {
  const one = oneOfFlag(flag, values);
  return (v, previous = []) => [...previous, one(v)];
}

/** The flag (or argument) of `gitbus dispatch` / `gitbus run` that sets each handoff field. */
const HANDOFF_FLAGS: Record<string, string> = {
  id: '--id',
  title: 'TITLE',
  to: '--to',
  labels: '--label',
  runner: '--runner',
  command: '--command',
  workdir: '--workdir',
  after: '--after',
  priority: '--priority',
  timeout: '--timeout',
  schedule: '--schedule',
  repo: '--repo',
  base: '--base',
  baseCommit: '--base',
  branch: '--branch',
};

/**
 * A problem with the handoff a command is about to write, as BAD_INPUT naming the flag that set the field: the
 * user typed flags, not the generated file, so the file's path and field mean nothing to them. `whole`: the
 * flag to name for a problem with the file as a whole (its size: the body).
 */
export function handoffFlagError(problem: FileProblem, whole: string): InputError {
  const top = problem.field.split('.')[0] ?? '';
  const flag = HANDOFF_FLAGS[top] ?? whole;
  const fix = top === 'command' && /needs a command/.test(problem.reason) ? 'give --command CMD, or --runner manual for a task people or agents claim by hand' : `${flag}: ${problem.fix}`;
  return new InputError(`${flag}: ${problem.reason}`, fix, { flag, field: problem.field });
}

/**
 * Runs a dispatch built from flags; a handoff that fails validation (rules across fields, such as a shell task
 * without --command, or a body over the size limit) becomes BAD_INPUT naming the flag, not the generated path.
 */
export async function dispatchFromFlags<T>(run: () => Promise<T>, whole: string): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const first = err instanceof InvalidBusFileError ? err.problems.find((p) => p.severity === 'error') : undefined;
    if (first && first.path.startsWith('handoffs/')) throw handoffFlagError(first, whole);
    throw err;
  }
}

/** init's and join's --runner: every runner a node may enable, from the one list of them (schemas/fields.ts). */
export const RUNNER_FLAG_HELP = `a runner this node's watcher may use: ${RUNNERS.join(', ')} (repeatable; none by default)`;
