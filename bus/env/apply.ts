import { GitbusError } from '../../schemas/errors.js';
import { BackupWriter, pruneBackups } from './backups.js';
import { chmodLocal, fsReason, removeLocal, withExecutable, writeLocal } from './local.js';
import { octal, PERMISSION_BITS, type NarrowedMode } from './modes.js';
import { shownFiles, type FileStatus, type ProfilePlan } from './plan.js';
import { sweepStaged } from './staged.js';
import { writeState, type EnvStateFile } from './state-store.js';

/**
 * `gitbus env apply`: carries out a plan (plan.ts). Every file it replaces or removes is saved first in one backup
 * of this run (backups.ts); a file changed here is never replaced without --force (the plan says so); state.json
 * records what was written, so the next look tells a later local edit from a later bus change.
 */

export interface ApplyResult {
  profile: string;
  dryRun: boolean;
  written: string[];
  removed: string[];
  /** Files whose content was in sync and whose executable bit was set or cleared to match the profile. */
  modes: { target: string; executable: boolean }[];
  /**
   * Files written or chmodded whose mode here had a setuid, setgid or sticky bit: written with the permission bits
   * only (modes.ts), never carried onto the profile's content.
   */
  narrowed: NarrowedMode[];
  /** Temp files a killed apply or restore left in the folders of the profile's files, removed (staged.ts). */
  leftovers: string[];
  /** Files not in sync that apply left as they are, and why. */
  held: { target: string; state: FileStatus['state']; why: string }[];
  /**
   * What apply had nothing to do with, and why: `refused` on this node whatever the profile says (never synced, a
   * name that looks like a secret, two entries of one precedence, the profile's JSON not an object), `not-for-this-node`
   * (every entry for it names other nodes or systems), `unchanged` (in sync already).
   */
  skipped: ApplySkipped[];
  /** The backup of this run (`gitbus env restore ID`), or null when nothing was replaced. */
  backup: string | null;
  files: FileStatus[];
}

export interface ApplySkipped {
  target: string;
  kind: 'refused' | 'not-for-this-node' | 'unchanged';
  reason: string;
}

/** A target of the profile that is not a file of this node: refused here, or for other nodes only. */
export type LeftOut = ApplySkipped & { kind: 'refused' | 'not-for-this-node' };

/** The targets of a plan that are no file of this node, with why: what `status` lists as skipped. */
export function leftOutOf(plan: ProfilePlan): LeftOut[] {
  return [
    ...plan.skipped.map((s) => ({ target: s.target, kind: 'refused' as const, reason: s.reason })),
    ...plan.notHere.map((s) => ({ target: s.target, kind: 'not-for-this-node' as const, reason: s.reason })),
  ];
}

/** What a plan leaves alone besides the files it holds: refused, for other nodes, in sync. */
export function skippedOf(plan: ProfilePlan): ApplySkipped[] {
  return [
    ...leftOutOf(plan),
    ...plan.files.filter((f) => f.source !== null && f.state === 'in-sync' && f.action === 'none' && f.held === undefined).map((f) => ({ target: f.target, kind: 'unchanged' as const, reason: 'in sync: the file here is as the profile has it' })),
  ];
}

export function applyPlan(home: string, userHome: string, node: string, plan: ProfilePlan, opts: { dryRun?: boolean; now?: Date } = {}): ApplyResult {
  const now = opts.now ?? new Date();
  const dryRun = Boolean(opts.dryRun);
  const result: ApplyResult = { profile: plan.profile, dryRun, written: [], removed: [], modes: [], narrowed: [], leftovers: [], held: [], skipped: skippedOf(plan), backup: null, files: shownFiles(plan) };
  for (const f of plan.files) if (f.action === 'none' && f.held !== undefined) result.held.push({ target: f.target, state: f.state, why: f.held });
  result.leftovers = sweepStaged(userHome, plan.files.map((f) => f.rel), { dryRun, now: now.getTime() });
  const backup = new BackupWriter(home, userHome, plan.profile, node, now);
  // Until a file is done, state.json keeps what it said of it: a failure half-way records exactly what was done.
  const state: EnvStateFile = { format: 1, profile: plan.profile, ...(plan.updated !== undefined ? { updated: plan.updated } : {}), files: {} };
  for (const f of plan.files) if (f.last) state.files[f.target] = f.last;
  // Targets the plan does something with, so that a file failing does not leave the others undone.
  const claimed = new Set<string>();
  try {
    for (const f of plan.files) {
      // One profile writing a file where another of its files is a folder (or inside one) is held, not half-done.
      const clash = f.action === 'write' ? [...claimed].find((t) => f.target.startsWith(`${t}/`) || t.startsWith(`${f.target}/`)) : undefined;
      if (clash !== undefined) {
        result.held.push({ target: f.target, state: f.state, why: `the profile also writes ${clash}, and one of the two paths is inside the other` });
        continue;
      }
      try {
        if (f.action === 'write' && f.content) {
          if (!dryRun) {
            backup.save(f.target, f.rel, f.content);
            const mode = f.local.kind === 'file' ? f.local.mode : 0o644;
            try {
              writeLocal(userHome, f.rel, f.content, withExecutable(mode, f.executable));
            } catch (err) {
              // Nothing was replaced: the backup forgets it, or a restore would take the file for a later edit.
              backup.forgetLast();
              throw err;
            }
          }
          claimed.add(f.target);
          result.written.push(f.target);
          if (f.local.kind === 'file') narrowedFrom(result, f.target, f.local.mode, f.executable);
        } else if (f.action === 'mode' && f.local.kind === 'file') {
          // Content unchanged, so nothing to back up: only the mode changes, and it is said. A file system that keeps
          // no executable bit (vfat, some network mounts) would have it "changed" at every look: held, with why.
          if (!dryRun && !chmodLocal(userHome, f.rel, withExecutable(f.local.mode, f.executable))) {
            result.held.push({ target: f.target, state: f.state, why: 'the file system here does not keep the executable bit' });
            continue;
          }
          result.modes.push({ target: f.target, executable: f.executable });
          narrowedFrom(result, f.target, f.local.mode, f.executable);
        } else if (f.action === 'remove') {
          if (!dryRun) {
            backup.save(f.target, f.rel, null);
            removeLocal(userHome, f.rel);
          }
          result.removed.push(f.target);
        }
      } catch (err) {
        // A file that cannot be written (a link on its path, a name too long, a full disk) is held with why; the
        // others are still done, and state.json keeps what it said of this one.
        result.held.push({ target: f.target, state: f.state, why: `it could not be changed: ${whyFailed(err)}` });
        continue;
      }
      if (f.next) state.files[f.target] = f.next;
      else delete state.files[f.target];
    }
  } finally {
    // What was done before a failure is recorded, so the next apply does not take its own writes for local edits.
    if (!dryRun) writeState(home, state);
    result.backup = backup.id;
  }
  if (result.backup !== null) pruneBackups(home, now);
  return result;
}

/** Names a file whose mode here had bits beyond the permission bits, which the write or chmod did not keep. */
function narrowedFrom(result: ApplyResult, target: string, mode: number, executable: boolean): void {
  if ((mode & ~PERMISSION_BITS) !== 0) result.narrowed.push({ target, mode: octal(mode), applied: octal(withExecutable(mode, executable)) });
}

/** An error as a reason: a gitbus error's message, an fs error's code and message. */
function whyFailed(err: unknown): string {
  return err instanceof GitbusError ? err.message : fsReason(err);
}
