/**
 * The fleet's push and read budget (docs/PROTOCOL.md §3 `pushBudget`, `presence`, `readBudget`; §5a). A git host
 * such as GitHub recommends at most 6 pushes a minute and 15 reads a second per repository; every node's
 * heartbeat is a push, every wake a read. Each node derives its own cadence from the shared settings and what it
 * can count on the bus (heartbeat refs, nodes holding claims), so a fleet keeps to the budget without talking.
 * Pure.
 */
import type { ResolvedSettings } from '../../schemas/settings.js';

/** Pushes a minute for the whole fleet when the remote is reached over a network (GitHub's recommendation). */
export const NETWORK_PUSH_BUDGET = 6;
/** Pushes a minute when the remote is a path on this machine or a mount: nothing to be polite to but the disk. */
export const LOCAL_PUSH_BUDGET = 120;
/** Reads a second for the whole fleet over a network (GitHub's recommendation). */
export const NETWORK_READ_BUDGET = 15;
export const LOCAL_READ_BUDGET = 1_000;

/** The share of the push budget idle presence beats may use: the rest is for holders' beats and the work itself. */
export const IDLE_SHARE = 0.25;
/** The share of the push budget the beats of nodes holding claims aim for before they stretch toward lease/3. */
export const HOLDING_SHARE = 0.5;
/** The share of the read budget polling aims for. */
export const READ_SHARE = 0.5;
/** Reads one wake costs at most: a ref listing, and a fetch when main moved. */
export const READS_PER_WAKE = 2;
/** The window over which an observer reports the pushes it saw. */
export const OBSERVED_WINDOW_MS = 10 * 60_000;

export interface Budget {
  /** Pushes a minute for the whole fleet. */
  pushesPerMin: number;
  /** Reads a second for the whole fleet. */
  readsPerSec: number;
  /** Where the figures came from: gitbus.yaml, or the default for this kind of remote. */
  source: 'settings' | 'network default' | 'local default';
}

/** The budget this node keeps to: gitbus.yaml's, else the default for how it reaches the remote. */
export function budgetOf(s: Pick<ResolvedSettings, 'pushBudget' | 'readBudget'>, localRemote: boolean): Budget {
  return {
    pushesPerMin: s.pushBudget ?? (localRemote ? LOCAL_PUSH_BUDGET : NETWORK_PUSH_BUDGET),
    readsPerSec: s.readBudget ?? (localRemote ? LOCAL_READ_BUDGET : NETWORK_READ_BUDGET),
    source: s.pushBudget !== undefined ? 'settings' : localRemote ? 'local default' : 'network default',
  };
}

export type CadenceSettings = Pick<ResolvedSettings, 'heartbeatMs' | 'leaseMs' | 'pollMs' | 'presenceMs'>;

/**
 * How often a node holding no claims marks presence: gitbus.yaml's `presence`, else slow enough that the whole
 * fleet's idle beats use at most IDLE_SHARE of the budget, and never more often than the heartbeat.
 * 100 nodes at 6/min: about 67 min; 9 nodes: 6 min; a local bus of up to 15 nodes: the heartbeat.
 */
export function presenceMs(s: CadenceSettings, budget: Budget, nodes: number): number {
  if (s.presenceMs !== undefined) return Math.max(s.presenceMs, s.heartbeatMs);
  return Math.max(s.heartbeatMs, Math.ceil((Math.max(1, nodes) * 60_000) / (budget.pushesPerMin * IDLE_SHARE)));
}

/** The slowest a node holding claims may beat: three beats a lease, so one lost beat never expires a claim. */
export function leaseBeatMs(s: Pick<ResolvedSettings, 'leaseMs'>): number {
  return Math.floor(s.leaseMs / 3);
}

/**
 * How often a node holding claims beats: the heartbeat, stretched when the fleet's `holders` would use more than
 * HOLDING_SHARE of the budget, but never slower than the lease needs (leaseBeatMs), whatever the budget says.
 */
export function holdingBeatMs(s: CadenceSettings, budget: Budget, holders: number): number {
  const byBudget = Math.ceil((Math.max(1, holders) * 60_000) / (budget.pushesPerMin * HOLDING_SHARE));
  return Math.min(leaseBeatMs(s), Math.max(s.heartbeatMs, byBudget));
}

/**
 * The least time between two early beats (posted progress, claude spend): `wantedMs` while the fleet's holding
 * beats fit the budget; the holding cadence once they do not, so early beats cannot push it further over.
 */
