import { renderBusFile } from '../../schemas/bus-file.js';
import { pathFor } from '../../schemas/layout.js';
import { costCounts, type ClaudeReport, type TaskResponse as Response } from '../../schemas/response.js';
import { branchViolation, MAX_SUBJECTS, pushedNothing, unfinishedResolve, type BesideCause, type ProjectReport } from '../../schemas/project.js';
import { projectReportSchema } from '../../schemas/project-schema.js';
import { bodySafeText, clipHead, clipTail, fenceFor, oneLineText, terminalText } from '../../schemas/output-text.js';
import { transact, type TransactStats } from '../cas.js';
import type { BusContext } from '../context.js';
import { heldTask } from './holder.js';
import { resolveTaskId } from '../model/resolve-id.js';
import { WrittenOnceError } from '../errors.js';
import type { Snapshot } from '../model/snapshot.js';
import type { FileChange } from '../store/objects.js';
import { fetchCommand } from '../project/fetch-command.js';
import { projectUrlLine, WARNING_START } from './branch-remote.js';
import { shellWord } from '../project/shell-word.js';
import { isProjectName } from '../project/remote-url.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import { redactUrlCredentials } from '../../schemas/url-redact.js';
import { refuseIfArchived } from './archived-refusal.js';
import { archivedIdCheck } from './archive-lookup.js';
import { escapeSectionHeadings, logSection, type LogLoss } from './response-sections.js';

export interface RespondInput {
  id: string;
  status: Response['status'];
  summary?: string;
  results?: string;
  output?: string;
  exitCode?: number | null;
  reason?: string;
  started?: string;
  durationMs?: number;
  /** The claude runner's session, cost, turns and model. */
  claude?: ClaudeReport;
  /**
   * The run's log on this node: when `output` is made from its end only (`cut`), or the body's cap cuts it, or the
   * log did not keep all of the output (`loss`), the body's Log section says how long it is, where, and what it lacks.
   */
  log?: { path: string; bytes: number; cut: boolean; loss?: LogLoss };
  /** The icecc runner's counts: a line in the Results section (the response schema has no field for them). */
  icecc?: { compiles: number; remote: number; local: number; scheduler: string | null };
  /** A project task's branch: the response's `project` field and its Branch section. */
  project?: ProjectReport;
  /**
   * When the project's `repo` is a node.yaml project name: the URL the branch was pushed to, as publishedRemote
   * gives it, which the Branch section's commands fetch from (git does not read node.yaml).
   */
  projectUrl?: string;
  /** `git diff --stat` of the branch from its base. */
  projectStat?: string;
  /** The branch the results were meant for, when the push there was not a fast-forward and they went beside it. */
  branchMoved?: string;
  /**
   * With branchMoved: the run rewrote the branch's history (a rebase, an amend), so this commit, which had reached
   * the remote from the worktree before, is not in the results; without it, the branch had moved on the remote.
   */
  branchRewritten?: string;
  /**
   * With branchMoved: the branch on the remote did not contain the task's base when the task started, so the task
   * built on the base beside it, and the branch is still at this commit: nobody moved it.
   */
  branchApart?: string;
  /** Files the run left uncommitted in its worktree, and why (autoCommit off, a merge left unresolved). */
  uncommitted?: number;
  uncommittedWhy?: string;
  /**
   * The result does not contain `project.baseCommit` (the run reset or rebased its branch off it): the counts and
   * the diffstat are then against a commit the results lack, and the Branch section says so rather than "over" it.
   */
  baseMissing?: boolean;
  /**
   * What the node saw of the run's branch that the report's fields cannot say (a response's fields are fixed within
   * a protocol version, docs/PROTOCOL.md §6): each a `Warning:` line of the Branch section, which `show` and a
   * waiting command read back (bus/ops/branch-remote.ts branchWarningsOfBody).
   */
  projectWarnings?: string[];
  now?: () => Date;
}

export interface RespondResult {
  id: string;
  status: Response['status'];
  path: string;
}

/** Caps per section, so that a response stays far below the 256 KiB file limit whatever a run printed. */
export const BODY_LIMITS = { summary: 16 * 1024, results: 128 * 1024, output: 64 * 1024, reason: 4 * 1024 } as const;

