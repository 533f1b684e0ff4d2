import type { FieldViolation } from './kind-rules.js';
import { COMMAND_RUNNERS, effectiveRunner, MAX_COMMAND_BYTES, MAX_TITLE_CHARS, type RunnerName } from './field-limits.js';
import type { Handoff } from './handoff.js';
import type { Violation } from './rule.js';
import type { TextOptions } from './text-rule.js';

/**
 * What a handoff's checks need besides zod (issue 14): the text rules of its fields, the rule of `workdir`, the
 * fields' order and the rules spanning fields. handoff.ts builds the schema from them; handoff-fast.ts checks the
 * handoff a dispatch writes with the same rules without loading zod or yaml.
 */

export const TITLE_TEXT: TextOptions = { what: 'one line saying what to do', maxChars: MAX_TITLE_CHARS, oneLine: true };
export const COMMAND_TEXT: TextOptions = { what: 'a command line for sh -c', maxBytes: MAX_COMMAND_BYTES };
export const WORKDIR_TEXT: TextOptions = { what: 'a relative directory', maxChars: 1000, oneLine: true };

export const WORKDIR_RULE =
  'a relative path inside one of the worker\'s work roots: no leading "/" or "~", no ".." part, no backslashes';

/**
 * `workdir` becomes a path on the worker, so it is checked like an id: content from the repository must never name
 * a place outside the work roots (PROTOCOL.md §8).
 */
export function workdirViolation(dir: string): Violation | undefined {
  const escapes = dir.startsWith('/') || dir.startsWith('~') || dir.includes('\\') || /^[A-Za-z]:/.test(dir) || dir.split('/').includes('..');
  return escapes ? { reason: `${JSON.stringify(dir)} leaves the work root`, fix: `write ${WORKDIR_RULE}` } : undefined;
}

/** A handoff's fields in the order gitbus writes them: handoffSchema's (a unit test holds the two together). */
export const HANDOFF_FIELDS = [
  'protocol', 'id', 'title', 'from', 'created', 'to', 'labels', 'runner', 'command', 'workdir', 'repo', 'base', 'baseCommit', 'branch',
  'autoCommit', 'group', 'workstream', 'merge', 'resumes', 'after', 'priority', 'timeout', 'schedule', 'keep', 'claude',
] as const satisfies readonly (keyof Handoff)[];

/** Rules that span fields, which a per-field schema cannot express. `fileId` is the id the file name gives. */
export function handoffRules(h: Handoff, fileId: string | undefined = h.id): FieldViolation[] {
  const out: FieldViolation[] = [];
  const runner = effectiveRunner(h);
  if (COMMAND_RUNNERS.includes(runner) && h.command === undefined) {
    out.push({
      field: 'command',
      reason: `the ${runner} runner needs a command, and there is none`,
      fix: `add "command: <command line>", or set "runner: manual" for a task people or agents claim by hand`,
      severity: 'error',
    });
  }
  if (h.keep !== undefined && runner !== 'tmux') {
    out.push({ field: 'keep', reason: `"keep" only matters for the tmux runner, and this task runs with ${runner}`, fix: 'remove "keep", or set "runner: tmux"', severity: 'warning' });
  }
  if (h.claude !== undefined && runner !== 'claude') {
    out.push({ field: 'claude', reason: `"claude" only matters for the claude runner, and this task runs with ${runner}`, fix: 'remove "claude", or set "runner: claude"', severity: 'warning' });
  }
  out.push(...projectRules(h, runner));
  const seen = new Set<string>();
  h.after?.forEach((dep, i) => {
    if (dep === fileId) {
      out.push({ field: `after.${i}`, reason: 'the task waits for itself, so it could never run', fix: `remove "${dep}" from "after"`, severity: 'error' });
    } else if (seen.has(dep)) {
      out.push({ field: `after.${i}`, reason: `"${dep}" is listed twice`, fix: 'remove the repeated id', severity: 'warning' });
    }
    seen.add(dep);
  });
  return out;
}

const PROJECT_ONLY = ['base', 'baseCommit', 'branch', 'autoCommit', 'merge'] as const;

/** Project work's fields need a `repo`, and the merge runner needs branches to merge (PROTOCOL.md §3a). Pure. */
function projectRules(h: Handoff, runner: RunnerName): FieldViolation[] {
  const out: FieldViolation[] = [];
  if (h.repo === undefined) {
    for (const f of PROJECT_ONLY) {
      if (h[f] !== undefined) out.push({ field: f, reason: `"${f}" only matters for project work, and the task names no "repo"`, fix: 'add "repo: <the project\'s remote>", or remove the field', severity: 'error' });
    }
  }
  if (runner === 'merge') {
    if (h.repo === undefined) out.push({ field: 'repo', reason: 'the merge runner merges branches of a project, and the task names no "repo"', fix: 'add "repo: <the project\'s remote>"', severity: 'error' });
    if (!h.merge?.length) out.push({ field: 'merge', reason: 'the merge runner needs the branches to merge, and there are none', fix: 'add "merge: [branch, ...]"', severity: 'error' });
    if (h.command !== undefined) out.push({ field: 'command', reason: 'the merge runner runs no command', fix: 'remove "command"', severity: 'warning' });
  }
  if (h.workstream !== undefined && h.group === undefined) out.push({ field: 'workstream', reason: '"workstream" names a part of a fan-out, and the task names no "group"', fix: 'add "group: <the fan-out\'s name>", or remove "workstream"', severity: 'warning' });
  if (h.resumes !== undefined && h.repo === undefined && runner !== 'claude') {
    out.push({ field: 'resumes', reason: '"resumes" continues a project task\'s worktree or a claude session, and this task has neither "repo" nor runner claude', fix: 'add the "repo" of the task it resumes, or remove "resumes"', severity: 'error' });
  }
  return out;
}
