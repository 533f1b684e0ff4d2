import { MAX_TITLE_CHARS } from '../../schemas/field-limits.js';
import type { ClaudeRequest, Handoff } from '../../schemas/handoff.js';
import { INTEGRATION, type Plan, type Workstream } from '../../schemas/plan.js';
import { workstreamBranch } from '../../schemas/project.js';

/**
 * A fan-out plan turned into handoffs (docs/PROTOCOL.md "Plan files"): one per workstream on `<group>/<name>`, all
 * from the same base commit, and an integration task (runner `merge`) that waits for all of them and merges their
 * branches in plan order into `<group>/integration`. Pure: ids are given.
 */

export interface FanoutProject {
  repo: string;
  /** The base as written (a branch, tag or commit). */
  base: string;
  /** The commit it resolved to when the fan-out was made: every workstream starts from exactly this. */
  baseCommit: string;
}

/** What the command line adds: defaults below the plan's own, and a group that replaces the plan's. */
export interface FanoutDefaults {
  to?: string;
  labels?: string[];
  group?: string;
}

export type NewHandoff = Omit<Handoff, 'id' | 'from' | 'created'>;

export interface FanoutTask {
  id: string;
  /** The workstream's name; null for the integration task. */
  workstream: string | null;
  handoff: NewHandoff;
  body: string;
}

export interface FanoutBuild {
  group: string;
  tasks: FanoutTask[];
  /** The integration task (also the last of `tasks`), or null when the plan says `integrate: false`. */
  integration: FanoutTask | null;
}

/** `title: suffix`, the title cut so that the whole stays within the limit. Pure. */
export function suffixedTitle(title: string, suffix: string): string {
  const tail = `: ${suffix}`;
  const room = MAX_TITLE_CHARS - [...tail].length;
  const chars = [...title];
  return (chars.length > room ? `${chars.slice(0, Math.max(0, room - 1)).join('')}…` : title) + tail;
}

const short = (commit: string) => commit.slice(0, 12);

/** The file each workstream writes its results to: one per workstream, so that they never conflict when merged. */
export function resultsFile(workstream: string): string {
  return `RESULTS/${workstream}.md`;
}

function workstreamBody(plan: Plan, group: string, ws: Workstream, project: FanoutProject): string {
  const names = plan.workstreams.map((w) => w.name);
  const branch = workstreamBranch(group, ws.name);
  const parts = [`# ${plan.title}\n`];
  if (plan.brief.trim() !== '') parts.push(`## Brief\n\n${plan.brief.trim()}\n`);
  parts.push(`## Your workstream: ${ws.name}\n\n${ws.tasks.trim()}\n`);
  const merged = plan.integrate === false ? 'they are merged afterwards' : `when all have ended they are merged, in this order, into \`${workstreamBranch(group, INTEGRATION)}\``;
  parts.push(
    [
      '## How to work',
      '',
      `- This is workstream **${ws.name}** of the fan-out \`${group}\`. ${names.length === 1 ? 'It is the only workstream' : `${names.length} workstreams (${names.join(', ')}) work in parallel, each in its own worktree and branch`}; ${merged}.`,
      `- Your worktree is on branch \`${branch}\` of ${project.repo}, started at \`${project.base}\` (${short(project.baseCommit)}). Stay within your workstream's scope: a file another workstream also changes will conflict when the branches are merged.`,
      '- Implement incrementally, with tests, and run the tests before you finish.',
      '- Commit your work as you go, with clear messages that say what changed and why.',
      `- When you are done, write \`${resultsFile(ws.name)}\`: a summary of your changes, the files you created or modified, problems you met and how you solved them, notes for integrating with the other workstreams, and suggestions for later. Commit it.`,
      `- What is left uncommitted when the run ends is committed for you, and the branch is pushed to ${project.repo}.`,
      '',
    ].join('\n'),
  );
  return parts.join('\n');
}

