import type { Command } from 'commander';
import type { BusContext } from '../bus/context.js';
import { nodeProjectUrls } from '../bus/project/remote-url.js';
import { homedir } from '../bus/user-home-dir.js';
import { projectForTask, type ProjectOutcome } from '../bus/project/resolve.js';
import { refuseOtherHostFileUrl } from '../bus/project/fields.js';
import type { ProjectCommand } from '../bus/project/base-errors.js';
import type { CheckoutLook } from '../bus/project/checkout-look.js';
import { defaultBranch, type ProjectSummary } from '../schemas/project.js';
import { baseSchema, branchSchema, repoSchema } from '../schemas/project-schema.js';
import { handoffFieldOk } from '../schemas/handoff-fast.js';
import { schemaFlag } from './flags.js';
import { note } from './output.js';

/** The flags of project work (docs/PROTOCOL.md §3a), shared by `dispatch` and `run`. */
export interface ProjectOpts {
  repo?: string | false;
  base?: string;
  branch?: string;
}

/** `implicit`: whether the checkout the command runs in makes project work without --repo (and so --no-repo exists). */
export function withProjectFlags(cmd: Command, implicit: boolean): Command {
  cmd.option(
    '--repo <url|name>',
    `the project the task works on: a remote URL or path, a remote of this checkout, or a project name of node.yaml${implicit ? " (default inside a git checkout: its branch's upstream remote, else origin)" : ''}`,
    repoFlag('--repo'),
  );
  if (implicit) cmd.option('--no-repo', 'a plain task, even inside a git checkout: no repo, base or branch');
  return cmd
    .option('--base <ref>', "the branch, tag or commit to start from (default: the checkout's current branch at HEAD, else the remote's default branch); refused unless its commit is on the project remote", schemaFlag('--base', () => baseSchema, (v) => handoffFieldOk('base', v)))
    .option('--branch <name>', 'the branch the results are pushed to (default gitbus/<id>)', schemaFlag('--branch', () => branchSchema, (v) => handoffFieldOk('branch', v)));
}

/**
 * `--repo`: a file:// URL on another host is refused with the code it has wherever a remote is taken
 * (FILE_URL_OTHER_HOST), not as one more schema problem; anything else as the handoff's schema judges it.
 */
export function repoFlag(flag: string): (v: string) => string {
  const bySchema = schemaFlag(flag, () => repoSchema, (v) => handoffFieldOk('repo', v));
  return (v) => {
    refuseOtherHostFileUrl(v);
    return bySchema(v);
  };
}

/** Reads the checkout and the project remote as the flags ask; what it decides goes into the handoff. */
export function projectFromFlags(ctx: BusContext, opts: ProjectOpts, o: { implicit: boolean; readCheckout: boolean; by: ProjectCommand; look?: CheckoutLook | null }): Promise<ProjectOutcome> {
  // node.yaml's URLs are this node's; a relative path there is relative to the home, like its other paths.
  const projects = nodeProjectUrls(ctx.config.projects, ctx.paths.home, homedir());
  return projectForTask({
    flags: { ...(opts.repo !== undefined ? { repo: opts.repo } : {}), ...(opts.base !== undefined ? { base: opts.base } : {}), ...(opts.branch !== undefined ? { branch: opts.branch } : {}) },
    implicit: o.implicit,
    readCheckout: o.readCheckout,
    cwd: process.cwd(),
    projects,
    busRemote: ctx.config.remote,
    by: o.by,
    ...(o.look !== undefined ? { look: o.look } : {}),
  });
}

/** Says what was decided, on stderr (not with --json, whose document carries it). */
export function reportProject(p: ProjectOutcome, json: boolean): void {
  if (json) return;
  for (const n of p.notes) note(`gitbus: note: ${n}`);
  for (const w of p.warnings) note(`gitbus: warning: ${w}`);
}


/**
 * The fields the handoff gets. A schedule's template keeps no `baseCommit` (each run starts from `base` as the
 * remote has it then, not from the commit of the day it was dispatched) and no default branch (each instance
 * gets `gitbus/<its id>`). Pure.
 */
export function projectFieldsFor(p: ProjectOutcome, recurring: boolean): ProjectSummary | null {
  if (!p.fields) return null;
  if (!recurring) return p.fields;
  const { baseCommit: _resolved, ...rest } = p.fields;
  return rest;
}

/** The project fields as the handoff has them, with the default branch filled in, for output. Pure. */
export function projectSummary(fields: ProjectSummary | null, id: string, recurring: boolean): ProjectSummary | null {
  return fields ? { ...fields, ...(fields.branch === undefined && !recurring ? { branch: defaultBranch(id) } : {}) } : null;
}

/** `baseFrom`: the base commit in words, where the base's name alone would mislead (bus/project/resolve.ts baseFromHead). */
export function projectLine(s: ProjectSummary, baseFrom?: string, byHand = false): string {
  const at = s.baseCommit === undefined ? `${s.base} as it is at each run` : (baseFrom ?? (s.base === s.baseCommit ? s.baseCommit.slice(0, 12) : `${s.base} (${s.baseCommit.slice(0, 12)})`));
  // No watcher runs a manual task, so nothing pushes its branch but the person or agent who takes it.
  return `gitbus: project work on ${s.repo} from ${at}; results go to branch ${s.branch ?? 'gitbus/<id> of each instance'}${byHand ? ' once whoever claims it by hand pushes them there' : ''}`;
}
