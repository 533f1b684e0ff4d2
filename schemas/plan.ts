import { z } from './zod.js';
import { GitbusError, type FileProblem } from './errors.js';
import { problemsFromIssues } from './field-problems.js';
import { labelSchema, nodeNameSchema, runnerSchema, text } from './fields.js';
import { COMMAND_RUNNERS, MAX_COMMAND_BYTES, MAX_FILE_BYTES, MAX_TITLE_CHARS } from './field-limits.js';
import { parseFrontmatter } from './frontmatter.js';
import { claudeRequestSchema } from './handoff.js';
import { positiveDurationSchema } from './duration-schema.js';
import { GROUP_NAME_RE, GROUP_NAME_RULE } from './project.js';
import { groupNameSchema } from './project-schema.js';
import { alsoLines } from './problem-groups.js';

/**
 * A fan-out plan (docs/PROTOCOL.md "Plan files"): one feature split into workstreams that run in parallel, each on
 * its own branch, then merged by an integration task. Markdown with YAML frontmatter like a bus file; the body is
 * the brief every workstream shares. Plans are the user's own files, not bus files, but they become handoffs, so
 * they are held to the same rules and reported the same way: file, field, reason, fix.
 */

export const MAX_WORKSTREAMS = 32;
/**
 * The most bytes of a plan file gitbus reads: what a bus file may hold, since the brief and a workstream's tasks
 * go whole into one handoff (each at most that size).
 */
export const MAX_PLAN_BYTES = MAX_FILE_BYTES;

/** A plan over MAX_PLAN_BYTES: never parsed. `size`: its size, or undefined when it was read only to the cap. */
export function planTooLargeProblem(path: string, size?: number): FileProblem {
  return {
    path,
    field: '',
    reason: `the plan is ${size === undefined ? 'more than' : `${size} bytes, more than`} ${MAX_PLAN_BYTES / 1024} KiB, the most gitbus reads of a plan (what one handoff may hold)`,
    fix: 'shorten the brief or the workstreams\' tasks: keep long material in files of the project and name them',
    severity: 'error',
  };
}
/**
 * Where a workstream is in messages: `workstreams.N`, counted from 1. A YAML list shows no positions, so a person
 * finds "workstreams.2" by counting the plan's `- name:` entries, from one; a count from 0 sent them to the wrong
 * workstream. Every list position in a plan's field paths is counted so (parsePlan, planListField).
 */
export const workstreamField = (index: number) => `workstreams.${index + 1}`;

/**
 * A field path from elsewhere (a handoff's problem, counted from 0 as bus files are) with its list positions counted
 * from 1, to be said within a plan's field. Handoffs have no mappings keyed by numbers, so a number is a position.
 */
export const planListField = (field: string) => field.split('.').map((p) => (/^\d+$/.test(p) ? String(Number(p) + 1) : p)).join('.');

/** The name of the integration branch's last part: a workstream of that name would share its branch. */
export const INTEGRATION = 'integration';

const oneLine = (what: string, maxChars = MAX_TITLE_CHARS) => text({ what, maxChars, oneLine: true });

/** What any workstream may set, and the plan may set as the default for all. */
const sharedFields = {
  to: z.optional(nodeNameSchema),
  labels: z.optional(z.array(labelSchema)).register(z.globalRegistry, { description: 'a list of labels' }),
  runner: z.optional(runnerSchema),
  command: z.optional(text({ what: 'a command line for sh -c', maxBytes: MAX_COMMAND_BYTES })),
  claude: z.optional(claudeRequestSchema),
  timeout: z.optional(positiveDurationSchema),
};

export const workstreamSchema = z.strictObject({
  name: groupNameSchema,
  title: z.optional(oneLine('one line saying what this workstream does')),
  tasks: text({ what: "the workstream's tasks in Markdown (mission, key files, checklist, tests, success criteria)" }),
  ...sharedFields,
}).register(z.globalRegistry, { description: 'a workstream: {name, title, tasks, to, labels, runner, command, claude, timeout}' });

export const integrateSchema = z.strictObject({
  to: z.optional(nodeNameSchema),
  labels: z.optional(z.array(labelSchema)).register(z.globalRegistry, { description: 'a list of labels' }),
}).register(z.globalRegistry, { description: 'where the integration task runs: {to, labels}, or false for no integration task' });

/** Field order here is the order of the documentation. */
export const planSchema = z.strictObject({
  group: z.optional(groupNameSchema),
  title: oneLine('one line naming the feature'),
  ...sharedFields,
  workstreams: z.array(workstreamSchema).check(z.minLength(1), z.maxLength(MAX_WORKSTREAMS)).register(z.globalRegistry, { description: `a list of 1 to ${MAX_WORKSTREAMS} workstreams` }),
  integrate: z.optional(integrateSchema),
}).register(z.globalRegistry, { description: 'a fan-out plan' });

export type PlanData = z.infer<typeof planSchema>;
export type Workstream = z.infer<typeof workstreamSchema>;

/** A plan that passed every rule; `group` filled from the file name when the plan names none. */
export interface Plan extends Omit<PlanData, 'group' | 'integrate'> {
  group: string;
  /** false: no integration task. */
  integrate: z.infer<typeof integrateSchema> | false;
  /** The Markdown body: the brief every workstream gets. */
  brief: string;
}

