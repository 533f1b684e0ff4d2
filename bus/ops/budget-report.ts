import type { BusContext } from '../context.js';
import { fleetReport, holdingBeatMs, pollEveryMs, presenceMs, budgetOf, type FleetReport, type NodeCadence } from '../model/budget.js';
import { observedPushes, type BeatFacts, type Observations } from '../model/liveness.js';
import type { ResolvedSettings } from '../../schemas/settings.js';

/**
 * The fleet against its push budget, as this node can tell (docs/PROTOCOL.md §5a, "The push budget"): each
 * heartbeat ref's cadence — what its heartbeat says (`every`), else what the settings give a node that holds or
 * does not hold claims — and the pushes this observer saw over the last minutes (liveness.json). `beats`: the
 * heartbeats read (status reads them anyway); without them (doctor) every node is taken to follow the settings.
 */
export function budgetReport(settings: ResolvedSettings, localRemote: boolean, obs: Observations, beats: ReadonlyMap<string, BeatFacts | null> | null, now: number): FleetReport {
  const budget = budgetOf(settings, localRemote);
  const nodes = Object.keys(obs.nodes);
  const holders = nodes.filter((n) => obs.nodes[n]?.holding).length;
  const cadences: NodeCadence[] = nodes.map((node) => {
    const holding = obs.nodes[node]?.holding !== undefined;
    const beat = beats?.get(node) ?? null;
    if (beat?.stopped) return { node, everyMs: null, holding: false };
    // A heartbeat without `every` is an older gitbus's: it beats at the heartbeat, idle or not.
    const modelled = holding ? holdingBeatMs(settings, budget, holders) : presenceMs(settings, budget, nodes.length);
    const everyMs = beats === null ? modelled : beat?.everyMs ?? settings.heartbeatMs;
    return { node, everyMs, holding };
  });
  return fleetReport(settings, budget, cadences, observedPushes(obs, now), pollEveryMs(settings, budget, nodes.length));
}

/** Whether this node reaches the remote as a path (the local budget) rather than over a network. */
export function isLocalRemote(ctx: BusContext): boolean {
  return ctx.repo.localRemotePath() !== null;
}

/** One line for people: the fleet's pushes a minute against the budget. */
export function budgetLine(r: FleetReport): string {
  const observed = r.observedPerMin === null ? '' : `, ${r.observedPerMin}/min seen over the last ${Math.max(1, Math.round(r.windowMs / 60_000))} min`;
  const holders = r.holders > 0 ? `, ${r.holders} holding claims` : '';
  return `${r.nodes} node(s)${holders}: heartbeats ${r.expectedPerMin} pushes/min expected${observed}, budget ${r.budget.pushesPerMin}/min (${r.budget.source}); polling ${r.readsPerSec} reads/s of ${r.budget.readsPerSec}`;
}
