import { formatDuration } from '../../schemas/duration.js';
import type { ResolvedSettings } from '../../schemas/settings.js';
import type { Snapshot } from '../model/snapshot.js';
import type { SettingOverride } from '../model/types.js';
import { ok, skip, warn, type Check } from '../ops/doctor-check.js';
import { trustOf } from './node-files.js';
import { overrideProblem, settingsGuard, settingsText } from './trusted-settings.js';
import type { TrustVersion } from './version-content.js';

const NAME = 'trust.settings';

/** `lease=5m heartbeat=30s maxAttempts=3` of the values this node uses now, for the command that fixes them. */
function assignments(s: ResolvedSettings, keys: readonly string[]): string {
  const value = (k: string) => (k === 'lease' ? formatDuration(s.leaseMs) : k === 'heartbeat' ? formatDuration(s.heartbeatMs) : String(s.maxAttempts));
  return keys.map((k) => `${k}=${value(k)}`).join(' ');
}

/**
 * `gitbus doctor`'s `trust.settings` (docs/PROTOCOL.md §12, "Settings that decide reclaims"), pure: whether the trust
 * version this node enforces fixes lease, heartbeat and maxAttempts, and whether gitbus.yaml says the same.
 * `accepted` null: the node enforces no trust, so gitbus.yaml decides and nothing here guards it.
 */
export function trustSettingsCheck(accepted: TrustVersion | null, overridden: readonly SettingOverride[], settings: ResolvedSettings): Check {
  if (!accepted) return skip(NAME, 'this node enforces no trust root: gitbus.yaml decides lease, heartbeat and maxAttempts');
  const { guarded, unguarded } = settingsGuard(accepted.policy.settings);
  if (unguarded.length > 0) {
    const what = guarded.length === 0 ? `trust version ${accepted.version} fixes no bus settings` : `trust version ${accepted.version} fixes ${guarded.join(', ')} but not ${unguarded.join(', ')}`;
    return warn(
      NAME,
      `${what}, so leases are not guarded: anyone who can push can set them in gitbus.yaml (lease: 1s makes every node reclaim every other node's tasks and run them again)`,
      `an admin runs "gitbus trust settings ${assignments(settings, unguarded)}" (the values this node uses now)`,
    );
  }
  if (overridden.length > 0) {
    const problems = overridden.map(overrideProblem);
    return warn(NAME, problems.map((p) => p.reason).join('; '), problems.map((p) => p.fix).join('; '));
  }
  return ok(NAME, `trust version ${accepted.version} fixes ${settingsText(accepted.policy.settings ?? {})}, and gitbus.yaml says the same`);
}

/** The check on a snapshot read through applyTrust (node-files.ts); null: the bus could not be read. */
export function checkTrustSettings(snap: Snapshot | null): Check {
  if (!snap) return skip(NAME, 'the bus could not be read');
  const trust = trustOf(snap);
  return trustSettingsCheck(trust?.accepted ?? null, snap.settingsOverridden, snap.settings);
}
