import type { Handoff } from '../../schemas/handoff.js';
import { transact, type TransactOptions } from '../cas.js';
import type { BusContext } from '../context.js';
import { instanceId, latestDue, renderInstance } from '../model/schedule.js';
import type { FileChange } from '../store/objects.js';
import { findArchived } from './archive-lookup.js';
import { signedByListedSigner } from '../trust/enforce.js';
import { dueTooOld } from '../trust/handoff-age.js';
import { trustOf } from '../trust/node-files.js';
import { INSTANCE_FIX } from './lint-handoff.js';
import { instantMs } from '../../schemas/timestamp.js';

/**
 * Per open bus (a watcher keeps one for its life): instances known to exist (live or archived), so that a wake does
 * not look them up in the archive again, and templates whose instance was found not to be a valid handoff, each
 * reported once (a handoff is written once). Keyed by the bus, not the process: ids are only unique within a bus.
 */
const memory = new WeakMap<BusContext, { known: Set<string>; unrenderable: Set<string> }>();

function memoryOf(ctx: BusContext): { known: Set<string>; unrenderable: Set<string> } {
  let m = memory.get(ctx);
  if (m === undefined) memory.set(ctx, (m = { known: new Set(), unrenderable: new Set() }));
  return m;
}

export interface ScheduledInstance {
  id: string;
  template: string;
  due: string;
}

/** A template that dispatches nothing: its instance would not be a valid handoff (a body near the size limit). */
export interface UnrenderableSchedule {
  template: string;
  reason: string;
  fix: string;
}

/**
 * Dispatches the instance of every schedule that is due and not yet dispatched. Every watcher runs this; the
 * instance id is the same on all of them (template id + due time), so the compare-and-swap lets exactly one
 * create it and the others find it there. Cancelling the template stops the schedule. `opts.peek`: decide from a
 * snapshot already read first; only an instance to create syncs. `opts.onUnrenderable`: told once per template
 * whose instance would not be a valid handoff, which is never dispatched (docs/PROTOCOL.md §5a).
 */
export async function dispatchDue(ctx: BusContext, now = new Date(), opts: Pick<TransactOptions, 'peek'> & { onUnrenderable?: (u: UnrenderableSchedule) => void } = {}): Promise<ScheduledInstance[]> {
  const failed: UnrenderableSchedule[] = [];
  const { known, unrenderable } = memoryOf(ctx);
  const r = await transact(ctx, 'schedule', async (snap) => {
    const created: ScheduledInstance[] = [];
    const changes: FileChange[] = [];
    const wanted: { id: string; template: string; due: Date; h: Handoff; body: string }[] = [];
    // Only a handoff with a schedule can be a schedule: the rest are ruled out without building their views.
    for (const id of await snap.handoffIdsWhere('schedule', (h) => h.schedule !== undefined, false)) {
      const view = await snap.view(id);
      const h = view?.handoff;
      if (view?.state !== 'scheduled' || !h?.schedule) continue;
      let due: Date | null;
      try {
        due = latestDue(h.schedule, now, h.created ? new Date(instantMs(h.created)) : undefined);
      } catch {
        continue; // an expression the schema accepted but cron cannot evaluate: lint reports the handoff
      }
      if (!due) continue;
      const instance = instanceId(id, due);
      if (known.has(instance) || snap.has(instance)) {
        known.add(instance);
        continue;
      }
      // On a bus this node enforces trust on, only a template a listed signer signed makes instances.
      const trust = trustOf(snap);
      if (trust && !(await signedByListedSigner(snap, trust, id, now))) continue;
      // Nor an instance the version's maxHandoffAge would refuse at once (a fleet back after a long absence).
      if (trust && dueTooOld(trust.accepted.policy, due, now)) continue;
      wanted.push({ id: instance, template: id, due, h, body: view.handoffBody ?? '' });
    }
    if (wanted.length > 0) {
      const archived = await findArchived(ctx, wanted.map((w) => w.id));
      for (const w of wanted) {
        if (archived.has(w.id)) {
          known.add(w.id);
          continue;
        }
        const rendered = renderInstance({ id: w.template, handoff: w.h, body: w.body }, w.due);
        if (!rendered.ok) {
          if (!unrenderable.has(w.template)) failed.push({ template: w.template, reason: rendered.reason, fix: `cancel it ("gitbus cancel ${w.template}") and dispatch it again with a shorter body: ${INSTANCE_FIX}` });
          continue;
        }
        changes.push({ path: rendered.path, content: rendered.text });
        created.push({ id: w.id, template: w.template, due: w.due.toISOString() });
      }
    }
    if (changes.length === 0) return { result: { created } };
    return { result: { created }, commit: { changes, message: `gitbus: schedule ${created.map((c) => c.id).join(', ')}` } };
  }, { ...(opts.peek ? { peek: opts.peek } : {}) });
  for (const c of r.created) known.add(c.id);
  // Said after the decision, once: the transaction may run its callback again after a lost race.
  for (const f of failed) {
    if (unrenderable.has(f.template)) continue;
    unrenderable.add(f.template);
    opts.onUnrenderable?.(f);
  }
  return r.created;
}
