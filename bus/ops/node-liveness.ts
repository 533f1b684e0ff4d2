import type { ResolvedSettings } from '../../schemas/settings.js';
import { budgetOf, presenceMs } from '../model/budget.js';
import { shownLiveness, type BeatFacts, type Observations, type ShownLiveness } from '../model/liveness.js';

/**
 * How a node is shown to people (`status`, `doctor`): from this node's observations and the node's own last beat,
 * which says when its watcher stopped cleanly and how often it beats. A node that finished its work last beat at its
 * holding cadence; idle, it next beats at the fleet's presence (bus/model/budget.ts), so it is judged by that. Pure.
 */
export function nodeLiveness(obs: Observations, node: string, beat: BeatFacts | null, settings: ResolvedSettings, localRemote: boolean, now: number): { liveness: ShownLiveness; beatAt: number | null } {
  const idleEvery = typeof beat?.everyMs === 'number' ? { ...beat, everyMs: Math.max(beat.everyMs, presenceMs(settings, budgetOf(settings, localRemote), fleetSize(obs))) } : beat;
  return shownLiveness(obs, node, idleEvery, settings.leaseMs, now);
}

/**
 * The nodes `obs` watches, counted once per observations object: counted for every node shown, status on a bus with
 * 20,000 heartbeat refs spent a minute counting them 20,000 times (the observations are read once per command).
 */
const counted = new WeakMap<Observations['nodes'], number>();
function fleetSize(obs: Observations): number {
  let n = counted.get(obs.nodes);
  if (n === undefined) {
    n = Object.keys(obs.nodes).length;
    counted.set(obs.nodes, n);
  }
  return n;
}