/**
 * The response body, in the shape of the seed's report-back: summary, results, output tail. Every section is
 * terminal text (docs/PROTOCOL.md, responses): no escape sequence or control character but tab and newline,
 * valid UTF-8, no line that reads as a conflict marker, capped in size; the output sits in a backtick fence
 * longer than any backtick run inside it, so no output can end the block early. Pure.
 */
export function responseBody(input: Partial<Pick<RespondInput, 'id' | 'log'>> & { runner?: string | undefined } & Pick<RespondInput, 'summary' | 'results' | 'output' | 'icecc' | 'project' | 'projectUrl' | 'projectStat' | 'branchMoved' | 'branchRewritten' | 'branchApart' | 'uncommitted' | 'uncommittedWhy' | 'baseMissing' | 'projectWarnings'>): string {
  const parts: string[] = [];
  // The response goes to every node and stays in the bus's history: a URL's password in it (a task that printed
  // `git remote -v`, a push error naming this node's project URL) is not published.
  // A summary or results written by the run (a claude run's final text) cannot end its section early or make a Log
  // section of its own: a line reading as one of gitbus's headings is escaped, as Markdown shows it, so that neither
  // responseSection nor logOfBody ever takes the run's words for gitbus's.
  const clean = (text: string, max: number) => escapeSectionHeadings(bodySafeText(clipHead(redactUrlCredentials(terminalText(text)), max))).trim();
  const rawResults = input.icecc ? [input.results?.trim(), iceccLine(input.icecc)].filter(Boolean).join('\n\n') : input.results;
  if (input.summary !== undefined) parts.push(`## Summary\n\n${clean(input.summary, BODY_LIMITS.summary)}\n`);
  if (rawResults !== undefined) parts.push(`## Results\n\n${clean(rawResults, BODY_LIMITS.results)}\n`);
  if (input.project) parts.push(branchSection(input.project, input.projectStat, { moved: input.branchMoved, rewritten: input.branchRewritten, apart: input.branchApart }, { uncommitted: input.uncommitted, id: input.id, uncommittedWhy: input.uncommittedWhy, runner: input.runner, url: input.projectUrl, baseMissing: input.baseMissing, warnings: input.projectWarnings }));
  if (input.output !== undefined) {
    const readable = redactUrlCredentials(terminalText(input.output));
    const clipped = clipTail(readable, BODY_LIMITS.output);
    const output = bodySafeText(clipped).replace(/^\n+/, '').trimEnd();
    if (input.log && (input.log.cut || clipped.length < readable.length || input.log.loss)) parts.push(logSection(input.log, input.id));
    const fence = fenceFor(output);
    parts.push(`## Output\n\n${fence}\n${output}\n${fence}\n`);
  }
  return parts.join('\n');
}

/**
 * The Branch section: where the results are, how to fetch them, what the commits say, the diffstat. `beside.moved`:
 * the branch they were meant for, when they went beside it; `rewritten`, when that was because the run rewrote its
 * history (the commit of it the remote had and the worktree built on, no longer in the results) rather than the
 * branch moving; `apart`, when it was because the branch never built on the task's base (the commit it was at when
 * the task started, and still is). How to bring the results onto that branch depends on `runner`: a
 * claude task's session can be resumed to merge it; any other task has no session (`gitbus resume` refuses it),
 * so the person is given the git commands that merge the results into the branch from their own checkout. Pure.
 */
