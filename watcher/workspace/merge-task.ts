import { appendFileSync, mkdirSync } from 'node:fs';
import { homedir } from '../../bus/user-home-dir.js';
import { dirname } from 'node:path';
import type { BusContext } from '../../bus/context.js';
import type { ClaimResult } from '../../bus/ops/claim.js';
import { firstLine } from '../../schemas/errors.js';
import { defaultBranch, type ProjectReport } from '../../schemas/project.js';
import { integrate } from '../runners/merge.js';
import { readTail } from '../runners/output-tail.js';
import type { RunOutcome } from '../runners/runner.js';
import { ensureCache, fetchProject, isAncestor, refCommit, resolveBase } from './cache.js';
import { DEFAULT_FETCH_WAIT, outageHold, unstarted, type FetchWait } from './fetch-retry.js';
import { resolveProject } from './project-config.js';
import { branchFacts } from './results.js';
import { startFacts } from './start-facts.js';
import { dependencyResults, type DependencyResult } from '../../bus/ops/dependency-results.js';
import { git } from '../../bus/project/git.js';
import { redactUrlCredentials } from '../../schemas/url-redact.js';

/** Why the integration stopped: each conflicting branch with its files, on one line. Pure. */
export function conflictReason(conflicts: { branch: string; files: string[] }[], total: number): string {
  const list = conflicts.map((c) => `${c.branch} (${c.files.slice(0, 10).join(', ')}${c.files.length > 10 ? `, +${c.files.length - 10} more` : ''})`).join('; ');
  return `${conflicts.length} of ${total} branch${total === 1 ? '' : 'es'} conflict: ${list}; the branch was left untouched`;
}

/**
 * Where a dependency's results are: the branch its response names (beside the one asked for, when they were not a fast-forward of it)
 * at the commit it reports, as the project remote still has it. Anything else is not what the task made: an older
 * run's branch of the same name, or commits someone pushed on top since.
 */
async function reportedResult(gitDir: string, name: string, dep: DependencyResult): Promise<{ name: string; commit: string } | { problem: string }> {
  const r = dep.report;
  if (!r) return { problem: `${name}: task ${dep.id} reported no result on the project` };
  const at = await refCommit(gitDir, `refs/remotes/origin/${r.branch}`);
  if (at === r.headCommit) return { name: r.branch, commit: at };
  const left = `${r.branch} at ${r.headCommit.slice(0, 12)}`;
  if (at === null) return { problem: `${name}: task ${dep.id} left its result on ${left}, which the project remote does not have${r.pushed ? '' : ` (not pushed${r.pushError ? `: ${r.pushError}` : ''})`}` };
  return { problem: `${name}: task ${dep.id} left its result on ${left}, but the project remote has ${r.branch} at ${at.slice(0, 12)} (it moved since)` };
}

/**
 * The merge runner (a fan-out's integration): the branches of `merge` are merged in order onto the base — or onto
 * the result branch as the remote has it, when that already contains the base (a second run after conflicts were
 * resolved there) — in the node's cached clone, without a worktree. Every merge is dry-run first; only when all
 * are clean is the result pushed (by the outbox, as any project task's branch); otherwise the conflicts are
 * reported by branch and file and nothing is pushed. A branch made by a task of `after` is merged as that task's
 * response reports it (its branch, at its headCommit), never as whatever now has the name.
 */
