import type { BusContext } from '../bus/context.js';
import { GITBUS_VERSION } from '../bus/node-card.js';
import { groupView, type GroupView } from '../bus/ops/group.js';
import { busProblems } from '../bus/ops/lint-bus.js';
import { showTask, snapshotOrLast, type Offline, type ShownTask } from '../bus/ops/query.js';
import { busStatus, type BusStatus } from '../bus/ops/status.js';
import type { FileProblem } from '../schemas/errors.js';
import type { Progress } from '../bus/progress.js';
import type { BeatDelivering } from '../bus/ops/heartbeat.js';

/**
 * The JSON the pages read (GET /api/...), each a thin view over the operation the CLI command of the same page
 * uses: `status` for the fleet and the tasks, `show` for one task, `group` for a fan-out, `lint` for the problems.
 * Nothing here decides a task's state, a node's liveness or a problem: it only picks what a page shows.
 */

/** A task a node runs now, as the fleet page lists it under the node. */
export interface RunningTask {
  id: string;
  title: string | null;
  attempt: number;
  state: string;
  progress: Progress | null;
  /** The run ended on the node, whose heartbeat says its result waits there for the project remote. */
  delivering?: BeatDelivering;
}

export type FleetNode = BusStatus['nodes'][number] & { running: RunningTask[] };

export interface FleetView {
  node: string;
  remote: string;
  name: string | null;
  /** The gitbus serving the page (a node's card has its own). */
  version: string;
  head: string | null;
  trust: BusStatus['trust'];
  /** Nodes that do not enforce the bus's trust root (`gitbus status`'s `trustNotEnforced`). */
  trustNotEnforced: BusStatus['trustNotEnforced'];
  counts: BusStatus['counts'];
  queued: BusStatus['queued'];
  problems: number;
  offline: Offline | null;
  nodes: FleetNode[];
  /** Nodes that beat with no card on main (`gitbus status`'s `cardless`). */
  cardless: BusStatus['cardless'];
}

export interface TasksView {
  node: string;
  counts: BusStatus['counts'];
  tasks: BusStatus['tasks'];
  offline: Offline | null;
}

export interface ProblemsView {
  checked: number;
  errors: number;
  problems: FileProblem[];
  offline: Offline | null;
}

export function fleetView(s: BusStatus): FleetView {
  const running = new Map<string, RunningTask[]>();
  for (const t of s.tasks) {
    if (!t.claim?.node || (t.state !== 'claimed' && t.state !== 'cancelling')) continue;
    const list = running.get(t.claim.node) ?? [];
    list.push({ id: t.id, title: t.title, attempt: t.claim.attempt, state: t.state, progress: t.progress, ...(t.delivering ? { delivering: t.delivering } : {}) });
    running.set(t.claim.node, list);
  }
  return {
    node: s.node,
    remote: s.remote,
    name: s.settings.name ?? null,
    version: GITBUS_VERSION,
    head: s.head,
    trust: s.trust,
    trustNotEnforced: s.trustNotEnforced,
    counts: s.counts,
    queued: s.queued,
    problems: s.problems.length,
    offline: s.offline,
    nodes: s.nodes.map((n) => ({ ...n, running: running.get(n.node) ?? [] })),
    cardless: s.cardless,
  };
}

export function tasksView(s: BusStatus): TasksView {
  return { node: s.node, counts: s.counts, tasks: s.tasks, offline: s.offline };
}

/**
 * `gitbus status` read once for every page that asks at the same moment: a change tells each open page to read
 * again, and they would otherwise each list the remote and read every task.
 */
export class StatusReader {
  private pending: Promise<BusStatus> | null = null;
  private cached: { at: number; value: BusStatus } | null = null;

  constructor(
    private readonly ctx: BusContext,
    private readonly maxAgeMs = 1000,
  ) {}

  /** Forgets the last answer: the bus moved. */
  invalidate(): void {
    this.cached = null;
    // A read under way may have listed the remote before the move: the next asker starts a new one.
    this.pending = null;
  }

  read(): Promise<BusStatus> {
    if (this.cached && Date.now() - this.cached.at <= this.maxAgeMs) return Promise.resolve(this.cached.value);
    if (this.pending) return this.pending;
    const p = busStatus(this.ctx).then(
      (value) => {
        if (this.pending === p) this.cached = { at: Date.now(), value };
        return value;
      },
    );
    this.pending = p;
    const clear = () => {
      if (this.pending === p) this.pending = null;
    };
    p.then(clear, clear);
    return p;
  }
}

export function taskView(ctx: BusContext, ref: string): Promise<ShownTask> {
  return showTask(ctx, ref);
}

export function groupPageView(ctx: BusContext, name: string): Promise<GroupView> {
  return groupView(ctx, name);
}

export async function problemsView(ctx: BusContext): Promise<ProblemsView> {
  const { snap, offline } = await snapshotOrLast(ctx);
  const report = await busProblems(ctx, snap);
  return { ...report, errors: report.problems.filter((p) => p.severity === 'error').length, offline };
}
