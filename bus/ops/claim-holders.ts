import type { Snapshot } from '../model/snapshot.js';
import { openAttempt } from '../model/index-tree.js';
import type { Claim } from '../../schemas/claim.js';

/**
 * The open claims of each node in one snapshot (`<id>.<attempt>`), for the liveness rule that counts a node's
 * silence from the later of its beat and its newest claim (bus/model/liveness.ts silenceFrom). Only the open
 * claim of each unfinished task is parsed (cached by blob id), so this costs what the running tasks cost.
 */
export function claimHolders(snap: Snapshot): Promise<ReadonlyMap<string, readonly string[]>> {
  // A watcher's wake asks three times of one snapshot (its look, the claim's expiry check, the claim ranking).
  let held = bySnapshot.get(snap);
  if (!held) {
    // A read that failed (the disk, a missing object) is not kept: the next caller reads again.
    held = holdersOf(snap).catch((e: unknown) => {
      bySnapshot.delete(snap);
      throw e;
    });
    bySnapshot.set(snap, held);
  }
  return held;
}

const bySnapshot = new WeakMap<Snapshot, Promise<ReadonlyMap<string, readonly string[]>>>();

async function holdersOf(snap: Snapshot): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const files of snap.filesWith(['claims'])) {
    if (files.response) continue;
    const attempt = openAttempt(files);
    const ref = attempt === null ? undefined : files.claims.get(attempt);
    if (!ref) continue;
    const p = await snap.parse<Claim>(ref);
    if (!p.ok) continue;
    const list = out.get(p.data.node) ?? [];
    list.push(`${files.id}.${attempt}`);
    out.set(p.data.node, list);
  }
  return out;
}
