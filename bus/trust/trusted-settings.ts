import type { FileProblem } from '../../schemas/errors.js';
import { problemsFromIssues } from '../../schemas/field-problems.js';
import { parseDuration } from '../../schemas/duration.js';
import { SETTINGS_PATH } from '../../schemas/layout.js';
import { DEFAULT_SETTINGS, settingsRules, type BusSettings, type ResolvedSettings } from '../../schemas/settings.js';
import { TRUSTED_SETTING_KEYS, trustSettingsSchema, type TrustedSettingKey, type TrustSettings } from '../../schemas/trust-root.js';
import { InputError } from '../errors.js';
import type { SettingOverride } from '../model/types.js';
import { TrustChangeInvalidError } from './root-errors.js';

/**
 * The bus settings a trust version fixes (docs/PROTOCOL.md §12, "Settings that decide reclaims"), pure: the values a
 * node that enforces a version uses over gitbus.yaml's and the warnings when the two differ, `gitbus trust settings`
 * arguments read and checked by the settings' own rules, and gitbus.yaml made to say what a version says.
 */

const RESOLVED_KEY = { lease: 'leaseMs', heartbeat: 'heartbeatMs', maxAttempts: 'maxAttempts' } as const satisfies Record<TrustedSettingKey, keyof ResolvedSettings>;

/** A value as code acts on it: milliseconds for a duration, the count for maxAttempts. Expects a value that passed the schema. */
function resolvedValue(key: TrustedSettingKey, value: string | number): number {
  return key === 'maxAttempts' ? Number(value) : parseDuration(String(value));
}

/** The keys of `s` in the order gitbus writes them, so two versions' policies differ only where their values do. */
function ordered(s: TrustSettings): TrustSettings {
  const out: TrustSettings = {};
  if (s.lease !== undefined) out.lease = s.lease;
  if (s.heartbeat !== undefined) out.heartbeat = s.heartbeat;
  if (s.maxAttempts !== undefined) out.maxAttempts = s.maxAttempts;
  return out;
}

/**
 * `resolved` (from gitbus.yaml, defaults filled in) with the version's values in place of gitbus.yaml's, and each key
 * where gitbus.yaml amounts to something else. A version without `settings` leaves gitbus.yaml's values in force.
 */
export function trustedSettings(resolved: ResolvedSettings, file: BusSettings | null, trust: TrustSettings | undefined, version: number): { settings: ResolvedSettings; overridden: SettingOverride[] } {
  if (!trust) return { settings: resolved, overridden: [] };
  const settings: ResolvedSettings = { ...resolved };
  const overridden: SettingOverride[] = [];
  for (const key of TRUSTED_SETTING_KEYS) {
    const value = trust[key];
    if (value === undefined) continue;
    const target = RESOLVED_KEY[key];
    const trusted = resolvedValue(key, value);
    if (settings[target] !== trusted) {
      const written = file?.[key];
      overridden.push({ key, bus: written ?? null, busEffective: written ?? DEFAULT_SETTINGS[key], trusted: value, version });
    }
    settings[target] = trusted;
  }
  return { settings, overridden };
}

/** A setting taken from the trust version over gitbus.yaml, as `status`, `lint` and `doctor` show it. */
export function overrideProblem(o: SettingOverride): FileProblem {
  const says = o.bus === null ? `gitbus.yaml does not set ${o.key} (the default is ${o.busEffective})` : `gitbus.yaml says ${o.key} ${o.bus}`;
  return {
    path: SETTINGS_PATH,
    field: o.key,
    reason: `${says}; trust version ${o.version} says ${o.trusted}, which this node uses`,
    fix: `if the bus should use ${o.busEffective}, an admin runs "gitbus trust settings ${o.key}=${o.busEffective}"; otherwise set ${o.key}: ${o.trusted} in gitbus.yaml again (nodes that do not enforce trust use gitbus.yaml's)`,
    severity: 'warning',
  };
}

/** What a bus starts its trust root with: gitbus.yaml's lease, heartbeat and maxAttempts, defaults where it sets none. */
export function currentTrustSettings(file: BusSettings | null): TrustSettings {
  return ordered({
    lease: file?.lease ?? DEFAULT_SETTINGS.lease,
    heartbeat: file?.heartbeat ?? DEFAULT_SETTINGS.heartbeat,
    maxAttempts: file?.maxAttempts ?? DEFAULT_SETTINGS.maxAttempts,
  });
}

