import { platform } from 'node:os';
import type { CardEnv } from '../../schemas/env-drift.js';
import type { FileProblem } from '../../schemas/errors.js';
import { homePaths, type NodeConfig } from '../home.js';
import type { Snapshot } from '../model/snapshot.js';
import { applyPlan, leftOutOf, type ApplyResult, type LeftOut } from './apply.js';
import { EnvNoProfileError, EnvNoProfilesError, EnvProfileInvalidError, EnvProfileStaleError, EnvProfileUntrustedError } from './errors.js';
import { listProfiles, readProfile, type EnvProfile } from './profile.js';
import { cardEnvOf } from './states.js';
import { planProfile, shownFiles, type FileStatus, type ProfilePlan } from './plan.js';
import { ownHome } from './local.js';
import { readState } from './state-store.js';
import { profileVerdict, staleFix, staleReason, type ProfileTrust } from './trust.js';

/**
 * One profile as this node sees it: on the bus or not, usable or not (invalid, untrusted), and each file's state.
 * What `gitbus env status|diff|apply`, the watcher, `doctor` and the node card are built from.
 */

export interface ProfileReport {
  profile: string;
  /** node.yaml subscribes to it; `apply` says how (null: not subscribed, looked at by name). */
  apply: 'auto' | 'manual' | null;
  found: boolean;
  /** Why it cannot be applied here (not on the bus, invalid, untrusted); null when it can. */
  problem: string | null;
  fix: string | null;
  problems: FileProblem[];
  /** The trust verdict, or null when this node enforces no trust root. */
  trust: ProfileTrust | null;
  files: FileStatus[];
  /**
   * Targets of the profile that are no file of this node, as `apply` lists them: `refused` here whatever the profile
   * says (never synced, entries of one precedence, ...), `not-for-this-node` (every entry names other nodes or systems).
   */
  skipped: LeftOut[];
  warnings: FileProblem[];
}

export interface ProfileLook {
  report: ProfileReport;
  plan: ProfilePlan | null;
  profile: EnvProfile | null;
  /** The error apply throws for this profile, or null when it may be applied. */
  refusal: Error | null;
}

export interface EnvNode {
  home: string;
  config: NodeConfig;
}

/**
 * The profiles to look at: those node.yaml subscribes to, and the one named after them when it is not one of them.
 * All are looked at even when one is named, since a file two of them write is held in the later one whichever is
 * asked for; lookAtProfiles' `only` then reports the named one.
 */
export function profilesToLook(node: EnvNode, named?: string): { profile: string; apply: 'auto' | 'manual' | null }[] {
  const subs = node.config.env ?? [];
  if (named === undefined && subs.length === 0) throw new EnvNoProfilesError(homePaths(node.home).config);
  const seen = new Set<string>();
  const out = subs.filter((s) => !seen.has(s.profile) && seen.add(s.profile)).map((s) => ({ profile: s.profile, apply: s.apply }));
  return named === undefined || seen.has(named) ? out : [...out, { profile: named, apply: null }];
}

export async function lookAtProfile(snap: Snapshot, node: EnvNode, userHome: string, name: string, apply: 'auto' | 'manual' | null, opts: { force?: boolean; now?: Date } = {}): Promise<ProfileLook> {
  const base: ProfileReport = { profile: name, apply, found: false, problem: null, fix: null, problems: [], trust: null, files: [], skipped: [], warnings: [] };
  const read = await readProfile(snap, name);
  if (!read.found) {
    const known = await listProfiles(snap);
    const err = new EnvNoProfileError(name, known);
    return { report: { ...base, problem: 'not on the bus', fix: err.fix }, plan: null, profile: null, refusal: err };
  }
  if (!read.ok) {
    const err = new EnvProfileInvalidError(name, read.problems);
    return { report: { ...base, found: true, problem: `invalid: ${err.message.split('\n')[0] ?? ''}`, fix: err.fix, problems: read.problems }, plan: null, profile: null, refusal: err };
  }
  const profile = read.profile;
  const trust = await profileVerdict(snap, profile, node.home, node.config, opts.now);
  const state = readState(node.home, name);
  const plan = planProfile(profile, userHome, state, { node: node.config.node, platform: platform(), busHome: ownHome(userHome, node.home).rels }, opts);
  const report: ProfileReport = { ...base, found: true, trust, files: shownFiles(plan), skipped: leftOutOf(plan), warnings: profile.warnings };
  if (trust && !trust.trusted) {
    const err = new EnvProfileUntrustedError(name, trust.reason, trust.fix);
    return { report: { ...report, problem: `untrusted: ${trust.reason}`, fix: err.fix }, plan, profile, refusal: err };
  }
  const stale = trust ? staleReason(profile.manifest.updated, state.updated) : undefined;
  if (stale !== undefined) {
    const err = new EnvProfileStaleError(name, stale, staleFix(name));
    return { report: { ...report, problem: `stale: ${stale}`, fix: err.fix }, plan, profile, refusal: err };
  }
  return { report, plan, profile, refusal: null };
}

