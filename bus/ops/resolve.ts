import { type ClaudeRequest, type Handoff } from '../../schemas/handoff.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import type { RunnerName } from '../../schemas/field-limits.js';
import type { TaskResponse } from '../../schemas/response.js';
import type { ProjectReport } from '../../schemas/project.js';
import { resolvesIntegration, settlingFollowUp } from '../model/merged-branches.js';
import type { BusContext } from '../context.js';
import { NodeCannotRunError, TaskStateError } from '../errors.js';
import { firstLine } from '../../schemas/errors.js';
import { codeSpan } from '../../schemas/output-text.js';
import { dispatchTargetProblem } from './dispatch-target.js';
import { commonClaude, resultsFile, suffixedTitle, type NewHandoff } from '../model/fanout.js';
import { mergeAgainBody, mergeAgainHandoff } from '../model/merge-again.js';
import { groupTaskIds } from './group-members.js';
import { isFinal, type TaskState } from '../model/types.js';
import { readRanTask } from './read-task.js';
import { dispatch, type DispatchResult } from './dispatch.js';
import type { BusFileSigner } from '../trust/dispatch-signing.js';
import { fetchCommand } from '../project/fetch-command.js';
import { resultsRemote } from './branch-remote.js';
import { shellWord } from '../project/shell-word.js';
import { localSnapshot } from './query.js';
import { archivedRuns } from './archived-trust.js';
import { archivedFollowUps, liveFollowUpIds } from './follow-ups.js';
import { recordedGroup } from '../groups-ledger.js';
import { mergeResults } from './merge-results.js';

/**
 * The follow-up to an integration that ended with conflicts (`gitbus resolve ID`): one task that asks an agent
 * to do the merges by hand on the integration branch — the same repo, base and branches in the same order — with
 * the conflicts the merge runner found listed by branch and file.
 */

/** Who resolves: an agent (claude), a person or agent who claims it by hand (manual), or the merge runner again (merge). */
export const RESOLVE_RUNNERS = ['claude', 'manual', 'merge'] as const satisfies readonly RunnerName[];

export interface ResolveOptions {
  to?: string;
  labels?: string[];
  runner?: (typeof RESOLVE_RUNNERS)[number];
  /** The follow-up's `claude:` requests (model, budget, turns, permissions), as dispatch's claude flags give them. */
  claude?: ClaudeRequest;
  /** Signs the follow-up as `gitbus dispatch` does (bus/trust/dispatch-signing.ts). */
  sign?: BusFileSigner;
  /**
   * Dispatch even when `to` names a node that is not on the bus or cannot run it (as `dispatch --force`), and when
   * an earlier follow-up already resolved it.
   */
  force?: boolean;
}

export interface ResolveResult extends DispatchResult {
  /** The integration task it follows up. */
  integration: string;
  group: string | null;
  branch: string;
  merge: string[];
  conflicts: { branch: string; files: string[] }[];
  commit: string | null;
  /** The follow-up's `claude:` requests (null: none, or another runner). */
  claude: ClaudeRequest | null;
  /** What of them came from the workstreams, which the flags override key by key (null: nothing). */
  claudeFromWorkstreams: ClaudeRequest | null;
  /** `--runner merge`: the newest task on each branch, which it runs after and merges as they report. */
  after?: string[];
}

interface Integration {
  id: string;
  state: TaskState;
  handoff?: Handoff;
  response?: TaskResponse;
}

async function findIntegration(ctx: BusContext, ref: string): Promise<Integration> {
  // Live or archived (an integration archived since it ended is still resolvable, asked by its full id).
  const t = await readRanTask(ctx, ref);
  return { id: t.id, state: t.state, ...(t.handoff ? { handoff: t.handoff } : {}), ...(t.response ? { response: t.response } : {}) };
}

