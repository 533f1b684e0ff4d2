import { tryParseDuration } from '../../schemas/duration.js';
import type { Handoff } from '../../schemas/handoff.js';
import { timestampMs } from '../../schemas/timestamp.js';
import type { TrustPolicy } from '../../schemas/trust-root.js';
import type { HandoffTrust } from './handoff-trust.js';
import type { TrustVersion } from './version-content.js';
import { createdLine } from './undated-handoff.js';

/**
 * The signed freshness bound (docs/PROTOCOL.md §12, "Replay"), pure. A signature binds a handoff's bytes, `created`
 * included, but says nothing of when it may run: someone with push access who deletes a finished task's archived
 * folders can push its old signed handoff back, and a node that never saw that task would run it again. A trust
 * version's `maxHandoffAge` bounds that: a node refuses a trusted handoff whose `created` is older, at the time it
 * judges (claim, status, lint). A schedule's template runs for ever and is exempt; its instances carry their due time
 * as `created` (model/schedule.ts renderInstance, bytes checked by schedule-trust.ts) and are bounded by it.
 */

/**
 * How far ahead of this node's clock a `created` may be: as far as the bound itself (at least a minute). Further
 * ahead is refused, since a handoff dated ahead stays fresh past the bound (a date in 2099 signed once would be
 * replayable for ever); up to it, one stays fresh at most twice the bound after it was signed, and a fleet whose
 * clocks differ by minutes (the clock-skew tests run nodes ten minutes apart) does not fail its work.
 */
export const MIN_AHEAD_MS = 60_000;

/** The version's bound in milliseconds, or null: no bound (a version without `maxHandoffAge`). */
export function maxHandoffAgeMs(policy: TrustPolicy): number | null {
  return policy.maxHandoffAge === undefined ? null : (tryParseDuration(policy.maxHandoffAge) ?? null);
}

const RAISE = 'an admin can raise maxHandoffAge: "gitbus trust max-handoff-age DURATION"';
const FIX = `dispatch it again as a new task (${RAISE})`;
const INSTANCE_FIX = `nothing to do: the schedule dispatches a fresh instance at its next due time (${RAISE})`;
const CLOCK_FIX = 'check the clock of the machine that dispatched it and of this one ("gitbus doctor", check clock), then dispatch it again as a new task';

/**
 * A handoff written by hand without `created` (undated-handoff.ts): raising the bound would not help, and a handoff is
 * written once, so the fix is a dated copy under a new id, signed.
 */
function undatedNodeFix(now: Date): string {
  return `write it again under a new id with "${createdLine(now)}" (when it is dispatched, ISO 8601 in UTC) in its front matter, and sign that ("gitbus sign handoffs/<new id>.md"); a handoff is written once, so this one stays refused ("gitbus dispatch" writes created itself)`;
}

/**
 * `t` (the verdict on the handoff at `path`, by its signature or its template) bounded by `v`'s maxHandoffAge at
 * `now`: a trusted handoff that is too old, dated too far ahead, or without a `created` is refused. Untrusted
 * verdicts, templates (a handoff with `schedule`) and versions without a bound pass unchanged.
 */
export function boundedByAge(t: HandoffTrust, path: string, handoff: Handoff | undefined, v: TrustVersion, now: Date): HandoffTrust {
  if (!t.trusted || !handoff || handoff.schedule !== undefined) return t;
  const bound = maxHandoffAgeMs(v.policy);
  if (bound === null) return t;
  const limit = `the trust policy's maxHandoffAge (${v.policy.maxHandoffAge ?? ''}, trust version ${v.version})`;
  const created = handoff.created === undefined ? undefined : timestampMs(handoff.created);
  if (created === undefined) {
    return { trusted: false, reason: `stale: ${path} has no created, so its age cannot be told against ${limit}; a replayed old handoff is refused`, fix: undatedNodeFix(now) };
  }
  const what = t.via ? `was dispatched by ${t.via} with created ${handoff.created ?? ''} (its due time)` : `was signed with created ${handoff.created ?? ''}`;
  const age = now.getTime() - created;
  if (age > bound) return { trusted: false, reason: `stale: ${path} ${what}, older than ${limit}; a replayed old handoff is refused`, fix: t.via ? INSTANCE_FIX : FIX };
  if (-age > Math.max(bound, MIN_AHEAD_MS)) {
    return { trusted: false, reason: `dated ahead: ${path} ${what}, further ahead of this node's clock (${now.toISOString()}) than ${limit}; a handoff dated ahead would stay fresh past the bound`, fix: CLOCK_FIX };
  }
  return t;
}

/** Whether a schedule's instance for `due` would be refused as stale by `policy`: watchers do not write those. */
export function dueTooOld(policy: TrustPolicy, due: Date, now: Date): boolean {
  const bound = maxHandoffAgeMs(policy);
  return bound !== null && now.getTime() - due.getTime() > bound;
}
