import type { ResolvedSettings } from '../../schemas/settings.js';
import { budgetOf, presenceMs } from '../model/budget.js';
import { shownLiveness, type BeatFacts, type Observations, type ShownLiveness } from '../model/liveness.js';

/**
 * How a node is shown to people (`status`, `doctor`): from this node's observations and the node's own last beat,
 * which says when its watcher stopped cleanly and how often it beats. A node that finished its work last beat at its
 * holding cadence; idle, it next beats at the fleet's presence (bus/model/budget.ts), so it is judged by that. Pure.
 */
export function nodeLiveness(obs: Observations, node: string, beat: BeatFacts | null, settings: ResolvedSettings, localRemote: boolean, now: number): { liveness: ShownLiveness; beatAt: number | null } {
  const idleEvery = typeof beat?.everyMs === 'number' ? { ...beat, everyMs: Math.max(beat.everyMs, presenceMs(settings, budgetOf(settings, localRemote), Object.keys(obs.nodes).length)) } : beat;
  return shownLiveness(obs, node, idleEvery, settings.leaseMs, now);
}
