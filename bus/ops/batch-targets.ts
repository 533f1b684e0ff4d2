import type { BatchTask } from '../../schemas/batch.js';
import { firstLine, type FileProblem } from '../../schemas/errors.js';
import type { Handoff } from '../../schemas/handoff.js';
import { UnknownNodeError, type NodeCannotRunError } from '../errors.js';
import type { Snapshot } from '../model/snapshot.js';
import { cannotRunError, targetRefusals, type TargetCause, type TargetRefusal } from './dispatch-target.js';

/**
 * The checks of a batch's `to` against the nodes' cards (bus/ops/dispatch-batch.ts), and whom each refusal is
 * blamed on: the line that wrote the value refused, or the command-line flag whose default the line took, since
 * the person fixes the one or the other.
 */

/** A line whose `to` could never claim it: the error a dispatch reports, and what of the task each part of it is about. */
export interface TargetFound {
  task: BatchTask;
  error: UnknownNodeError | NodeCannotRunError;
  /** Empty for an unknown node. */
  refusals: TargetRefusal[];
}

/** What the command line gave the lines that write none of their own (bus/ops/dispatch-batch.ts, BatchShared). */
export interface BatchFlagDefaults {
  to?: string;
  labels?: string[];
  /** Where the batch's project came from, when there is one: `--repo`, or the checkout the batch is dispatched in. */
  project?: 'flag' | 'checkout';
}

/**
 * Tasks whose `to` could never claim them, as the local clone sees it, confirmed on the remote's main (`remote`: the
 * caller's, which it may ask for again: bus/ops/dispatch-batch.ts fetches it once for these and its warnings).
 */
export async function targetProblems(snap: Snapshot, built: { task: BatchTask; data: Handoff }[], remote: () => Promise<Snapshot>): Promise<TargetFound[]> {
  const judge = async (s: Snapshot, list: readonly { task: BatchTask; data: Handoff }[]) => {
    const out: (TargetFound & { data: Handoff })[] = [];
    for (const b of list) {
      if (b.data.to === undefined) continue;
      const r = await targetRefusals(s, b.data.to, b.data);
      if (r instanceof UnknownNodeError) out.push({ ...b, error: r, refusals: [] });
      else {
        const error = cannotRunError(b.data.to, r);
        if (error) out.push({ ...b, error, refusals: r });
      }
    }
    return out;
  };
  const local = await judge(snap, built);
  if (local.length === 0) return [];
  let fresh: Snapshot;
  try {
    // The node may have joined, or changed its card, since this clone last synced.
    fresh = await remote();
  } catch {
    return local;
  }
  return judge(fresh, local);
}

type Flag = '--to' | '--label' | '--repo' | 'checkout';

/** Which flag gave the value a refusal is about; null: the line wrote it (or nothing gave it, and the line lacks it). */
function flagOf(task: BatchTask, cause: TargetCause, d: BatchFlagDefaults): Flag | null {
  const h = task.handoff;
  const toFlag = h.to === undefined && d.to !== undefined ? '--to' : null;
  if (cause === 'labels' && h.labels === undefined && d.labels?.length) return '--label';
  // As in batchHandoff: a line naming any of these names its own project.
  const ownsProject = h.repo !== undefined || h.base !== undefined || h.baseCommit !== undefined;
  if (cause === 'repo' && !ownsProject && d.project !== undefined) return d.project === 'flag' ? '--repo' : 'checkout';
  // The node named is refused for this task; whoever named it fixes it (the task's other values are its own).
  return toFlag;
}

const linesOf = (ats: readonly string[]) => `${ats.slice(0, 3).join(', ')}${ats.length > 3 ? ` and ${ats.length - 3} more` : ''}`;

/** A refusal of a flag's default as a problem on that flag, naming the lines that took it. Pure. */
function onFlag(flag: Flag, reason: string, fix: string, ats: readonly string[]): FileProblem {
  const one = ats.length === 1;
  const lines = linesOf(ats);
  const those = one ? 'that line' : 'those lines';
  const none = `which ${one ? 'has' : 'have'} none of ${one ? 'its' : 'their'} own`;
  switch (flag) {
    case '--to':
      return { path: '--to', field: '', reason: `${reason} (the "to" of ${lines}, ${none})`, fix: `correct --to, or give ${one ? 'that line a "to" of its' : 'those lines a "to" of their'} own; ${fix}`, severity: 'error' };
    case '--label':
      return { path: '--label', field: '', reason: `${reason} (the "labels" of ${lines}, ${none})`, fix: `correct --label, or give ${those} "labels" of ${one ? 'its' : 'their'} own; ${fix}`, severity: 'error' };
    case '--repo':
      return { path: '--repo', field: '', reason: `${reason} (the "repo" of ${lines}, which name${one ? 's' : ''} no project of ${one ? 'its' : 'their'} own)`, fix: `correct --repo, or give ${those} a "repo" of ${one ? 'its' : 'their'} own; ${fix}`, severity: 'error' };
    case 'checkout':
      // --repo's default: the flag to give is the fix.
      return { path: '--repo', field: '', reason: `${reason} (the repo of this checkout, which ${lines} ${one ? 'takes' : 'take'}, naming no project of ${one ? 'its' : 'their'} own)`, fix: `give --repo a project that node works on, --no-repo for plain tasks, or ${those} a "repo" of ${one ? 'its' : 'their'} own; ${fix}`, severity: 'error' };
  }
}

/**
 * The refusals of targetProblems as problems: each part of a refusal on what gave the value it is about. On the
 * line (its `to`) when the line wrote it; else on the flag whose default the line took (`--to`, `--label`, or
 * `--repo` and the checkout's project), once a reason, naming the lines that took it. Pure.
 */
export function targetFileProblems(targets: readonly TargetFound[], defaults: BatchFlagDefaults): FileProblem[] {
  const out: FileProblem[] = [];
  const byFlag = new Map<string, { flag: Flag; reason: string; fix: string; ats: string[] }>();
  const blame = (task: BatchTask, flag: Flag | null, error: UnknownNodeError | NodeCannotRunError) => {
    const reason = firstLine(error);
    if (flag === null) {
      out.push({ path: task.at, field: `${task.field}to`, reason, fix: error.fix, severity: 'error' });
      return;
    }
    const key = `${flag}\n${reason}`;
    const seen = byFlag.get(key);
    if (seen) seen.ats.push(task.at);
    else byFlag.set(key, { flag, reason, fix: error.fix, ats: [task.at] });
  };
  for (const { task, error, refusals } of targets) {
    if (error instanceof UnknownNodeError) {
      blame(task, flagOf(task, 'to', defaults), error);
      continue;
    }
    const parts = new Map<Flag | null, TargetRefusal[]>();
    for (const r of refusals) {
      const flag = flagOf(task, r.cause, defaults);
      parts.set(flag, [...(parts.get(flag) ?? []), r]);
    }
    const to = typeof error.data['node'] === 'string' ? error.data['node'] : '';
    for (const [flag, rs] of parts) {
      const part = parts.size === 1 ? error : cannotRunError(to, rs);
      if (part) blame(task, flag, part);
    }
  }
  const order: Flag[] = ['--to', '--label', '--repo', 'checkout'];
  const flagged = [...byFlag.values()].sort((a, b) => order.indexOf(a.flag) - order.indexOf(b.flag)).map((f) => onFlag(f.flag, f.reason, f.fix, f.ats));
  return [...flagged, ...out];
}
