import type { Handoff } from '../../schemas/handoff.js';
import type { Snapshot } from '../model/snapshot.js';

/**
 * The live tasks of a fan-out: those whose handoff names the group. Reads handoffs only (cached by blob), so a
 * delivery can ask it inside its compare-and-swap. `except`: ids not to count (the batch being delivered).
 */
export async function groupTaskIds(snap: Snapshot, group: string, except: ReadonlySet<string> = new Set()): Promise<string[]> {
  const out: string[] = [];
  for (const [id, files] of snap.index.tasks) {
    if (!files.handoff || except.has(id)) continue;
    const p = await snap.parse<Handoff>(files.handoff);
    if (p.ok && p.data.group === group) out.push(id);
  }
  return out.sort();
}

/** The groups live tasks have. Reads handoffs only, as groupTaskIds. */
export async function liveGroups(snap: Snapshot): Promise<Set<string>> {
  const out = new Set<string>();
  for (const files of snap.index.tasks.values()) {
    if (!files.handoff) continue;
    const p = await snap.parse<Handoff>(files.handoff);
    if (p.ok && p.data.group !== undefined) out.add(p.data.group);
  }
  return out;
}