export function earlyBeatMs(s: CadenceSettings, budget: Budget, holders: number, wantedMs: number): number {
  const holding = holdingBeatMs(s, budget, holders);
  return holding > s.heartbeatMs ? Math.max(wantedMs, holding) : wantedMs;
}

/**
 * How often a watcher polls: `poll`, stretched when the fleet's polls would use more than READ_SHARE of the read
 * budget; never past a third of the lease, since an observer whose listings pause for half a lease restarts every
 * silence clock (bus/model/liveness.ts) and would never expire anyone.
 */
export function pollEveryMs(s: CadenceSettings, budget: Budget, nodes: number): number {
  const byBudget = Math.ceil((Math.max(1, nodes) * READS_PER_WAKE * 1000) / (budget.readsPerSec * READ_SHARE));
  return Math.max(s.pollMs, Math.min(byBudget, leaseBeatMs(s)));
}

/** What one node's heartbeat cadence costs, as far as an observer knows it. */
export interface NodeCadence {
  node: string;
  /** Ms between its beats (its heartbeat's `every`, or the model's guess); null: it beats no more (stopped). */
  everyMs: number | null;
  holding: boolean;
}

export interface FleetReport {
  budget: Budget;
  nodes: number;
  holders: number;
  /** Heartbeat pushes a minute the fleet's cadences add up to (work's own pushes come on top). */
  expectedPerMin: number;
  /** Pushes this observer saw over the last `windowMs` (heartbeat changes and main commits), per minute; null: not measured. */
  observedPerMin: number | null;
  windowMs: number;
  /** Reads a second the fleet's polls add up to at this node's poll interval, at most (a fetch only when main moved). */
  readsPerSec: number;
  over: boolean;
  /** What to change when over, in the order worth trying. */
  advice: string[];
}

export interface Observed {
  /** Heartbeat value changes and main moves this observer saw in the window. */
  pushes: number;
  /** How long of the window it was watching without a gap (ms); below a minute nothing is reported. */
  watchedMs: number;
}

/** The fleet against its budget: expected from cadences, observed where this observer counted, and what to do. */
export function fleetReport(s: CadenceSettings, budget: Budget, cadences: NodeCadence[], observed: Observed | null, pollMs: number): FleetReport {
  const expectedPerMin = round2(cadences.reduce((sum, c) => sum + (c.everyMs ? 60_000 / c.everyMs : 0), 0));
  const observedPerMin = observed && observed.watchedMs >= 60_000 ? round2((observed.pushes * 60_000) / observed.watchedMs) : null;
  const nodes = cadences.length;
  const holders = cadences.filter((c) => c.holding).length;
  const readsPerSec = round2((nodes * READS_PER_WAKE * 1000) / Math.max(1, pollMs));
  const over = expectedPerMin > budget.pushesPerMin || (observedPerMin ?? 0) > budget.pushesPerMin || readsPerSec > budget.readsPerSec;
  const advice: string[] = [];
  if (over) {
    const idle = cadences.filter((c) => !c.holding && c.everyMs !== null && c.everyMs < presenceMs(s, budget, nodes));
    if (idle.length > 0) advice.push(`${idle.length} idle node(s) beat faster than the presence interval the budget allows (${Math.round(presenceMs(s, budget, nodes) / 60_000)} min): upgrade gitbus there, or set a longer \`presence\` in gitbus.yaml`);
    if (s.presenceMs !== undefined && s.presenceMs < presenceMs({ ...s, presenceMs: undefined }, budget, nodes)) advice.push('gitbus.yaml sets `presence` shorter than the budget allows: remove it or make it longer');
    if (holders > 0 && holdingBeatMs(s, budget, holders) >= leaseBeatMs(s)) advice.push(`the ${holders} node(s) holding claims must beat every lease/3 (${Math.round(leaseBeatMs(s) / 1000)} s) to keep their leases: a longer \`lease\` lets them beat less often`);
    if (readsPerSec > budget.readsPerSec) advice.push('polling reads exceed the read budget: a longer `poll` (at most a third of the lease)');
    advice.push(`fewer nodes on this bus, or shard the fleet over several bus repositories (docs/ARCHITECTURE.md, "Growing past one repository")`);
    if (budget.source !== 'settings') advice.push('if the host allows more, say so: `pushBudget` in gitbus.yaml');
  }
  return { budget, nodes, holders, expectedPerMin, observedPerMin, windowMs: observed?.watchedMs ?? 0, readsPerSec, over, advice };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