export function branchSection(p: ProjectReport, stat: string | undefined, beside: BesideCause, run: BranchRun = {}): string {
  const { moved, rewritten, apart } = beside;
  const { uncommitted, id = 'ID', uncommittedWhy = 'autoCommit is off', runner, baseMissing = false, warnings = [] } = run;
  // Where the commands fetch from and push to: a project name means something to git only as a remote's name.
  // Never a password: the response goes to every node (the URL is published without one; this is the second guard).
  const repo = isProjectName(p.repo) && run.url !== undefined ? redactUrlCredentials(run.url) : p.repo;
  const base = p.baseCommit.slice(0, 12);
  // A result without its base is no work "over" it: its count and diffstat are against a commit it dropped.
  const counts = `${p.commits ?? 0} commit${p.commits === 1 ? '' : 's'} ${baseMissing ? 'not in' : 'over'} ${base}, ${p.files ?? 0} file${p.files === 1 ? '' : 's'} ${baseMissing ? 'differing from it' : 'changed'}, +${p.insertions ?? 0} -${p.deletions ?? 0}`;
  const lines = [`## Branch`, '', `\`${p.branch}\` of ${p.repo} at ${p.headCommit.slice(0, 12)}${baseMissing ? `, which does not contain its base ${base}` : ''}: ${counts}.`, ''];
  for (const w of warnings) {
    const line = oneLineText(w, 1000);
    if (line !== '') lines.push(`${WARNING_START}${line}`, '');
  }
  if (moved && rewritten) lines.push(`The run rewrote the history of ${moved} (a rebase or an amend): ${rewritten.slice(0, 12)}, the commit of ${moved} on the remote that this worktree built on, is not part of the results, so they were not a fast-forward of ${moved} and went beside it, to ${p.branch}. ${moved} itself was left as it was: gitbus never forces a push.`, '');
  else if (moved && apart) lines.push(`${moved} on the remote did not build on the task's base when the task started (it was at ${apart.slice(0, 12)}, which does not contain ${p.baseCommit.slice(0, 12)}), so the task built on the base instead and its results went beside ${moved}, to ${p.branch}. ${moved} itself was left as it was.`, '');
  else if (moved) lines.push(`${moved} had moved on the remote since the task started, so the results went beside it, to ${p.branch}.`, '');
  if (p.conflicts?.length) {
    lines.push(`Nothing was pushed: ${p.conflicts.length === 1 ? 'a merge conflicts' : 'merges conflict'}, and ${p.branch} was left untouched.`, '');
    for (const c of p.conflicts) lines.push(`- ${c.branch}: ${c.files.map((f) => oneLineText(f, 300)).join(', ')}`);
    if (p.merged?.length) lines.push('', `Merged cleanly: ${p.merged.join(', ')}.`);
    lines.push('', `Ask an agent to resolve them: \`gitbus resolve ${id}\`.`, '');
  } else if (p.pushed) {
    if (repo !== p.repo) lines.push(projectUrlLine(repo, p.repo), '');
    else if (isProjectName(p.repo)) lines.push(`${p.repo} is the project's name in node.yaml, which git does not read: the commands need a remote of that name in your checkout (\`git remote add ${shellWord(p.repo)} URL\`), or the project's URL in its place.`, '');
    lines.push('Fetch it:', '', '```', fetchCommand(repo, p.branch), '```', '');
    if (moved && rewritten) {
      // The lease names the commit the remote had: the push over it is refused if anyone pushed there since.
      lines.push(`To make the rewritten history ${moved}, once you have checked it, push it over ${moved} yourself (after the fetch above):`, '', '```', `git push --force-with-lease=${shellWord(`refs/heads/${moved}:${rewritten}`)} ${shellWord(repo)} ${shellWord(`${p.headCommit}:refs/heads/${moved}`)}`, '```', '');
      if (runner === 'claude') lines.push(`Or keep ${moved}'s history: a follow-up in this worktree that merges it makes the next results a fast-forward of it:`, '', '```', resumeToMerge(id, moved), '```', '');
      else lines.push(`Or keep ${moved}'s history: ${mergeYourself(moved)}`, '', '```', ...mergeIntoBranch(p, repo, moved, false), '```', '', ON_CONFLICT, '');
    } else if (moved && apart) {
      if (runner === 'claude') lines.push(`To have them together, merge one into the other: a follow-up in this worktree that merges ${moved} makes the next results a fast-forward of it, and they go to ${moved} itself:`, '', '```', resumeToMerge(id, moved), '```', '');
      // Its own history may share no commit with the base's: git merges those only when told to.
      else lines.push(`To have them together, ${mergeYourself(moved)}`, '', '```', ...mergeIntoBranch(p, repo, moved, true), '```', '', ON_CONFLICT, '');
    }
  }
  // A failed run that left the branch at its base: a push would have put a branch holding nothing on the remote.
  else if (unfinishedResolve(p)) lines.push(`Nothing was pushed: the resolve did not succeed, so \`${p.branch}\` on the project remote was left as it was, and no later resolve or merge builds on a half-done merge. The node keeps the worktree, with the run's commits, as the run left it.`, '');
  else if (pushedNothing(p)) lines.push(`Nothing was pushed: the run made no commit over its base, so \`${p.branch}\` was not made on the project remote. The node keeps the worktree as the run left it.`, '');
  else lines.push(`Not on the project remote yet: ${oneLineText(redactUrlCredentials(p.pushError ?? 'the push has not been tried'), 1000)}. The node keeps the worktree and pushes again until the remote takes it.`, '');
  if (uncommitted) lines.push(`${uncommitted} changed file${uncommitted === 1 ? ' was' : 's were'} left uncommitted in the worktree: ${uncommittedWhy}.`, '');
  if (p.subjects?.length) lines.push('Commits:', '', ...p.subjects.map((s) => `- ${s}`), '');
  const cleanStat = stat === undefined ? '' : bodySafeText(clipTail(terminalText(stat), 16 * 1024)).trimEnd();
  if (cleanStat !== '') {
    const fence = fenceFor(cleanStat);
    lines.push(fence, cleanStat, fence, '');
  }
  return lines.join('\n');
}

