import { describe, it, expect } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { applyEdit, firstVersion, renderVersion } from '../../bus/trust/change.js';
import { trustSettingsCheck } from '../../bus/trust/doctor-settings.js';
import { TrustChangeInvalidError } from '../../bus/trust/root-errors.js';
import { parseKeyBlob, type SshPublicKey } from '../../bus/trust/ssh-key.js';
import { wireString } from '../../bus/trust/ssh-wire.js';
import {
  busAgrees,
  checkTrustedSettings,
  currentTrustSettings,
  overrideProblem,
  parseSettingArgs,
  settingsGuard,
  trustedSettings,
  withTrustedSettings,
} from '../../bus/trust/trusted-settings.js';
import { parseVersion } from '../../bus/trust/version-content.js';
import { InputError } from '../../bus/errors.js';
import { resolveSettings, type BusSettings } from '../../schemas/settings.js';

/** Bus settings fixed by the trust root (docs/PROTOCOL.md §12, "Settings that decide reclaims"): the pure parts. */

function newKey(): SshPublicKey {
  const x = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x ?? '';
  return parseKeyBlob(Buffer.concat([wireString('ssh-ed25519'), wireString(Buffer.from(x, 'base64url'))]));
}

const alice = newKey();
const admins = [{ principal: 'alice', key: alice }];
const v1 = renderVersion(firstVersion(admins, undefined, {}, { lease: '5m', heartbeat: '30s', maxAttempts: 3 }), undefined).version;
const bare = renderVersion(firstVersion(admins), undefined).version;

function file(s: Partial<BusSettings>): BusSettings {
  return { protocol: 1, ...s };
}

describe('the settings a node that enforces trust uses', () => {
  it('the version\'s lease, heartbeat and maxAttempts replace gitbus.yaml\'s; other settings stay', () => {
    const bus = file({ lease: '1s', heartbeat: '10m', poll: '5s', maxAttempts: 99, name: 'fleet' });
    const resolved = resolveSettings(bus);
    const r = trustedSettings(resolved, bus, v1.policy.settings, 1);
    expect(r.settings).toEqual({ protocol: 1, name: 'fleet', leaseMs: 300_000, heartbeatMs: 30_000, pollMs: 5_000, archiveAfterMs: 86_400_000, maxAttempts: 3 });
    expect(r.overridden).toEqual([
      { key: 'lease', bus: '1s', busEffective: '1s', trusted: '5m', version: 1 },
      { key: 'heartbeat', bus: '10m', busEffective: '10m', trusted: '30s', version: 1 },
      { key: 'maxAttempts', bus: 99, busEffective: 99, trusted: 3, version: 1 },
    ]);
    // The resolved settings a snapshot shares with others (its cache) are not changed.
    expect(resolved.leaseMs).toBe(1_000);
  });

  it('the same value written another way, or the default gitbus.yaml does not set, is no override', () => {
    const bus = file({ lease: '300s' });
    expect(trustedSettings(resolveSettings(bus), bus, v1.policy.settings, 1).overridden).toEqual([]);
  });

  it('a key gitbus.yaml does not set (or an unreadable gitbus.yaml) is compared with its default', () => {
    const r = trustedSettings(resolveSettings(file({})), null, { lease: '10m' }, 4);
    expect(r.settings.leaseMs).toBe(600_000);
    expect(r.overridden).toEqual([{ key: 'lease', bus: null, busEffective: '5m', trusted: '10m', version: 4 }]);
    expect(overrideProblem(r.overridden[0]!)).toEqual({
      path: 'gitbus.yaml',
      field: 'lease',
      reason: 'gitbus.yaml does not set lease (the default is 5m); trust version 4 says 10m, which this node uses',
      fix: 'if the bus should use 5m, an admin runs "gitbus trust settings lease=5m"; otherwise set lease: 10m in gitbus.yaml again (nodes that do not enforce trust use gitbus.yaml\'s)',
      severity: 'warning',
    });
  });

  it('a version without settings leaves gitbus.yaml\'s values in force; one with some fixes those only', () => {
    const bus = file({ lease: '1s', maxAttempts: 99 });
    expect(trustedSettings(resolveSettings(bus), bus, undefined, 1)).toEqual({ settings: resolveSettings(bus), overridden: [] });
    const some = trustedSettings(resolveSettings(bus), bus, { lease: '5m' }, 2);
    expect(some.settings).toMatchObject({ leaseMs: 300_000, maxAttempts: 99 });
    expect(some.overridden.map((o) => o.key)).toEqual(['lease']);
  });

  it('the problem names both values and the two fixes', () => {
    const p = overrideProblem({ key: 'lease', bus: '1s', busEffective: '1s', trusted: '5m', version: 3 });
    expect(p.reason).toBe('gitbus.yaml says lease 1s; trust version 3 says 5m, which this node uses');
    expect(p.fix).toContain('"gitbus trust settings lease=1s"');
    expect(p.fix).toContain('set lease: 5m in gitbus.yaml');
    expect(p.severity).toBe('warning');
  });
});