/** The follow-up's body: the conflicts, then how to merge in order, resolve, test and commit. Pure. */
export function resolveBody(x: { integration: string; group: string | null; branch: string; base: string | null; baseCommit: string | null; merge: string[]; merged: string[]; conflicts: { branch: string; files: string[] }[]; on?: Record<string, string>; repo?: string; manual?: boolean }): string {
  const base = x.base ? `${codeSpan(x.base)}${x.baseCommit ? ` (${x.baseCommit.slice(0, 12)})` : ''}` : x.baseCommit ? x.baseCommit.slice(0, 12) : 'the base';
  // Names in code spans come from the handoff and the integration's response, written by other nodes: each one a
  // span of its own (codeSpan), shown and never able to end the span and add words to the instructions.
  const conflicts = x.conflicts.map((c) => `- ${codeSpan(c.branch)}: ${c.files.length ? c.files.map(codeSpan).join(', ') : '(no file named)'}`).join('\n');
  // A workstream whose result went beside its branch (not a fast-forward of it) is merged from where the result is:
  // its node checks that the branch contains that result.
  const merges = x.merge.map((b) => `git merge --no-ff ${shellWord(`origin/${x.on?.[b] ?? b}`)} -m ${shellWord(`Merge ${b} into ${x.branch}`)}`).join('\n');
  const clean = x.merged.length ? `\nThese merged cleanly when the others were skipped: ${x.merged.map(codeSpan).join(', ')}. Once the conflicts above are resolved, a later branch may meet new ones.\n` : '';
  return [
    '## Task\n',
    `Integrate${x.group ? ` the fan-out ${codeSpan(x.group)}` : ''}: merge its branches into ${codeSpan(x.branch)} in order, resolve the conflicts that stopped the automatic merge (task ${x.integration}), run the tests, and commit.\n`,
    '## Conflicts the merge runner found\n',
    `${conflicts}\n${clean}`,
    '## How\n',
    // A person (or an agent) who claims it by hand has no worktree made for them: where to start is theirs to set up.
    x.manual
      ? `In a checkout of ${x.repo ? codeSpan(x.repo) : 'the project'} with it as \`origin\`, fetch and start ${codeSpan(x.branch)} at ${base} (\`git fetch origin\`, then ${codeSpan(`git switch -c ${shellWord(x.branch)} ${shellWord(x.baseCommit ?? `origin/${x.base ?? 'BASE'}`)}`)}, or ${codeSpan(`git switch ${shellWord(x.branch)}`)} when you have it already). The branches to merge are \`origin/<branch>\`. Merge them one at a time, in this order:\n`
      : `Your worktree is on branch ${codeSpan(x.branch)}, at ${base}. The branches to merge are fetched as \`origin/<branch>\`. Merge them one at a time, in this order:\n`,
    '```sh',
    merges,
    '```\n',
    '- When a merge stops on conflicts, resolve each conflicted file keeping the intent of both sides (the workstreams\' notes in `RESULTS/` say what each meant), `git add` the files and conclude it with `git commit --no-edit` before the next merge. Do not drop either side\'s change without saying why.',
    '- After the last merge, run the project\'s tests and fix what the integration broke, in commits of their own.',
    x.manual
      ? `- Write what you decided for each conflict in \`${resultsFile('integration')}\` and commit it. Push ${codeSpan(x.branch)} (${codeSpan(`git push origin ${shellWord(`HEAD:refs/heads/${x.branch}`)}`)}), then answer this task with \`gitbus respond ID --status succeeded\`: gitbus checks that ${codeSpan(x.branch)} on the project remote contains every branch above, and refuses the answer until it does (\`gitbus group\` then says \`resolved by\` this task).`
      : `- Write what you decided for each conflict in \`${resultsFile('integration')}\` and commit it. What is left uncommitted when the run ends is committed for you, and ${codeSpan(x.branch)} is pushed.`,
    '',
  ].join('\n');
}

