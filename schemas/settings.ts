// gitbus.yaml's defaults and the settings as code acts on them: pure, without zod (the schema is in
// settings-schema.ts), so that a command that reads no file never loads zod (cli/schemas-script.ts).
import { parseDuration } from './duration.js';
import { PROTOCOL_VERSION } from './field-limits.js';
import type { FieldViolation } from './kind-rules.js';
import type { BusSettings } from './settings-schema.js';

export type { BusSettings } from './settings-schema.js';

/** What `gitbus init` writes. */
export const DEFAULT_SETTINGS = {
  protocol: PROTOCOL_VERSION,
  lease: '5m',
  heartbeat: '30s',
  poll: '30s',
  archiveAfter: '1d',
  maxAttempts: 3,
} as const satisfies BusSettings;

/** Settings with every default filled in and durations in milliseconds, for code that acts on them. */
export interface ResolvedSettings {
  protocol: number;
  name?: string;
  leaseMs: number;
  heartbeatMs: number;
  pollMs: number;
  archiveAfterMs: number;
  maxAttempts: number;
  /**
   * The push and read budgets and the idle presence interval as gitbus.yaml fixes them; undefined: the default,
   * which depends on how a node reaches the remote (bus/model/budget.ts budgetOf).
   */
  pushBudget?: number;
  readBudget?: number;
  presenceMs?: number;
}

/** Expects settings that passed `settingsSchema`; a malformed duration throws InvalidDurationError. */
export function resolveSettings(s: BusSettings): ResolvedSettings {
  const resolved: ResolvedSettings = {
    protocol: s.protocol,
    leaseMs: parseDuration(s.lease ?? DEFAULT_SETTINGS.lease),
    heartbeatMs: parseDuration(s.heartbeat ?? DEFAULT_SETTINGS.heartbeat),
    pollMs: parseDuration(s.poll ?? DEFAULT_SETTINGS.poll),
    archiveAfterMs: parseDuration(s.archiveAfter ?? DEFAULT_SETTINGS.archiveAfter),
    maxAttempts: s.maxAttempts ?? DEFAULT_SETTINGS.maxAttempts,
  };
  if (s.name !== undefined) resolved.name = s.name;
  if (s.pushBudget !== undefined) resolved.pushBudget = s.pushBudget;
  if (s.readBudget !== undefined) resolved.readBudget = s.readBudget;
  if (s.presence !== undefined) resolved.presenceMs = parseDuration(s.presence);
  return resolved;
}

export function settingsRules(s: BusSettings): FieldViolation[] {
  const r = resolveSettings(s);
  if (r.heartbeatMs >= r.leaseMs) {
    return [
      {
        field: s.heartbeat !== undefined ? 'heartbeat' : 'lease',
        reason: `the heartbeat (${s.heartbeat ?? DEFAULT_SETTINGS.heartbeat}) is not shorter than the lease (${s.lease ?? DEFAULT_SETTINGS.lease}), so live claims would expire between heartbeats`,
        fix: 'make the heartbeat a fraction of the lease, for example lease 5m and heartbeat 30s',
        severity: 'warning',
      },
    ];
  }
  // A watcher lists the remote at every poll and heartbeat; a pause in its listings longer than half the lease
  // restarts every silence clock (docs/PROTOCOL.md §5a), so with both slower than that nobody is ever expired.
  if (Math.min(r.heartbeatMs, r.pollMs) > r.leaseMs / 2) {
    return [
      {
        field: s.heartbeat !== undefined ? 'heartbeat' : s.poll !== undefined ? 'poll' : 'lease',
        reason: `both the heartbeat (${s.heartbeat ?? DEFAULT_SETTINGS.heartbeat}) and the poll (${s.poll ?? DEFAULT_SETTINGS.poll}) are longer than half the lease (${s.lease ?? DEFAULT_SETTINGS.lease}), so watchers never watch a silence long enough to expire a dead node's claims`,
        fix: 'make the heartbeat a third of the lease or less, for example lease 5m and heartbeat 30s',
        severity: 'warning',
      },
    ];
  }
  return [];
}
