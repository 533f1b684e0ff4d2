import { homedir } from 'node:os';
import type { BusContext } from '../../bus/context.js';
import type { Handoff } from '../../schemas/handoff.js';
import type { ProjectReport } from '../../schemas/project.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import { firstLine, GitbusError } from '../../schemas/errors.js';
import { shellWord } from '../../bus/project/shell-word.js';
import { publishedRemote } from '../../bus/project/remote-url.js';
import { heldTask } from '../../bus/ops/holder.js';
import { git } from '../../bus/project/git.js';
import { ensureCache, fetchProject, refCommit } from './cache.js';
import { checkMerged } from './merge-check.js';
import { resolveProject } from './project-config.js';
import { localSnapshot } from '../../bus/ops/query.js';
import { resolveTaskId } from '../../bus/model/resolve-id.js';
import type { RespondInput } from '../../bus/ops/respond.js';

/**
 * A task that merges by hand with no runner to check it (`gitbus resolve --runner manual`: `merge` on a manual
 * task), answered `succeeded`: what the project remote's branch holds, as the response's `project`, so that
 * `gitbus group` and `gitbus resolve` judge it from the response alone, as they judge a run's. A person pushes the
 * branch themselves; it counts as resolved only when the branch on the project remote contains every branch of
 * `merge` (each as the newest task made for it reports its result, bus/ops/merge-results.ts).
 */

export interface ManualMerge {
  /** The response's `project`: the branch as the project remote has it, with the branches of `merge` it contains. */
  project: ProjectReport;
  /** The URL the branch is on, when `repo` is a node.yaml project name (for the response's Branch section). */
  projectUrl?: string;
}

/** Whether a handoff is a merge done by hand that nothing but `gitbus respond` checks. Pure. */
export function isManualMerge(h: Handoff | null | undefined): h is Handoff & { repo: string; branch: string; merge: string[] } {
  return h !== undefined && h !== null && effectiveRunner(h) === 'manual' && h.repo !== undefined && h.branch !== undefined && (h.merge?.length ?? 0) > 0;
}

/**
 * The report of a manual merge answered `succeeded`; refused (MergeNotPushedError) when the project remote's branch
 * lacks a branch of `merge`, is not there, or cannot be read from this node: a `succeeded` that resolved nothing
 * would tell `gitbus group` nothing and leave the next `gitbus resolve` to judge it.
 */
export async function manualMergeReport(ctx: BusContext, id: string, h: Handoff & { repo: string; branch: string; merge: string[] }): Promise<ManualMerge> {
  const project = resolveProject(ctx.config, h.repo, { home: ctx.paths.home, userHome: homedir() });
  if ('reason' in project) throw new MergeNotPushedError(id, h.branch, project.reason, 'answer from a node that reaches the project remote (one whose node.yaml names it), or with --status failed');
  const url = project.url;
  let head: string | null;
  let check: Awaited<ReturnType<typeof checkMerged>>;
  let commits = NaN;
  try {
    const cache = await ensureCache(ctx.paths.home, url);
    await fetchProject(cache);
    head = await refCommit(cache.gitDir, `refs/remotes/origin/${h.branch}`);
    if (head === null) throw new MergeNotPushedError(id, h.branch, `it is not on the project remote ${url}`, `push it (git push ${shellWord(url)} HEAD:${shellWord(h.branch)}) and answer again`);
    check = await checkMerged(ctx, { id, handoff: h }, cache.gitDir, head, () => undefined);
    if (h.baseCommit) {
      // The base may be missing from the cache (a remote rewritten since): then the count is left out.
      const counted = await git(['rev-list', '--count', `${h.baseCommit}..${head}`], { gitDir: cache.gitDir, okCodes: [128] });
      if (counted.code === 0) commits = Number(counted.stdout.trim());
    }
  } catch (err) {
    if (err instanceof MergeNotPushedError) throw err;
    throw new MergeNotPushedError(id, h.branch, `the project remote could not be read: ${firstLine(err)}`, 'answer again once this node reaches the project remote, or from a node that does, or with --status failed');
  }
  if (check.missing.length > 0) {
    const what = check.missing.map((m) => `${m.branch}${m.commit ? ` (${m.task ? `task ${m.task}'s result ` : ''}${m.commit.slice(0, 12)})` : ''}`).join(', ');
    throw new MergeNotPushedError(id, h.branch, `${h.branch} on the project remote (${head.slice(0, 12)}) does not contain ${what}`, `merge ${check.missing.length === 1 ? 'it' : 'them'} as the project remote has ${check.missing.length === 1 ? 'it' : 'them'} (git pull --no-rebase ${shellWord(url)} <branch>, in your checkout of ${shellWord(h.branch)}), push ${shellWord(h.branch)} to ${shellWord(url)} and answer again, or answer with --status failed`);
  }
  const report: ProjectReport = {
    repo: h.repo,
    branch: h.branch,
    baseCommit: h.baseCommit ?? head,
    headCommit: head,
    pushed: true,
    ...(Number.isSafeInteger(commits) ? { commits } : {}),
    merged: check.merged,
  };
  // As the watcher publishes it (deliver-branch.ts): without the credentials node.yaml's URL may hold, since the
  // response goes to every node of the bus.
  const published = publishedRemote(h.repo, url);
  return { project: report, ...(published !== undefined ? { projectUrl: published } : {}) };
}

/** `gitbus respond --status succeeded` of a manual merge whose branch on the project remote does not show it done. */
export class MergeNotPushedError extends GitbusError {
  readonly code = 'MERGE_NOT_PUSHED';
  constructor(id: string, branch: string, why: string, fix: string) {
    super(`task ${id} merges by hand into ${branch}, and cannot be answered succeeded: ${why}`, fix, { id, branch });
  }
}

/**
 * What `respond` (the CLI's and the MCP tool's) adds to an answer: for a manual merge answered `succeeded`, the
 * project remote's branch as checked above (refused when it does not hold every branch); nothing otherwise.
 */
export async function manualMergeFields(ctx: BusContext, ref: string, status: RespondInput['status']): Promise<Pick<RespondInput, 'project' | 'projectUrl'>> {
  if (status !== 'succeeded') return {};
  // The clone as it is: a task this node holds is in it (handoffs never change), and no fetch is spent on every
  // answer; a ref it cannot name is left to respond, which says why.
  const snap = await localSnapshot(ctx);
  let id: string;
  try {
    id = resolveTaskId(snap, ref);
  } catch {
    return {};
  }
  const handoff = (await snap.baseView(id, false))?.handoff;
  if (!isManualMerge(handoff)) return {};
  // Only its holder may answer it: said before the project remote is read (respond checks it again on the bus).
  await heldTask(snap, id, ctx.config.node, 'respond', async () => false);
  return manualMergeReport(ctx, id, handoff);
}
