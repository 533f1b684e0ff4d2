import type { FileProblem } from '../../schemas/errors.js';
import type { ResolvedSettings } from '../../schemas/settings.js';
import type { BusContext } from '../context.js';
import type { NodeView } from '../model/snapshot.js';
import type { ForgedFile, SettingOverride, TaskState } from '../model/types.js';
import { archivedStates } from './archived-trust.js';
import type { BeatDelivering } from './heartbeat.js';
import type { ShownTrust } from './query.js';
import { DIGEST_PER_STATE, DIGEST_SPARE_PER_STATE } from './status-digest-file.js';
import type { TaskSummary } from './task-summary.js';

/*
 * What status works out of one commit of main, shared by its three ways there (bus/ops/status.ts): from the
 * commit's digest, derived from an earlier commit's (status-derive.ts), or in full.
 */

/** A task as status lists it (BusStatus.tasks). */
export type StatusTask = TaskSummary & { refusedHere?: string; untrusted?: string; trustVerdict?: ShownTrust; noTaker?: string; delivering?: BeatDelivering; takersDown?: string };

/** What status shows of one commit, before the clock, heartbeats and this node's own files are added. */
export interface StatusCore {
  head: string | null;
  settings: ResolvedSettings;
  settingsOverridden: SettingOverride[];
  nodes: NodeView[];
  /** The tasks listed, in queue order (progress not filled in yet). */
  tasks: StatusTask[];
  /**
   * Every task's summary in a digest's summaries payload, in pieces (status-digest-file.ts summaryPieces), in place
   * of `tasks` (left empty): what `status --json` writes (status-tasks-json.ts).
   */
  payload?: Buffer[];
  perState?: number;
  counts: Partial<Record<TaskState, number>>;
  trust: { version: number } | null;
  problems: FileProblem[];
  forged: ForgedFile[];
  holders: ReadonlyMap<string, readonly string[]>;
}

/** The first `per` tasks of each state of `tasks` (in their order); all of them when `per` is undefined. Pure. */
export function firstPerState<T extends { state: TaskState }>(tasks: readonly T[], per: number | undefined): T[] {
  return per === undefined ? [...tasks] : rankedWithin(tasks, 0, per);
}

/**
 * The tasks of `tasks` (in their order) ranked after the first DIGEST_PER_STATE of their state, up to
 * DIGEST_SPARE_PER_STATE more: a full digest's spare summaries (status-digest-file.ts). Pure.
 */
export function sparePerState<T extends { state: TaskState }>(tasks: readonly T[]): T[] {
  return rankedWithin(tasks, DIGEST_PER_STATE, DIGEST_PER_STATE + DIGEST_SPARE_PER_STATE);
}

/** The tasks of `tasks` (in their order) ranked after the first `after` of their state and among the first `upTo`. */
function rankedWithin<T extends { state: TaskState }>(tasks: readonly T[], after: number, upTo: number): T[] {
  const seen = new Map<TaskState, number>();
  return tasks.filter((t) => {
    const n = (seen.get(t.state) ?? 0) + 1;
    seen.set(t.state, n);
    return n > after && n <= upTo;
  });
}

/** How many tasks of each state `tasks` holds. Pure. */
export function countStates(tasks: readonly { state: TaskState }[]): Partial<Record<TaskState, number>> {
  const counts: Partial<Record<TaskState, number>> = {};
  for (const t of tasks) counts[t.state] = (counts[t.state] ?? 0) + 1;
  return counts;
}

/**
 * The archive lookup status's views use for dependencies that left main (Snapshot.rowViews' `external`), with what
 * it was asked and found, for the digest. `known`: states already asked in this status, not asked twice.
 */
export function archiveAsker(ctx: BusContext, known: ReadonlyMap<string, TaskState>): { external: (missing: string[]) => Promise<Map<string, TaskState>>; asked: string[]; found: [string, TaskState][] } {
  const asked: string[] = [];
  const found: [string, TaskState][] = [];
  const external = async (missing: string[]): Promise<Map<string, TaskState>> => {
    const ask = missing.filter((id) => !known.has(id));
    const states = ask.length > 0 ? await archivedStates(ctx, ask) : new Map<string, TaskState>();
    for (const id of missing) {
      const k = known.get(id);
      if (k !== undefined) states.set(id, k);
    }
    asked.push(...missing);
    found.push(...states);
    return states;
  };
  return { external, asked, found };
}
