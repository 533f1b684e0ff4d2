import { nodeCrypto } from '../../schemas/node-crypto.js';
import { cron } from './cron-lib.js';
import { parseBusFile, renderBusFile } from '../../schemas/bus-file.js';
import type { Handoff } from '../../schemas/handoff.js';
import { pathFor } from '../../schemas/layout.js';
import { defaultBranch } from '../../schemas/project.js';

/**
 * The most recent due time of a cron schedule at or before `now` (UTC), not before `notBefore`. Only the
 * latest: a fleet that was down for a while runs a schedule once when it comes back, not once per missed tick.
 */
export function latestDue(expr: string, now: Date, notBefore?: Date): Date | null {
  const time = new (cron().CronTime)(expr, 'UTC');
  const next = (d: Date) => time.getNextDateFrom(d, 'UTC').toJSDate();
  // Widen the look-back until it holds an occurrence, then walk forward to the last one before now.
  // The last step is the bound itself: doubling alone stops at 2^19 minutes (~364 days), short of a yearly
  // schedule's due time in the last day before the next one.
  const bound = 400 * 86_400_000;
  let found: Date | null = null;
  for (let step = 60_000; ; step = Math.min(step * 2, bound)) {
    const candidate = next(new Date(now.getTime() - step));
    if (candidate.getTime() <= now.getTime()) {
      found = candidate;
      break;
    }
    if (step === bound) break;
  }
  if (!found) return null;
  for (let n = next(found); n.getTime() <= now.getTime(); n = next(found)) found = n;
  if (notBefore && found.getTime() < notBefore.getTime()) return null;
  return found;
}

/**
 * Whether a cron schedule is never due (February 30th, April 31st): cron finds no time in the next 8 years, so
 * the template would sit `scheduled` for ever, dispatching nothing.
 */
export function neverDue(expr: string, from: Date): boolean {
  try {
    new (cron().CronTime)(expr, 'UTC').getNextDateFrom(from, 'UTC');
    return false;
  } catch {
    return true;
  }
}

/**
 * The shortest gap between the schedule's due times over the next `count` of them from `from`, within 35 days
 * (ms), or null when it has fewer than two there. What `dispatch --schedule` compares with the bus's poll: watchers look once a poll and
 * dispatch only the latest due time, so due times closer than that are skipped.
 */
export function shortestGapMs(expr: string, from: Date, count = 20): number | null {
  // The next 35 days are looked at: a burst once a week or once a month (every minute of one hour on Mondays, or on
  // the 1st) shows there wherever in its cycle `from` falls, and cron gives up (throws) when asked for due times
  // more than 8 years ahead, which a yearly schedule's twentieth would be.
  const until = from.getTime() + 35 * 86_400_000;
  let gap: number | null = null;
  try {
    const time = new (cron().CronTime)(expr, 'UTC');
    let prev = time.getNextDateFrom(from, 'UTC').toJSDate();
    for (let i = 1; i < count && prev.getTime() <= until; i++) {
      const next = time.getNextDateFrom(prev, 'UTC').toJSDate();
      if (next.getTime() <= prev.getTime()) break;
      const d = next.getTime() - prev.getTime();
      gap = gap === null ? d : Math.min(gap, d);
      prev = next;
    }
  } catch {
    // A schedule with no due time in cron's reach (February 30th): nothing to compare; lint reports what is wrong.
  }
  return gap;
}

/**
 * The id of a schedule's instance for one due time: the same on every node, so that creating it is an
 * idempotent compare-and-swap and exactly one instance exists per due time, with no leader. Pure.
 */
export function instanceId(templateId: string, due: Date): string {
  const stamp = due.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  if (templateId.length <= 49) return `${templateId}-${stamp}`;
  const hash = nodeCrypto().createHash('sha1').update(templateId).digest('hex').slice(0, 6);
  return `${templateId.slice(0, 42)}-${hash}-${stamp}`;
}

/** The `from` of every instance of the schedule `templateId`: who dispatched it, in words a person reads. */
export function scheduleFrom(templateId: string): string {
  return `schedule:${templateId}`;
}

/** The template a handoff's `from` names (`schedule:<template>`), or null when it is not an instance's. */
export function templateOfFrom(from: string | undefined): string | null {
  return from?.startsWith('schedule:') ? from.slice('schedule:'.length) : null;
}

/** The due time an instance id names (its last 14 digits, `YYYYMMDDhhmmss`, UTC), or null when it names none. */
export function dueOfInstanceId(id: string): Date | null {
  const m = /-(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(id);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const due = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC rolls over (month 13, second 60); the round trip through instanceId rejects those.
  return Number.isNaN(due.getTime()) ? null : due;
}

export interface ScheduleTemplate {
  id: string;
  handoff: Handoff;
  /** The template's body, as its view holds it. */
  body: string;
}

export type RenderedInstance = { ok: true; id: string; path: string; text: string } | { ok: false; reason: string };

/**
 * The exact handoff file a watcher dispatches for one due time of a schedule (docs/PROTOCOL.md §5a): the
 * template's fields without `schedule`, the instance id, `from: schedule:<template>`, `created` = the due time, a
 * branch of its own for project work, and the template's body with a line saying which schedule made it. Pure and
 * deterministic: dispatchDue writes these bytes, and a node that enforces trust derives an unsigned instance's
 * trust from its signed template only when the instance's bytes are exactly these (bus/trust/schedule-trust.ts).
 */
export function renderInstance(template: ScheduleTemplate, due: Date): RenderedInstance {
  const { schedule, id: _id, created: _created, ...rest } = template.handoff;
  if (!schedule) return { ok: false, reason: `${template.id} has no schedule` };
  const id = instanceId(template.id, due);
  // Project work: each instance pushes to a branch of its own, as a dispatched task does (PROTOCOL.md §3a).
  const branch = rest.repo !== undefined && rest.branch === undefined ? { branch: defaultBranch(id) } : {};
  const data: Handoff = { ...rest, ...branch, id, from: scheduleFrom(template.id), created: due.toISOString() };
  const path = pathFor({ kind: 'handoff', id });
  const note = `_Dispatched by the schedule \`${schedule}\` of task ${template.id} for ${due.toISOString()}._`;
  let text: string;
  try {
    text = renderBusFile('handoff', data, `${template.body.trimEnd()}\n\n${note}\n`);
  } catch (err) {
    return { ok: false, reason: `its instance for ${due.toISOString()} is not a valid handoff: ${(err as Error).message.split('\n')[0] ?? ''}` };
  }
  const parsed = parseBusFile(path, text);
  if (!parsed.ok) return { ok: false, reason: `its instance for ${due.toISOString()} is not a valid handoff: ${parsed.problems[0]?.reason ?? 'it does not parse'}` };
  return { ok: true, id, path, text };
}