describe('settings in a trust version', () => {
  it('trust init fixes gitbus.yaml\'s values, defaults where it sets none', () => {
    expect(currentTrustSettings(file({ lease: '2m', maxAttempts: 5, poll: '1s' }))).toEqual({ lease: '2m', heartbeat: '30s', maxAttempts: 5 });
    expect(currentTrustSettings(null)).toEqual({ lease: '5m', heartbeat: '30s', maxAttempts: 3 });
    expect(v1.policy.settings).toEqual({ lease: '5m', heartbeat: '30s', maxAttempts: 3 });
    expect(v1.policyText).toContain('settings:\n  lease: 5m\n  heartbeat: 30s\n  maxAttempts: 3\n');
  });

  it('policy.yaml\'s settings are checked by gitbus.yaml\'s rules, and take no other keys', () => {
    const problems = (settings: string) => {
      const r = parseVersion(1, Buffer.from(`alice ${alice.line}\n`), Buffer.from(`version: 1\nadmins: [alice]\nsettings:\n${settings}`));
      return r.ok ? [] : r.problems.map((p) => `${p.field}: ${p.reason}`);
    };
    expect(problems('  lease: 5m\n')).toEqual([]);
    expect(problems('  lease: 0s\n').join()).toContain('settings.lease: the duration must be greater than zero');
    expect(problems('  maxAttempts: 0\n').join()).toContain('settings.maxAttempts');
    expect(problems('  poll: 1s\n').join()).toContain('unknown field "poll"');
  });

  it('a settings change merges into the version\'s settings in gitbus\'s order; the same values are refused', () => {
    const next = applyEdit(v1, { kind: 'settings', settings: { maxAttempts: 5, lease: '10m' } });
    expect(next.policy.settings).toEqual({ lease: '10m', heartbeat: '30s', maxAttempts: 5 });
    expect(Object.keys(next.policy.settings ?? {})).toEqual(['lease', 'heartbeat', 'maxAttempts']);
    expect(renderVersion(next, v1.digest).version.policy.settings).toEqual(next.policy.settings);
    expect(() => applyEdit(v1, { kind: 'settings', settings: { lease: '5m' } })).toThrow(/trust version 1 already says lease 5m/);
    expect(applyEdit(bare, { kind: 'settings', settings: { heartbeat: '20s' } }).policy.settings).toEqual({ heartbeat: '20s' });
  });

  it('other edits keep the version\'s settings', () => {
    expect(applyEdit(v1, { kind: 'unlisted-nodes', value: 'refuse' }).policy.settings).toEqual(v1.policy.settings);
  });
});

