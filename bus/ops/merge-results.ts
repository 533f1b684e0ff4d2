import { type Handoff } from '../../schemas/handoff.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import type { BusContext } from '../context.js';
import type { TaskState } from '../model/types.js';
import { dependencyResults } from './dependency-results.js';
import { localSnapshot } from './query.js';
import { archivedRuns } from './archived-trust.js';

/**
 * What a task that merges by hand (a `gitbus resolve` follow-up: a handoff with `merge` and a runner other than
 * `merge`) must leave its branch containing: per branch of `merge`, the result commit of the newest task made for it
 * that succeeded — the workstream, or the task that reworked its branch (`gitbus resume` of it) — as its response
 * reports it (`project.headCommit`). Its candidates are the live tasks of the project on those branches (of the
 * group, when the task has one) and the `after` of the group's integration tasks (workstreams the archive took).
 */

export interface MergeResult {
  /** The branch as `merge` names it. */
  branch: string;
  /** The task whose result it is. */
  task: string;
  /** Its response's `project.headCommit`. */
  commit: string;
  /** The branch its response names: `branch`, or beside it (`<branch>-moved-<commit>`) when it was no fast-forward. */
  on: string;
}

export interface MergeResults {
  /** Per branch of `merge` that has one: the result to contain. */
  results: MergeResult[];
  /** The group's integration task on the task's branch (the newest live one), for a fix-it; null when none. */
  integration: string | null;
}

interface Made {
  id: string;
  handoff: Handoff;
  state: TaskState;
}

export async function mergeResults(ctx: BusContext, h: Pick<Handoff, 'repo' | 'branch' | 'group' | 'merge'>, self: string): Promise<MergeResults> {
  const merge = h.merge ?? [];
  const repo = h.repo;
  if (repo === undefined || merge.length === 0) return { results: [], integration: null };
  const snap = await localSnapshot(ctx);
  const wanted = new Set(merge);
  const group = h.group;
  const ofGroup = (f: { group?: string | undefined }) => group === undefined || f.group === group;
  const onBranches = await snap.handoffIdsWhere(`merge results ${repo} ${group ?? ''} ${merge.join(' ')}`, (f) => f.repo === repo && f.branch !== undefined && wanted.has(f.branch) && ofGroup(f), false);
  const integrations = h.branch === undefined ? [] : await snap.handoffIdsWhere(`integrations ${repo} ${group ?? ''} ${h.branch}`, (f) => f.repo === repo && f.branch === h.branch && f.runner === 'merge' && ofGroup(f), false);
  const made: Made[] = [];
  const after = new Set<string>();
  let integration: { id: string; created: string } | null = null;
  for (const id of [...onBranches, ...integrations]) {
    if (id === self) continue;
    const v = await snap.baseView(id, false);
    if (!v?.handoff) continue;
    if (effectiveRunner(v.handoff) === 'merge') {
      for (const d of v.handoff.after ?? []) after.add(d);
      const created = v.handoff.created ?? '';
      if (integration === null || created > integration.created) integration = { id, created };
    } else made.push({ id, handoff: v.handoff, state: v.state });
  }
  // Workstreams the archive took since: the integration still names them. One whose archived response is forged in a
  // node's name did not succeed here (it reads `invalid`), so it does not hide an older result that counts.
  const gone = [...after].filter((id) => id !== self && !snap.has(id));
  for (const { id, handoff, state } of (await archivedRuns(ctx, gone)).values()) {
    if (handoff?.repo === repo && handoff.branch !== undefined && wanted.has(handoff.branch) && effectiveRunner(handoff) !== 'merge') made.push({ id, handoff, state });
  }
  const newest = new Map<string, Made>();
  for (const m of made) {
    if (m.state !== 'succeeded') continue;
    const b = m.handoff.branch ?? '';
    const seen = newest.get(b);
    const created = m.handoff.created ?? '';
    const seenCreated = seen?.handoff.created ?? '';
    if (!seen || created > seenCreated || (created === seenCreated && m.id > seen.id)) newest.set(b, m);
  }
  // Their reports as the merge runner reads them (an archived response counts only as the node's trust counts it).
  const reports = await dependencyResults(ctx, [...newest.values()].map((m) => m.id));
  const results: MergeResult[] = [];
  for (const branch of merge) {
    const m = newest.get(branch);
    const report = m ? reports.find((r) => r.id === m.id)?.report : undefined;
    if (m && report) results.push({ branch, task: m.id, commit: report.headCommit, on: report.branch });
  }
  return { results, integration: integration?.id ?? null };
}