/** `lease 5m, heartbeat 30s, maxAttempts 3`. */
export function settingsText(s: TrustSettings): string {
  return TRUSTED_SETTING_KEYS.filter((k) => s[k] !== undefined)
    .map((k) => `${k} ${s[k]}`)
    .join(', ');
}

/** The keys a version fixes and those it leaves to gitbus.yaml (anyone with push access). */
export function settingsGuard(trust: TrustSettings | undefined): { guarded: TrustedSettingKey[]; unguarded: TrustedSettingKey[] } {
  const guarded = TRUSTED_SETTING_KEYS.filter((k) => trust?.[k] !== undefined);
  return { guarded, unguarded: TRUSTED_SETTING_KEYS.filter((k) => !guarded.includes(k)) };
}

/** Whether two versions fix the same values (the order of keys aside). */
export function sameTrustSettings(a: TrustSettings | undefined, b: TrustSettings | undefined): boolean {
  return TRUSTED_SETTING_KEYS.every((k) => a?.[k] === b?.[k]);
}

/** The version's settings merged with `change`, in gitbus's order. */
export function mergedTrustSettings(before: TrustSettings | undefined, change: TrustSettings): TrustSettings {
  return ordered({ ...(before ?? {}), ...change });
}

const ASSIGNMENT_RE = /^([A-Za-z]+)=(.*)$/s;
const USAGE = 'give settings as KEY=VALUE, for example "gitbus trust settings lease=5m heartbeat=30s maxAttempts=3"';

/**
 * `lease=5m heartbeat=30s maxAttempts=3` as settings, checked by gitbus.yaml's own rules for each key; throws
 * InputError for what is not an assignment of one of these keys, TrustChangeInvalidError for a value the rules refuse.
 */
export function parseSettingArgs(args: readonly string[]): TrustSettings {
  if (args.length === 0) throw new InputError('no setting given', USAGE);
  const raw: Record<string, unknown> = {};
  for (const arg of args) {
    const m = ASSIGNMENT_RE.exec(arg);
    if (!m) throw new InputError(`${JSON.stringify(arg)} is not KEY=VALUE`, USAGE, { value: arg });
    const key = m[1] ?? '';
    const value = m[2] ?? '';
    if (!(TRUSTED_SETTING_KEYS as readonly string[]).includes(key)) {
      throw new InputError(`${key} is not a setting a trust version fixes`, `name ${TRUSTED_SETTING_KEYS.join(', ')}; the other settings are gitbus.yaml's alone: change them there`, { key });
    }
    if (Object.hasOwn(raw, key)) throw new InputError(`${key} is given twice`, 'give each setting once', { key });
    // maxAttempts is a number in YAML; anything else is left as text for the schema to name what is wrong.
    raw[key] = key === 'maxAttempts' && /^-?[0-9]{1,15}$/.test(value) ? Number(value) : value;
  }
  const r = trustSettingsSchema.safeParse(raw, { reportInput: true });
  if (!r.success) {
    const p = problemsFromIssues(SETTINGS_PATH, trustSettingsSchema, r.error.issues)[0];
    throw new TrustChangeInvalidError(p ? `${p.field}: ${p.reason}` : 'the settings are not valid', p?.fix ?? USAGE);
  }
  return ordered(r.data);
}

/** gitbus.yaml's settings with the version's values in place of its own. */
export function withTrustedSettings(file: BusSettings, trust: TrustSettings): BusSettings {
  return { ...file, ...ordered(trust) };
}

/**
 * Refuses settings that gitbus.yaml's rules across keys warn about (a heartbeat not shorter than the lease, ...), as
 * gitbus.yaml would read once rewritten: a trust version is what a node cannot overrule, so it must not fix values
 * that make live claims expire.
 */
export function checkTrustedSettings(file: BusSettings, trust: TrustSettings): void {
  const v = settingsRules(withTrustedSettings(file, trust))[0];
  if (v) throw new TrustChangeInvalidError(`${v.field}: ${v.reason}`, `${v.fix} ("gitbus trust settings" takes several at once: lease=5m heartbeat=30s)`);
}

/** Whether gitbus.yaml (as written, defaults filled in) already amounts to what the version fixes. */
export function busAgrees(resolved: ResolvedSettings, trust: TrustSettings): boolean {
  return TRUSTED_SETTING_KEYS.every((k) => trust[k] === undefined || resolved[RESOLVED_KEY[k]] === resolvedValue(k, trust[k]));
}