function integrationBody(plan: Plan, group: string, ids: string[], project: FanoutProject): string {
  const into = workstreamBranch(group, INTEGRATION);
  const list = plan.workstreams.map((w, i) => `${i + 1}. \`${workstreamBranch(group, w.name)}\` (task ${ids[i]})`).join('\n');
  return [
    `# ${plan.title}: integration\n`,
    '## Task\n',
    `Merge the workstream branches of the fan-out \`${group}\` into \`${into}\`, starting from \`${project.base}\` (${short(project.baseCommit)}), in this order:\n`,
    `${list}\n`,
    '## How\n',
    `The merge runner tries every merge first without touching any branch (\`git merge-tree --write-tree\`), makes one merge commit per branch, and pushes \`${into}\` only when all of them merge cleanly. Otherwise it reports the conflicts by branch and file and leaves \`${into}\` untouched; \`gitbus resolve <this task's id>\` then asks an agent to resolve them.`,
    '',
  ].join('\n');
}

/**
 * The handoffs of a fan-out. `ids` gives one id per workstream, then one for the integration task (when the plan
 * has one). Pure.
 */
export function buildFanout(plan: Plan, project: FanoutProject, defaults: FanoutDefaults, ids: readonly string[]): FanoutBuild {
  const group = defaults.group ?? plan.group;
  const common = { repo: project.repo, base: project.base, baseCommit: project.baseCommit, group };
  const tasks: FanoutTask[] = plan.workstreams.map((ws, i) => {
    const command = ws.command ?? plan.command;
    const runner = ws.runner ?? plan.runner ?? (command !== undefined ? 'shell' : 'claude');
    const to = ws.to ?? plan.to ?? defaults.to;
    const labels = ws.labels ?? plan.labels ?? defaults.labels;
    const timeout = ws.timeout ?? plan.timeout;
    const claude = runner === 'claude' && (plan.claude || ws.claude) ? { ...plan.claude, ...ws.claude } : undefined;
    const handoff: NewHandoff = {
      title: ws.title ?? suffixedTitle(plan.title, ws.name),
      ...(to !== undefined ? { to } : {}),
      ...(labels?.length ? { labels } : {}),
      runner,
      ...(command !== undefined ? { command } : {}),
      ...common,
      branch: workstreamBranch(group, ws.name),
      workstream: ws.name,
      ...(timeout !== undefined ? { timeout } : {}),
      ...(claude ? { claude } : {}),
    };
    return { id: ids[i] as string, workstream: ws.name, handoff, body: workstreamBody(plan, group, ws, project) };
  });
  if (plan.integrate === false) return { group, tasks, integration: null };
  // `integrate: {to, labels}` says where the merge runs, as a whole; without it, the defaults every task has.
  const own = plan.integrate.to !== undefined || plan.integrate.labels !== undefined;
  const to = own ? plan.integrate.to : (plan.to ?? defaults.to);
  const labels = own ? plan.integrate.labels : (plan.labels ?? defaults.labels);
  const wsIds = tasks.map((t) => t.id);
  const integration: FanoutTask = {
    id: ids[tasks.length] as string,
    workstream: null,
    handoff: {
      title: suffixedTitle(plan.title, INTEGRATION),
      ...(to !== undefined ? { to } : {}),
      ...(labels?.length ? { labels } : {}),
      runner: 'merge',
      ...common,
      branch: workstreamBranch(group, INTEGRATION),
      merge: tasks.map((t) => t.handoff.branch as string),
      after: wsIds,
    },
    body: integrationBody(plan, group, wsIds, project),
  };
  return { group, tasks: [...tasks, integration], integration };
}

/**
 * The `claude:` requests that all of `asked` make alike (the same value under the same key), `resume` aside (a
 * session is one task's); null when `asked` is empty or they share none. Pure.
 */
export function commonClaude(asked: readonly ClaudeRequest[]): ClaudeRequest | null {
  const [first, ...rest] = asked;
  if (first === undefined) return null;
  const common: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(first)) {
    if (key === 'resume' || value === undefined) continue;
    const same = JSON.stringify(value);
    if (rest.every((c) => JSON.stringify((c as Record<string, unknown>)[key]) === same)) common[key] = value;
  }
  return Object.keys(common).length > 0 ? (common as ClaudeRequest) : null;
}