export async function resolveConflicts(ctx: BusContext, ref: string, opts: ResolveOptions = {}): Promise<ResolveResult> {
  const t = await findIntegration(ctx, ref);
  const h = t.handoff;
  const wanted = 'resolve its merge conflicts';
  if (!h) throw new TaskStateError(t.id, 'unreadable', wanted, `see the problems with "gitbus show ${t.id}"`);
  const runner = effectiveRunner(h);
  if (runner !== 'merge' || !h.repo || !h.branch || !h.merge?.length) {
    throw new TaskStateError(t.id, `a ${runner} task, not an integration (merge) task`, wanted, 'give the id of the integration task of a fan-out ("gitbus group NAME" shows it)', { runner });
  }
  const conflicts = t.response?.project?.conflicts ?? [];
  if (!isFinal(t.state)) throw new TaskStateError(t.id, t.state, wanted, `wait until it ends; ${h.group ? `"gitbus group ${h.group}"` : `"gitbus show ${t.id}"`} shows its progress`);
  const again = opts.runner === 'merge';
  if (again && t.state === 'succeeded' && !opts.force) {
    throw new TaskStateError(t.id, 'succeeded', 'merge its branches again', `nothing to merge again: ${h.branch} merged cleanly and was pushed; to merge again anyway, after a task of the group reworked a workstream's branch (gitbus resume of it, or gitbus dispatch --group ${h.group ?? 'GROUP'} --branch ...), add --force`);
  }
  if (!again && conflicts.length === 0) {
    const fix = t.state === 'succeeded' ? `nothing to resolve: ${h.branch} merged cleanly` : `it ended without reporting conflicts${t.response?.reason ? ` (${t.response.reason})` : ''}; see "gitbus show ${t.id}"`;
    // `state` is the task's state, as every TASK_STATE error gives it; that it has no conflicts is the message's.
    throw new TaskStateError(t.id, t.state, `${wanted}: it reported none`, fix, { conflicts: 0 });
  }
  const { busy, resolved } = await followUps(ctx, t.id, h.repo, h.branch, h.merge, h.group ?? null);
  if (resolved && !opts.force) {
    // A second follow-up is another paid run, merging again what the first already merged and pushed.
    const where = resolved.branch ?? h.branch;
    throw new TaskStateError(t.id, `already resolved by ${resolved.id} (succeeded)`, wanted, `fetch its result: ${fetchCommand(resolved.remote, where)}; to resolve it again anyway, add --force`, { resolvedBy: resolved.id, resolveState: 'succeeded' });
  }
  if (busy) {
    // A second follow-up would merge the same branches again on the same branch, racing the first one's pushes.
    throw new TaskStateError(t.id, `already being resolved by ${busy.id} (${busy.state})`, wanted, `wait for ${busy.id} to end ("gitbus show ${busy.id}"), or cancel it ("gitbus cancel ${busy.id}") and run gitbus resolve ${t.id} again`, { resolvedBy: busy.id, resolveState: busy.state });
  }
  const group = h.group ?? null;
  if (again) return mergeAgain(ctx, { id: t.id, handoff: { ...h, repo: h.repo, branch: h.branch, merge: h.merge }, conflicts }, opts);
  const by = opts.runner ?? 'claude';
  // The fan-out's claude settings (its plan's `claude:`, which every workstream got) unless a flag says otherwise.
  const fromWorkstreams = by === 'claude' ? await workstreamClaude(ctx, h.repo, h.merge, group) : null;
  const claude = by === 'claude' && (fromWorkstreams || opts.claude) ? { ...fromWorkstreams, ...opts.claude } : undefined;
  const fanTitle = h.title.endsWith(': integration') ? h.title.slice(0, -': integration'.length) : h.title;
  const handoff: NewHandoff = {
    title: suffixedTitle(fanTitle, 'resolve merge conflicts'),
    ...(opts.to ? { to: opts.to } : {}),
    ...(opts.labels?.length ? { labels: opts.labels } : {}),
    runner: by,
    ...(claude ? { claude } : {}),
    repo: h.repo,
    ...(h.base ? { base: h.base } : {}),
    ...(h.baseCommit ? { baseCommit: h.baseCommit } : {}),
    branch: h.branch,
    ...(group ? { group } : {}),
    merge: h.merge,
  };
  // Where each workstream's result is, as its response names it; none known (the bus out of reach): its branch.
  const results = await mergeResults(ctx, { repo: h.repo, branch: h.branch, merge: h.merge, ...(group ? { group } : {}) }, t.id).catch(() => ({ results: [] }));
  const on = Object.fromEntries(results.results.filter((r) => r.on !== r.branch).map((r) => [r.branch, r.on]));
  const body = resolveBody({ integration: t.id, group, branch: h.branch, base: h.base ?? null, baseCommit: h.baseCommit ?? null, merge: h.merge, merged: t.response?.project?.merged ?? [], conflicts, on, repo: h.repo, manual: by === 'manual' });
  const r = await dispatchFollowUp(ctx, handoff, body, opts);
  return { ...r, integration: t.id, group, branch: h.branch, merge: h.merge, conflicts, claude: claude ?? null, claudeFromWorkstreams: fromWorkstreams };
}