describe('gitbus trust settings KEY=VALUE', () => {
  it('reads lease, heartbeat and maxAttempts', () => {
    expect(parseSettingArgs(['maxAttempts=4', 'lease=10m'])).toEqual({ lease: '10m', maxAttempts: 4 });
    expect(parseSettingArgs(['heartbeat=500ms'])).toEqual({ heartbeat: '500ms' });
  });

  it('refuses what is not an assignment of one of them', () => {
    for (const args of [[], ['lease'], ['lease:5m'], ['poll=1s'], ['lease=5m', 'lease=6m']]) expect(() => parseSettingArgs(args), args.join(' ')).toThrow(InputError);
    expect(() => parseSettingArgs(['poll=1s'])).toThrow(/poll is not a setting a trust version fixes/);
  });

  it('refuses values with gitbus.yaml\'s own messages', () => {
    const message = (arg: string) => {
      try {
        parseSettingArgs([arg]);
        return '';
      } catch (err) {
        expect(err).toBeInstanceOf(TrustChangeInvalidError);
        return (err as Error).message.split('\n')[0];
      }
    };
    expect(message('lease=0s')).toBe('the trust change is not valid: lease: the duration must be greater than zero');
    expect(message('lease=5M')).toContain('lease: "5M" is not a duration (units are lower case)');
    expect(message('maxAttempts=0')).toContain('maxAttempts: expected a whole number from 1 to 100, got the number 0');
    expect(message('maxAttempts=many')).toContain('maxAttempts: expected a whole number from 1 to 100');
    expect(message('maxAttempts=2.5')).toContain('maxAttempts: expected a whole number from 1 to 100');
  });

  it('refuses settings gitbus.yaml would warn about once rewritten: a heartbeat not shorter than the lease', () => {
    const bus = file({ lease: '5m', heartbeat: '30s' });
    expect(() => checkTrustedSettings(bus, { heartbeat: '5m' })).toThrow(/heartbeat: the heartbeat \(5m\) is not shorter than the lease \(5m\)/);
    expect(() => checkTrustedSettings(bus, { lease: '20s' })).toThrow(TrustChangeInvalidError);
    expect(() => checkTrustedSettings(bus, { lease: '20s', heartbeat: '2s' })).not.toThrow();
  });

  it('gitbus.yaml is made to say the same, keeping its other keys', () => {
    const bus = file({ name: 'fleet', lease: '1s', poll: '10s', maxAttempts: 99 });
    expect(withTrustedSettings(bus, { lease: '5m', maxAttempts: 3 })).toEqual({ protocol: 1, name: 'fleet', lease: '5m', poll: '10s', maxAttempts: 3 });
    expect(busAgrees(resolveSettings(bus), { lease: '5m' })).toBe(false);
    expect(busAgrees(resolveSettings(file({ lease: '300s' })), { lease: '5m', maxAttempts: 3 })).toBe(true);
  });
});

describe('doctor trust.settings', () => {
  const settings = resolveSettings(file({ lease: '2m', heartbeat: '15s', maxAttempts: 4 }));

  it('skips on a node that enforces no trust', () => {
    expect(trustSettingsCheck(null, [], settings).status).toBe('skip');
  });

  it('warns that leases are not guarded when the version fixes none or some, with the command and the values in use', () => {
    const none = trustSettingsCheck(bare, [], settings);
    expect(none).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^trust version 1 fixes no bus settings, so leases are not guarded/) });
    expect(none.fix).toBe('an admin runs "gitbus trust settings lease=2m heartbeat=15s maxAttempts=4" (the values this node uses now)');
    expect(settingsGuard({ lease: '5m' })).toEqual({ guarded: ['lease'], unguarded: ['heartbeat', 'maxAttempts'] });
    const some = renderVersion(applyEdit(bare, { kind: 'settings', settings: { lease: '2m' } }), bare.digest).version;
    expect(trustSettingsCheck(some, [], settings)).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^trust version 2 fixes lease but not heartbeat, maxAttempts/), fix: expect.stringContaining('gitbus trust settings heartbeat=15s maxAttempts=4') });
  });

  it('warns when gitbus.yaml says otherwise, and is ok when it agrees', () => {
    const over = trustSettingsCheck(v1, [{ key: 'lease', bus: '1s', busEffective: '1s', trusted: '5m', version: 1 }], settings);
    expect(over).toMatchObject({ status: 'warn', detail: 'gitbus.yaml says lease 1s; trust version 1 says 5m, which this node uses' });
    expect(trustSettingsCheck(v1, [], settings)).toEqual({ name: 'trust.settings', status: 'ok', detail: 'trust version 1 fixes lease 5m, heartbeat 30s, maxAttempts 3, and gitbus.yaml says the same', fix: null });
  });
});