export async function mergeTask(ctx: BusContext, task: ClaimResult, logPath: string, abort: AbortSignal, fetchWait?: FetchWait): Promise<RunOutcome> {
  const started = new Date();
  const h = task.handoff;
  mkdirSync(dirname(logPath), { recursive: true });
  // The task's log stays in the node's home and `gitbus logs` shows it: a node.yaml project URL may carry a
  // password, which it does not get (what is published from it is redacted again on the way out).
  const log = (line: string) => appendFileSync(logPath, `${redactUrlCredentials(line)}\n`);
  const end = async (o: Omit<RunOutcome, 'started' | 'finished' | 'outputTail' | 'exitCode'> & { exitCode?: number | null }): Promise<RunOutcome> => ({ exitCode: null, started, finished: new Date(), outputTail: await readTail(logPath), ...o });
  if (!h.repo || !h.merge?.length) return end({ status: 'failed', reason: 'the merge runner needs "repo" and "merge"' });
  const project = resolveProject(ctx.config, h.repo, { home: ctx.paths.home, userHome: homedir() });
  if ('reason' in project) return end({ status: 'failed', reason: project.reason });
  const branch = h.branch ?? defaultBranch(task.id);
  try {
    const cache = await ensureCache(ctx.paths.home, project.url);
    log(`gitbus: fetching ${project.url}`);
    // One hold for the fetch and the base (fetched by id, a tag, the default branch): an outage found after the
    // fetch worked waits as one before it does (fetch-retry.ts).
    const hold = outageHold(cache.url, fetchWait ?? DEFAULT_FETCH_WAIT, abort, log);
    try {
      await hold.run(() => fetchProject(cache));
    } catch (err) {
      log(`gitbus: ${firstLine(err)}`);
      return { ...unstarted(err, started, abort, `could not integrate on ${ctx.config.node}`), outputTail: await readTail(logPath) };
    }
    if (abort.aborted) return end({ status: 'cancelled', reason: 'stopped on request' });
    let base: Awaited<ReturnType<typeof resolveBase>>;
    try {
      base = await hold.run(() => resolveBase(cache, h));
    } catch (err) {
      // The remote still away after the hold: given back rather than failed (as a project task's start does).
      log(`gitbus: ${firstLine(err)}`);
      return { ...unstarted(err, started, abort, `could not integrate on ${ctx.config.node}`), outputTail: await readTail(logPath) };
    }
    const made = h.after?.length ? await dependencyResults(ctx, h.after) : [];
    const branches: { name: string; commit: string }[] = [];
    const missing: string[] = [];
    const lost: string[] = [];
    for (const name of h.merge) {
      const dep = made.find((d) => d.asked === name);
      if (dep) {
        const found = await reportedResult(cache.gitDir, name, dep);
        if ('problem' in found) lost.push(found.problem);
        else branches.push(found);
        continue;
      }
      // A branch no task of `after` was asked for (a merge task written by hand): as the remote has it now.
      const c = await refCommit(cache.gitDir, `refs/remotes/origin/${name}`);
      if (c) branches.push({ name, commit: c });
      else missing.push(name);
    }
    if (missing.length > 0) lost.push(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not on the project remote ${project.url}`);
    if (lost.length > 0) {
      for (const l of lost) log(`gitbus: ${l}`);
      return end({ status: 'failed', reason: `${lost.join('; ')}: nothing was merged; merge what is there by hand, or fan out again under a new group` });
    }
    for (const b of branches) log(`gitbus: ${b.name} at ${b.commit.slice(0, 12)}`);
    const existing = await refCommit(cache.gitDir, `refs/remotes/origin/${branch}`);
    const start = existing !== null && (await isAncestor(cache.gitDir, base.commit, existing)) ? existing : base.commit;
    log(`gitbus: merging ${branches.map((b) => b.name).join(', ')} onto ${start === base.commit ? `${base.base} (${base.commit.slice(0, 12)})` : `${branch} (${start.slice(0, 12)})`}`);
    const r = await integrate({ gitDir: cache.gitDir, baseCommit: start, branches, into: branch, node: ctx.config.node });
    for (const name of r.merged) log(`gitbus: ${name}: ${r.upToDate.includes(name) ? 'already merged' : 'merges cleanly'}`);
    for (const c of r.conflicts) log(`gitbus: ${c.branch}: conflicts in ${c.files.join(', ')}`);
    const report: ProjectReport = { repo: h.repo, branch, baseCommit: base.commit, headCommit: r.head ?? start, pushed: false, merged: r.merged };
    if (!r.ok || r.head === null) {
      log(`gitbus: nothing pushed; ${branch} is untouched`);
      return end({ status: 'failed', reason: conflictReason(r.conflicts, branches.length), project: { ...report, conflicts: r.conflicts.map((c) => ({ branch: c.branch, files: c.files.slice(0, 1000) })) } });
    }
    // Made by commit-tree, the result has no ref until it is pushed: one keeps it from git's gc meanwhile.
    await git(['update-ref', `refs/gitbus/results/${task.id}`, r.head], { gitDir: cache.gitDir });
    // What the result branch on the remote was to this run, as a worktree's record keeps it for a run in one: a push
    // that is not a fast-forward then says whether the branch moved, or never held the base to begin with.
    const [facts, onRemote] = await Promise.all([branchFacts({ gitDir: cache.gitDir }, base.commit, r.head), startFacts(cache.gitDir, existing, start)]);
    log(`gitbus: all ${branches.length} merged into ${branch} at ${r.head.slice(0, 12)}`);
    return end({
      status: 'succeeded',
      exitCode: 0,
      project: { ...report, ...facts.counts },
      projectStat: facts.stat,
      push: { gitDir: cache.gitDir, url: project.url, commit: r.head, branch, ...(onRemote.remoteAtStart ? { lastPushed: onRemote.remoteAtStart } : {}), ...(onRemote.apartAtStart ? { apartAtStart: onRemote.apartAtStart } : {}) },
      resultText: `Merged ${r.merged.join(', ')} into ${branch}.`,
    });
  } catch (err) {
    log(`gitbus: ${firstLine(err)}`);
    return end({ status: 'failed', reason: `could not integrate on ${ctx.config.node}: ${firstLine(err)}` });
  }
}