/** How a call of branchSection says what it cannot see in the report: the run's leftovers and who ran it. */
export interface BranchRun {
  /** Files the run left uncommitted in its worktree, and why. */
  uncommitted?: number | undefined;
  uncommittedWhy?: string | undefined;
  id?: string | undefined;
  /** The task's runner (the response's `runner`): only a claude task's session can be resumed to merge. */
  runner?: string | undefined;
  /** The project's URL, when its `repo` is a node.yaml project name (RespondInput.projectUrl). */
  url?: string | undefined;
  /** RespondInput.baseMissing. */
  baseMissing?: boolean | undefined;
  /** RespondInput.projectWarnings: each a `Warning:` line after the counts. */
  warnings?: readonly string[] | undefined;
}

/** The resume that merges `branch` in the task's worktree, for a claude task. Pure. */
function resumeToMerge(id: string, branch: string): string {
  return `gitbus resume ${shellWord(id)} ${shellWord(`merge ${branch} into this branch and fix what breaks`)}`;
}

/** What the person does with mergeIntoBranch's commands, after the words that say why. Pure. */
function mergeYourself(branch: string): string {
  return `merge the results into ${branch} yourself, after the fetch above, from any checkout of the project: the merge is made in a temporary worktree, so your own files and branch stay as they are, and the push is a fast-forward of ${branch}, refused if it moved since.`;
}

/** What to do when mergeIntoBranch's merge stops on a conflict: the commands after it did not run. Pure. */
const ON_CONFLICT =
  'On a conflict the commands stop at the merge: resolve it in "$d", `git -C "$d" commit --no-edit`, then run the push and the `git worktree remove`.';

/**
 * The git commands a person runs in a checkout of the project to merge the results (`p.headCommit`, which the
 * fetch above brought) into `branch` as `repo` has it now, and push that. One `&&` chain, so that a conflict stops
 * it before the push. The merge happens in a temporary detached worktree: whatever the checkout is on (a
 * branch, a detached HEAD, uncommitted work) is left alone and nothing needs switching back. `unrelated`: `branch`
 * may share no history with the results. Pure.
 */
function mergeIntoBranch(p: ProjectReport, repo: string, branch: string, unrelated: boolean): string[] {
  return [
    `${fetchCommand(repo, branch)} &&`,
    'd=$(mktemp -d) && git worktree add --detach "$d" FETCH_HEAD &&',
    `git -C "$d" merge --no-edit${unrelated ? ' --allow-unrelated-histories' : ''} -m ${shellWord(`Merge ${p.branch} into ${branch}`)} ${shellWord(p.headCommit)} &&`,
    `git -C "$d" push ${shellWord(repo)} ${shellWord(`HEAD:refs/heads/${branch}`)} &&`,
    'git worktree remove "$d"',
  ];
}