/**
 * Each profile of `subs` looked at, in order, for `env status|diff|apply` and the watcher. One that cannot be looked
 * at (an error nobody foresaw) is refused with the reason, never stopping the others; a file two profiles both
 * write (or one inside the other's) is held in the later one. With `only`, just that profile is returned.
 */
export async function lookAtProfiles(snap: Snapshot, node: EnvNode, userHome: string, subs: readonly { profile: string; apply: 'auto' | 'manual' | null }[], opts: { force?: boolean; now?: Date; only?: string } = {}): Promise<ProfileLook[]> {
  const out: ProfileLook[] = [];
  for (const sub of subs) {
    try {
      out.push(await lookAtProfile(snap, node, userHome, sub.profile, sub.apply, opts));
    } catch (err) {
      const reason = `it could not be looked at: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
      const refusal = new EnvProfileInvalidError(sub.profile, [{ path: `env/${sub.profile}`, field: '', reason, fix: `run "gitbus lint" and "gitbus env status ${sub.profile}"`, severity: 'error' }]);
      out.push({ report: { profile: sub.profile, apply: sub.apply, found: true, problem: `invalid: ${reason}`, fix: refusal.fix, problems: [], trust: null, files: [], skipped: [], warnings: [] }, plan: null, profile: null, refusal });
    }
  }
  holdClashes(out);
  return opts.only === undefined ? out : out.filter((l) => l.report.profile === opts.only);
}

/**
 * Holds a file of a later profile whose target an earlier profile writes too, or is inside one of its, or holds one.
 * A profile this node refuses (untrusted, stale) writes nothing here, so it holds no target: an unsigned profile
 * listed first would otherwise keep a signed one from its files on a node that enforces a trust root.
 */
export function holdClashes(looks: readonly ProfileLook[]): void {
  const taken = new Map<string, string>();
  for (const look of looks) {
    if (!look.plan || look.refusal) continue;
    const mine: string[] = [];
    for (const f of look.plan.files) {
      if (f.source === null) continue;
      const other = [...taken].find(([t]) => t === f.target || f.target.startsWith(`${t}/`) || t.startsWith(`${f.target}/`));
      if (other) {
        f.action = 'none';
        f.held = `profile ${other[1]} also puts a file at ${other[0]}${other[0] === f.target ? '' : ', and one path is inside the other'}: subscribe to one of them for it (remove the entry from one profile)`;
        f.next = f.last;
      } else mine.push(f.target);
    }
    for (const t of mine) taken.set(t, look.plan.profile);
    look.report.files = shownFiles(look.plan);
  }
}

/** Applies a profile looked at: refused when it cannot be applied here (untrusted, invalid, missing). */
export function applyLooked(look: ProfileLook, node: EnvNode, userHome: string, opts: { dryRun?: boolean; now?: Date } = {}): ApplyResult {
  if (look.refusal || !look.plan) throw look.refusal ?? new Error(`profile ${look.report.profile} has no plan`);
  return applyPlan(node.home, userHome, node.config.node, look.plan, opts);
}

/** The profile's drift as the node card carries it. */
export function cardEnvOfReport(r: ProfileReport): CardEnv {
  return cardEnvOf(r.profile, r.apply ?? undefined, r.files, r.problem ?? undefined);
}
