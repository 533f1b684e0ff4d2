import type { Handoff } from '../../schemas/handoff.js';
import type { BusContext } from '../context.js';
import { recordedGroup } from '../groups-ledger.js';
import type { Snapshot } from '../model/snapshot.js';
import { archivedRuns, type ArchivedRun } from './archived-trust.js';

/**
 * The follow-ups of an integration (a `gitbus resolve` by an agent or by hand, the merge dispatched again): the other
 * tasks whose handoff asks for the integration's repo and branch. `gitbus group` and `gitbus resolve` both take them
 * from here, live and archived together, so that settlingFollowUp gets the same tasks from both and they name the
 * same one.
 */
export interface IntegrationRef {
  id: string;
  repo: string;
  /** The branch its handoff asks for (its response's may be beside it): the one every follow-up is dispatched on. */
  branch: string;
  group: string | null;
}

/** Whether `h` is the handoff of a follow-up of `integration`. Pure. */
export function followsUp(integration: IntegrationRef, h: Pick<Handoff, 'repo' | 'branch'>): boolean {
  return h.repo === integration.repo && h.branch === integration.branch;
}

/** The live follow-ups: on main, by their handoffs alone (cached by blob). */
export async function liveFollowUpIds(snap: Snapshot, integration: IntegrationRef): Promise<string[]> {
  const ids = await snap.handoffIdsWhere(`resolve ${integration.repo} ${integration.branch}`, (f) => followsUp(integration, f), false);
  return ids.filter((id) => id !== integration.id);
}

/**
 * The archived follow-ups: the archive is read by id, never scanned, so those this home noted of the integration's
 * group (bus/groups-ledger.ts) and main no longer has, read as this node counts them (archivedRuns: a response
 * forged in a node's name resolved nothing). `skip`: ids already read another way.
 */
export async function archivedFollowUps(ctx: BusContext, snap: Snapshot, integration: IntegrationRef, skip: ReadonlySet<string> = new Set()): Promise<(ArchivedRun & { handoff: Handoff })[]> {
  if (integration.group === null) return [];
  const noted = (recordedGroup(ctx.paths.home, integration.group)?.ids ?? []).filter((id) => id !== integration.id && !skip.has(id) && !snap.has(id));
  if (noted.length === 0) return [];
  const out: (ArchivedRun & { handoff: Handoff })[] = [];
  for (const t of (await archivedRuns(ctx, noted)).values()) {
    const h = t.handoff;
    if (h && h.group === integration.group && followsUp(integration, h)) out.push({ ...t, handoff: h });
  }
  return out;
}