/** The reason field: terminal text, capped; undefined when nothing readable is left. Pure. */
export function reasonText(reason: string): string | undefined {
  const text = clipHead(redactUrlCredentials(terminalText(reason)), BODY_LIMITS.reason).trim();
  return text === '' ? undefined : text;
}

/** "icecc: 12 compiles, 9 remote, 3 local via scheduler 10.0.0.5" — whether a build was distributed, in words. Pure. */
export function iceccLine(c: NonNullable<RespondInput['icecc']>): string {
  const via = c.scheduler ? `via scheduler ${c.scheduler}` : 'via the scheduler iceccd found';
  if (c.compiles === 0) return `icecc: no compiles went through icecc ${via} (does the build use $CC and $CXX?)`;
  const unknown = c.compiles - c.remote - c.local;
  return (
    `icecc: ${c.compiles} ${c.compiles === 1 ? 'compile' : 'compiles'}, ${c.remote} remote, ${c.local} local` +
    `${unknown > 0 ? `, ${unknown} unfinished` : ''} ${via}${c.remote === 0 ? ' — none was distributed' : ''}`
  );
}

export async function respond(ctx: BusContext, input: RespondInput): Promise<RespondResult & TransactStats> {
  return transact(ctx, 'respond', async (snap) => {
    const made = await responseOf(ctx, snap, input).catch((err: unknown) => refuseIfArchived(ctx, input.id, err, 'respond'));
    return { result: made.result, commit: { changes: [made.change], message: `gitbus: respond ${made.result.id} ${input.status} by ${ctx.config.node}` } };
  });
}

/** Each result of a batch: written, or why not (the same errors `respond` throws for it alone). */
export type BatchResponse = { ok: true; result: RespondResult } | { ok: false; error: unknown };

/**
 * Writes several results of this node in ONE commit (docs/PROTOCOL.md §5, "Answering several at once"): a watcher
 * whose runs end close together pushes once. Each is decided from the same snapshot as `respond` decides it alone;
 * one that may not be written (the task is no longer this node's) is left out with its error, and the others go.
 */
export async function respondBatch(ctx: BusContext, inputs: readonly RespondInput[]): Promise<{ responses: BatchResponse[] } & TransactStats> {
  return transact(ctx, 'respond', async (snap) => {
    const made = await decideResponses(ctx, snap, inputs);
    return { result: { responses: made.responses }, ...(made.commit ? { commit: made.commit } : {}) };
  });
}

/**
 * The responses of a batch decided from `snap`, each as `respond` decides it alone, and the commit that writes
 * those that may be written (none when no result may). Shared with the commit that also claims the next tasks
 * (bus/ops/respond-and-claim.ts).
 */
export async function decideResponses(ctx: BusContext, snap: Snapshot, inputs: readonly RespondInput[]): Promise<{ responses: BatchResponse[]; commit?: { changes: FileChange[]; message: string } }> {
  const responses: BatchResponse[] = [];
  const changes: FileChange[] = [];
  /**
   * A result given twice in one batch (two callers with one run's end) is written once, and both get that response;
   * another result for a task already answered in the batch is refused as a second write, which its caller judges
   * as it judges one already on the bus.
   */
  const written = new Map<string, { result: RespondResult; input: string }>();
  // Each result reads its own task (and a watcher's batch a few): in a process of its own, no index of every task.
  snap.useLean(true);
  for (const input of inputs) {
    try {
      const same = written.get(taskIdOf(snap, input.id));
      if (same) {
        if (same.input !== sameResultKey(input)) throw new WrittenOnceError(same.result.path);
        responses.push({ ok: true, result: same.result });
        continue;
      }
      const made = await responseOf(ctx, snap, input);
      written.set(made.result.id, { result: made.result, input: sameResultKey(input) });
      responses.push({ ok: true, result: made.result });
      changes.push(made.change);
    } catch (error) {
      responses.push({ ok: false, error });
    }
  }
  if (changes.length === 0) return { responses };
  const done = [...written.values()].map((w) => w.result);
  const message = done.length === 1 ? `gitbus: respond ${done[0]?.id ?? ''} ${done[0]?.status ?? ''} by ${ctx.config.node}` : `gitbus: respond ${done.length} tasks by ${ctx.config.node}\n\n${done.map((r) => `${r.id} ${r.status}`).join('\n')}`;
  return { responses, commit: { changes, message } };
}

