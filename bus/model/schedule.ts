import { createHash } from 'node:crypto';
import { CronTime } from 'cron';

/**
 * The most recent due time of a cron schedule at or before `now` (UTC), not before `notBefore`. Only the
 * latest: a fleet that was down for a while runs a schedule once when it comes back, not once per missed tick.
 */
export function latestDue(expr: string, now: Date, notBefore?: Date): Date | null {
  const time = new CronTime(expr, 'UTC');
  const next = (d: Date) => time.getNextDateFrom(d, 'UTC').toJSDate();
  // Widen the look-back until it holds an occurrence, then walk forward to the last one before now.
  let found: Date | null = null;
  for (let step = 60_000; step <= 400 * 86_400_000; step *= 2) {
    const candidate = next(new Date(now.getTime() - step));
    if (candidate.getTime() <= now.getTime()) {
      found = candidate;
      break;
    }
  }
  if (!found) return null;
  for (let n = next(found); n.getTime() <= now.getTime(); n = next(found)) found = n;
  if (notBefore && found.getTime() < notBefore.getTime()) return null;
  return found;
}

/**
 * The id of a schedule's instance for one due time: the same on every node, so that creating it is an
 * idempotent compare-and-swap and exactly one instance exists per due time, with no leader. Pure.
 */
export function instanceId(templateId: string, due: Date): string {
  const stamp = due.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  if (templateId.length <= 49) return `${templateId}-${stamp}`;
  const hash = createHash('sha1').update(templateId).digest('hex').slice(0, 6);
  return `${templateId.slice(0, 42)}-${hash}-${stamp}`;
}
