import type { BusContext } from '../bus/context.js';
import { findCounted } from '../bus/ops/archived-trust.js';
import { archivedView } from '../bus/ops/archived-view.js';
import { outageCode } from '../bus/remote-failure.js';
import { factOf, newlyDelivered, type TaskFact } from './hear-back.js';
import { awaitsPush, stopAwaitingPush, type Ledger, type LedgerTask } from './session-ledger.js';

/** Archived facts, and whether the archive answered (a task it lacks is then not there; else only not known). */
export interface ArchivedFacts {
  facts: TaskFact[];
  answered: boolean;
}

/**
 * Tasks that left main, from the archive branch: each with the facts a live one has (node, time, summary line,
 * result branch, the delivery archived with it), read from its archived files as `gitbus show` reads them, trust
 * included. One lookup for all of them: the folders it brings are in the clone, so the views read no more of the
 * remote. A task the archive lacks, or could not be asked about (`offline`, an outage), reads `gone`.
 */
export async function archivedFacts(ctx: BusContext, tasks: readonly LedgerTask[], offline: boolean): Promise<ArchivedFacts> {
  if (tasks.length === 0) return { facts: [], answered: !offline };
  // As `show` reads them: a response forged in a node's name is no result (the task reads as invalid, saying why).
  let found: Awaited<ReturnType<typeof findCounted>> = new Map();
  let answered = false;
  if (!offline) {
    try {
      found = await findCounted(ctx, tasks.map((t) => t.id));
      answered = true;
    } catch (err) {
      if (outageCode(err) === null) throw err;
    }
  }
  const facts: TaskFact[] = [];
  for (const t of tasks) {
    const entry = found.get(t.id)?.entry;
    if (!entry) {
      facts.push(factOf(t, undefined, false));
      continue;
    }
    // No delivery is written for a task that left main (docs/PROTOCOL.md §3a): whoever is told of it waits for none.
    const { awaitsPush: _a, ...fact } = factOf(t, await archivedView(ctx.repo.store, t.id, entry), false);
    facts.push({ ...fact, archived: entry.month });
  }
  return { facts, answered };
}

/**
 * The session's tasks whose push it waits for (awaitsPush) and no longer needs to: found in the archive with no
 * delivery it was not told of (a task that left main gets none, docs/PROTOCOL.md §3a), or missing from main and from
 * an archive that answered. Those still `gone` while the archive could not be asked wait for the next look. Pure.
 */
export function pushesSettled(ledger: Ledger, facts: ReadonlyMap<string, TaskFact>, answered: boolean, now: number = Date.now()): string[] {
  return ledger.tasks.flatMap((t) => {
    const f = facts.get(t.id);
    if (!f || !awaitsPush(t, now)) return [];
    if (f.archived !== undefined) return newlyDelivered(f, t.toldDelivered) ? [] : [t.id];
    return f.state === 'gone' && answered ? [t.id] : [];
  });
}

/** How long a hook lets its archive lookup take before it goes on without it (as its one ref listing, freshness.ts). */
const LOOKUP_BUDGET_MS = 3_000;

/**
 * `facts` with the archived ones of the tasks whose push the session waits for and that left main: their delivery,
 * archived with them, is news once; those the archive settles stop being waited for (pushesSettled). For the hooks:
 * looked up once per task as it leaves main, within a few seconds, since a hook must never hold the session; a
 * lookup that takes longer, or an outage, leaves them for the next hook (for a week at most, AWAIT_PUSH_MS).
 */
export async function withArchivedPushes(ctx: BusContext, ledger: Ledger, facts: Map<string, TaskFact>): Promise<Map<string, TaskFact>> {
  const now = Date.now();
  const left = ledger.tasks.filter((t) => awaitsPush(t, now) && facts.get(t.id)?.state === 'gone');
  if (left.length === 0) return facts;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), LOOKUP_BUDGET_MS)));
  let looked: ArchivedFacts | null;
  try {
    looked = await Promise.race([archivedFacts(ctx, left, false), late]);
  } finally {
    clearTimeout(timer);
  }
  if (looked === null) return facts;
  const out = new Map([...facts, ...looked.facts.map((f): [string, TaskFact] => [f.id, f])]);
  stopAwaitingPush(ctx.paths.home, ledger.session, pushesSettled(ledger, out, looked.answered, now));
  return out;
}