/** The full id `ref` names on `snap`, or `ref` itself when it names none (responseOf then says why). */
function taskIdOf(snap: Snapshot, ref: string): string {
  try {
    return resolveTaskId(snap, ref);
  } catch {
    return ref;
  }
}

/** What makes two results the same one: everything but the clock they would be stamped with. */
function sameResultKey(input: RespondInput): string {
  return JSON.stringify({ ...input, now: undefined });
}

/** The response file of one result, decided from `snap`: only the holder writes it. */
async function responseOf(ctx: BusContext, snap: Snapshot, input: RespondInput): Promise<{ result: RespondResult; change: FileChange }> {
  const now = input.now ?? (() => new Date());
  const view = await heldTask(snap, input.id, ctx.config.node, 'respond', archivedIdCheck(ctx));
  const data: Response = {
    id: view.id,
    status: input.status,
    node: ctx.config.node,
    attempt: view.claim.attempt,
    finished: now().toISOString(),
  };
  if (input.started ?? view.claim.data?.claimed) data.started = input.started ?? view.claim.data?.claimed;
  if (input.exitCode !== undefined) data.exitCode = input.exitCode;
  if (input.durationMs !== undefined) data.durationMs = input.durationMs;
  const reason = input.reason === undefined ? undefined : reasonText(input.reason);
  if (reason !== undefined) data.reason = reason;
  if (view.handoff) data.runner = effectiveRunner(view.handoff);
  const claude = input.claude === undefined ? undefined : claudeFields(input.claude);
  if (claude !== undefined && Object.keys(claude).length > 0) data.claude = claude;
  const project = input.project === undefined ? undefined : projectFields(input.project);
  if (project !== undefined) data.project = project;
  const path = pathFor({ kind: 'response', id: view.id });
  return { result: { id: view.id, status: input.status, path }, change: { path, content: renderBusFile('response', data, responseBody({ ...input, runner: data.runner })) } };
}

/**
 * A project task's report as the schema allows it: commit subjects, file names and git's messages come from the
 * run and the remote, so they are made one-line terminal text; a report that still breaks a rule is left out
 * (the Branch section of the body still says what happened) rather than making the response unwritable. Pure.
 */
export function projectFields(p: ProjectReport): ProjectReport | undefined {
  const out: ProjectReport = { ...p };
  // git's messages and gitbus's quote the remote, whose URL on this node may carry a token.
  if (p.pushError !== undefined) out.pushError = oneLineText(redactUrlCredentials(p.pushError), 1000) || 'the push failed';
  if (p.subjects !== undefined) out.subjects = p.subjects.map((s) => oneLineText(s, 200)).filter((s) => s !== '').slice(0, MAX_SUBJECTS);
  if (p.merged !== undefined) out.merged = p.merged.filter((b) => branchViolation(b) === undefined);
  if (p.conflicts !== undefined) {
    out.conflicts = p.conflicts.filter((c) => branchViolation(c.branch) === undefined).map((c) => ({ branch: c.branch, files: c.files.map((f) => oneLineText(f, 1000)).filter((f) => f !== '').slice(0, 1000) }));
  }
  return projectReportSchema.safeParse(out).success ? out : undefined;
}

/** What the claude runner reported, as the schema's one-line fields allow (its stream is output like any other). */
function claudeFields(c: ClaudeReport): ClaudeReport {
  const out: ClaudeReport = {};
  const sessionId = c.sessionId === undefined ? '' : oneLineText(c.sessionId, 200);
  const model = c.model === undefined ? '' : oneLineText(c.model, 200);
  if (sessionId) out.sessionId = sessionId;
  if (model) out.model = model;
  if (c.costUsd !== undefined && Number.isFinite(c.costUsd) && c.costUsd >= 0 && costCounts(c.costUsd)) out.costUsd = c.costUsd;
  if (c.turns !== undefined && Number.isInteger(c.turns) && c.turns >= 0) out.turns = c.turns;
  if (c.subtype !== undefined && /^[a-z][a-z0-9_]{0,99}$/.test(c.subtype)) out.subtype = c.subtype;
  return out;
}