/** Dispatches the follow-up, refusing a `to` that cannot take it unless forced (as `dispatch --to` does). */
async function dispatchFollowUp(ctx: BusContext, handoff: NewHandoff, body: string, opts: ResolveOptions): Promise<DispatchResult & { commit: string | null }> {
  const target = handoff.to !== undefined ? await dispatchTargetProblem(ctx, handoff.to, handoff) : null;
  if (target && !opts.force) throw target;
  const r = await dispatch(ctx, { handoff, body, ...(opts.sign ? { sign: opts.sign } : {}) });
  // With force an unknown node is among dispatch's own warnings; a node that cannot run it is not.
  return target instanceof NodeCannotRunError ? { ...r, warnings: [...r.warnings, `${firstLine(target)}; the task waits until it can`] } : r;
}

/**
 * The `claude:` requests every live claude workstream of the integration asked for alike (the plan's `claude:`,
 * which fanout gives each; a workstream's own override differs and is left out), without `resume`; null when there
 * is none (the workstreams were archived, or asked for nothing in common).
 */
async function workstreamClaude(ctx: BusContext, repo: string, branches: string[], group: string | null): Promise<ClaudeRequest | null> {
  const snap = await localSnapshot(ctx);
  const merged = new Set(branches);
  const ids = await snap.handoffIdsWhere(`workstreams ${repo} ${group ?? ''} ${branches.join(' ')}`, (f) => f.repo === repo && f.branch !== undefined && merged.has(f.branch) && (group === null || f.group === group), false);
  const asked: ClaudeRequest[] = [];
  for (const id of ids) {
    const handoff = (await snap.baseView(id, false))?.handoff;
    if (handoff && effectiveRunner(handoff) === 'claude') asked.push(handoff.claude ?? {});
  }
  return commonClaude(asked);
}

/**
 * The follow-ups of the integration (bus/ops/follow-ups.ts: the other tasks on its repo and branch, a resolve or a
 * merge dispatched again, live and archived): one that has not ended (`busy`), and the one that resolved it
 * (`resolved`, with the branch its response says it pushed).
 */
async function followUps(ctx: BusContext, integration: string, repo: string, branch: string, merge: readonly string[], group: string | null): Promise<{ busy: { id: string; state: TaskState } | null; resolved: { id: string; branch: string | null; remote: string } | null }> {
  // The clone as readRanTask left it, synced a moment ago.
  const snap = await localSnapshot(ctx);
  const ref = { id: integration, repo, branch, group };
  // As `gitbus group` judges it: one that pushed nothing, or a branch lacking workstreams, resolved nothing.
  const resolves = (state: TaskState, p: ProjectReport | undefined) => resolvesIntegration(merge, state, p);
  let busy: { id: string; state: TaskState } | null = null;
  const resolving: { id: string; branch: string | null; remote: string; created: string | null }[] = [];
  for (const id of await liveFollowUpIds(snap, ref)) {
    const v = await snap.baseView(id, false);
    if (!v) continue;
    if (!isFinal(v.state)) busy ??= { id, state: v.state };
    else if (resolves(v.state, v.response?.project)) resolving.push({ id, branch: v.response?.project?.branch ?? null, remote: resultsRemote(repo, v.response?.project, v.responseBody, v.delivery?.url), created: v.handoff?.created ?? null });
  }
  // Archived ones with the live, never only when no live one resolved: `gitbus group` weighs them together, and of
  // an archived one on the branch itself and a live one beside it, the rule names the archived one.
  for (const a of await archivedFollowUps(ctx, snap, ref)) {
    if (resolves(a.state, a.response?.project)) resolving.push({ id: a.id, branch: a.response?.project?.branch ?? null, remote: resultsRemote(repo, a.response?.project, a.responseBody, a.deliveredUrl), created: a.handoff.created ?? null });
  }
  // Of several, the one `gitbus group` names too.
  return { busy, resolved: settlingFollowUp(branch, resolving) ?? null };
}