export class InvalidPlanError extends GitbusError {
  readonly code = 'INVALID_PLAN';
  readonly problems: FileProblem[];
  constructor(problems: FileProblem[]) {
    const first = problems[0];
    const head = first ? `${first.path}${first.field ? ` (field ${first.field})` : ''}: ${first.reason}` : 'invalid plan';
    const more = problems.length > 1 ? ` (+${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
    super(head + more, first?.fix ?? 'correct the plan', { problems });
    this.problems = problems;
    // As a batch's error: every kind of problem after the first, the same problem on many workstreams one line.
    for (const line of alsoLines(problems.slice(1))) this.message += `\n${line}`;
  }
}

const DATE_PREFIX_RE = /^\d{4}[-_]\d{2}[-_]\d{2}(?:[-_T]\d{2}){0,3}[-_]+/;

/**
 * The group a plan file's name gives (`specs/2025_06_07_14_35_00_conversation_system.md` → `conversation_system`,
 * as seed 003 named its features): the base name without extension and leading date, lower case, other
 * characters as "-". The date stays when no letter follows it (`2025_06_07_14_35_00.md` keeps it whole): what
 * would be left (`00`) is a name unrelated plans share, and a group's branches must be its own. Undefined when
 * nothing usable is left. Pure.
 */
export function groupFromFileName(path: string): string | undefined {
  const base = (path.split(/[\\/]/).pop() ?? '').replace(/\.[^.]*$/, '');
  const undated = base.replace(DATE_PREFIX_RE, '');
  const slug = (/[a-z]/i.test(undated) ? undated : base)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63)
    .replace(/[-.]+$/, '');
  return GROUP_NAME_RE.test(slug) ? slug : undefined;
}

const FROM_DISPATCH: Record<string, string> = {
  repo: 'give --repo URL to gitbus fanout, or run it inside a checkout of the project',
  base: 'give --base REF to gitbus fanout, or run it on the branch to start from',
  baseCommit: 'give --base-commit SHA to gitbus fanout, or run it inside a checkout of the project',
  branch: 'remove it: each workstream works on <group>/<name>, the integration on <group>/integration',
};

/** Rules across fields and workstreams, after the schema accepted each field. Pure. */
function planRules(path: string, p: PlanData): FileProblem[] {
  const out: FileProblem[] = [];
  const err = (field: string, reason: string, fix: string) => out.push({ path, field, reason, fix, severity: 'error' });
  const seen = new Map<string, number>();
  p.workstreams.forEach((ws, i) => {
    const at = workstreamField(i);
    const first = seen.get(ws.name);
    if (first !== undefined) err(`${at}.name`, `the workstream name "${ws.name}" is used twice (also ${workstreamField(first)})`, 'give every workstream its own name: it becomes its branch');
    else seen.set(ws.name, i);
    if (ws.name === INTEGRATION) err(`${at}.name`, `"${INTEGRATION}" is the integration task's branch`, 'choose another name for this workstream');
    const runner = ws.runner ?? p.runner;
    const command = ws.command ?? p.command;
    if (runner === 'merge' || runner === 'manual') {
      err(`${at}.runner`, `a workstream cannot use the ${runner} runner`, 'use claude (the default), shell, tmux or icecc; the integration task is the merge');
    } else if (runner !== undefined && COMMAND_RUNNERS.includes(runner) && command === undefined) {
      err(`${at}.command`, `the ${runner} runner needs a command, and the workstream has none`, `add "command: <command line>" to the workstream or the plan, or use "runner: claude"`);
    }
  });
  if (p.runner === 'merge' || p.runner === 'manual') err('runner', `workstreams cannot use the ${p.runner} runner`, 'use claude (the default), shell, tmux or icecc');
  return out;
}

/**
 * Reads and validates a plan file. Never throws for bad content: every problem comes back, each naming the file,
 * the field and the fix. Pure.
 */
export function parsePlan(path: string, content: string | Uint8Array): { ok: true; plan: Plan } | { ok: false; problems: FileProblem[] } {
  const size = typeof content === 'string' ? Buffer.byteLength(content) : content.length;
  if (size > MAX_PLAN_BYTES) return { ok: false, problems: [planTooLargeProblem(path, size)] };
  const read = parseFrontmatter(path, content);
  if (!read.ok) return read;
  const raw = { ...read.data };
  const problems: FileProblem[] = [];
  for (const [key, fix] of Object.entries(FROM_DISPATCH)) {
    if (Object.hasOwn(raw, key)) {
      problems.push({ path, field: key, reason: `a plan does not name "${key}": it comes from where the fan-out is dispatched`, fix, severity: 'error' });
      delete raw[key];
    }
  }
  const noIntegration = raw['integrate'] === false;
  if (noIntegration) delete raw['integrate'];
  const parsed = planSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) problems.push(...problemsFromIssues(path, planSchema, parsed.error.issues, { countFrom: 1 }));
  else problems.push(...planRules(path, parsed.data));
  const group = parsed.success ? (parsed.data.group ?? groupFromFileName(path)) : undefined;
  if (parsed.success && group === undefined) {
    problems.push({ path, field: 'group', reason: 'the plan names no group, and its file name gives none', fix: `add "group: <name>" (${GROUP_NAME_RULE})`, severity: 'error' });
  }
  if (!parsed.success || group === undefined || problems.length > 0) return { ok: false, problems };
  const { group: _named, integrate, ...rest } = parsed.data;
  return { ok: true, plan: { ...rest, group, integrate: noIntegration ? false : (integrate ?? {}), brief: read.body } };
}
