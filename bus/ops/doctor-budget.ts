import { updateObservations } from '../liveness-store.js';
import type { Snapshot } from '../model/snapshot.js';
import { budgetLine, budgetReport } from './budget-report.js';
import { claimHolders } from './claim-holders.js';
import { ok, skip, warn, type Check } from './doctor-check.js';

/**
 * doctor's `budget`: the fleet's heartbeat pushes (as the settings make each node beat, holding claims or idle)
 * and the pushes this node saw lately, against the bus's push budget; a warning with what to change when over.
 */
export async function checkBudget(home: string, refs: ReadonlyMap<string, string>, listedAt: number, snap: Snapshot | null, localRemote: boolean): Promise<Check> {
  if (!snap) return skip('budget', 'the bus could not be read');
  const obs = updateObservations(home, refs, listedAt, snap.settings.leaseMs, await claimHolders(snap));
  const r = budgetReport(snap.settings, localRemote, obs, null, Date.now());
  if (!r.over) return ok('budget', budgetLine(r));
  return warn('budget', `over the push budget: ${budgetLine(r)}`, r.advice.join('; '));
}