interface ArchivedFollowUp {
  id: string;
  handoff: Handoff;
  state: TaskState;
  response?: TaskResponse;
  responseBody?: string;
  deliveredUrl?: string;
}

/**
 * Those of `ids` that have left main for the archive, with their handoff, state and response as this node counts
 * them (archivedRuns): a follow-up whose response is forged in a node's name resolved nothing.
 */
async function archivedTasks(ctx: BusContext, ids: readonly string[], snap: Awaited<ReturnType<typeof localSnapshot>>): Promise<ArchivedFollowUp[]> {
  const runs = await archivedRuns(ctx, ids.filter((id) => !snap.has(id)));
  return [...runs.values()].flatMap(({ id, handoff, state, response, responseBody, deliveredUrl }) => (handoff ? [{ id, handoff, state, ...(response ? { response } : {}), ...(responseBody !== undefined ? { responseBody } : {}), ...(deliveredUrl !== undefined ? { deliveredUrl } : {}) }] : []));
}


/**
 * `resolve ID --runner merge`: the integration dispatched again as it was (a merge runner task on the same repo,
 * base, branch and branches, in the same order), after the newest task on each of its branches: the workstream, or
 * the follow-up that reworks its branch (`gitbus resume` of it). The merge runner then merges each branch as that
 * task's response reports it, once they have all ended, as it did for the integration.
 */
async function mergeAgain(ctx: BusContext, t: { id: string; handoff: Handoff & { repo: string; branch: string; merge: string[] }; conflicts: { branch: string; files: string[] }[] }, opts: ResolveOptions): Promise<ResolveResult> {
  const h = t.handoff;
  const group = h.group ?? null;
  const after = await newestOnBranches(ctx, h, t.id);
  const handoff = mergeAgainHandoff(h, { ...(opts.to ? { to: opts.to } : {}), ...(opts.labels ? { labels: opts.labels } : {}), after });
  const body = mergeAgainBody({ integration: t.id, group, branch: h.branch, merge: h.merge, after });
  const r = await dispatchFollowUp(ctx, handoff, body, opts);
  return { ...r, integration: t.id, group, branch: h.branch, merge: h.merge, conflicts: t.conflicts, claude: null, claudeFromWorkstreams: null, after };
}

/**
 * Per branch of the merge, in its order, the newest task made for it: among the integration's own `after` (the
 * workstreams, live or archived), the group's live tasks and those this home noted of it, archived since (a resume of
 * a workstream is newer than the workstream).
 */
async function newestOnBranches(ctx: BusContext, h: Handoff & { merge: string[] }, integration: string): Promise<string[]> {
  const snap = await localSnapshot(ctx);
  // The group's follow-ups archived since are known to this home's note of the group (bus/groups-ledger.ts).
  const noted = h.group ? (recordedGroup(ctx.paths.home, h.group)?.ids ?? []) : [];
  const candidates = [...new Set([...(h.after ?? []), ...(h.group ? await groupTaskIds(snap, h.group, new Set([integration])) : []), ...noted])].filter((id) => id !== integration);
  const made: { id: string; handoff: Handoff }[] = await archivedTasks(ctx, candidates, snap);
  for (const id of candidates) {
    const handoff = snap.has(id) ? (await snap.baseView(id, false))?.handoff : undefined;
    if (handoff) made.push({ id, handoff });
  }
  const newest = new Map<string, { id: string; created: string }>();
  for (const { id, handoff } of made) {
    const b = handoff.branch;
    if (b === undefined || !h.merge.includes(b) || effectiveRunner(handoff) === 'merge') continue;
    const seen = newest.get(b);
    const created = handoff.created ?? '';
    if (!seen || created > seen.created || (created === seen.created && id > seen.id)) newest.set(b, { id, created });
  }
  return h.merge.flatMap((b) => newest.get(b)?.id ?? []);
}
