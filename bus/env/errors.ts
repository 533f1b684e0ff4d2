import { GitbusError, type FileProblem } from '../../schemas/errors.js';
import { ownCopyHint } from './hint-commands.js';

/** Errors of `gitbus env` (docs/PROTOCOL.md "env/ profiles"); exit codes in cli/exit-codes.ts. */

export class EnvNoProfileError extends GitbusError {
  readonly code = 'ENV_NO_PROFILE';
  constructor(profile: string, known: string[]) {
    super(
      `the bus has no environment profile "${profile}"${known.length ? ` (it has ${known.join(', ')})` : ''}`,
      known.length ? `name one of ${known.join(', ')}, or make it with "gitbus env capture ${profile}"` : `make it with "gitbus env capture ${profile}" on the machine whose setup it should hold`,
      { profile, known },
    );
  }
}

export class EnvNoProfilesError extends GitbusError {
  readonly code = 'ENV_NO_PROFILES';
  constructor(configPath: string) {
    super(
      'this node subscribes to no environment profile',
      `name a profile (gitbus env status PROFILE), or subscribe in ${configPath}: env: [{profile: NAME, apply: manual}]`,
      { config: configPath },
    );
  }
}

export class EnvProfileInvalidError extends GitbusError {
  readonly code = 'ENV_PROFILE_INVALID';
  readonly problems: FileProblem[];
  constructor(profile: string, problems: FileProblem[]) {
    const first = problems[0];
    super(
      `profile ${profile} cannot be used: ${first ? `${first.path}${first.field ? ` (${first.field})` : ''}: ${first.reason}` : 'it is invalid'}${problems.length > 1 ? ` (+${problems.length - 1} more)` : ''}`,
      first?.fix ?? `capture it again ("gitbus env capture ${profile}")`,
      { profile, problems },
    );
    this.problems = problems;
  }
}

export class EnvProfileUntrustedError extends GitbusError {
  readonly code = 'ENV_PROFILE_UNTRUSTED';
  constructor(profile: string, reason: string, fix: string) {
    super(`profile ${profile} is not applied on this node: ${reason}`, fix.replace(/PROFILE/g, profile), { profile, reason });
  }
}

/** A path `capture` will not take: outside the home, never synced, a link to a folder, too large, missing. */
export class EnvTargetRefusedError extends GitbusError {
  readonly code = 'ENV_TARGET_REFUSED';
  constructor(target: string, reason: string, fix: string) {
    super(`${target}: ${reason}`, fix, { target, reason });
  }
}

export interface SecretHit {
  target: string;
  /** 0 for a file refused by its name. */
  line: number;
  what: string;
}

export class EnvSecretError extends GitbusError {
  readonly code = 'ENV_SECRET';
  constructor(profile: string, hits: SecretHit[]) {
    const shown = hits.slice(0, 5).map((h) => `${h.target}${h.line > 0 ? `:${h.line}` : ''} (${h.what})`).join('; ');
    super(
      `refused to capture profile ${profile}: ${hits.length === 1 ? 'a file looks like it holds a secret' : `${hits.length} places look like secrets`}: ${shown}${hits.length > 5 ? '; …' : ''}`,
      'take the secret out of the file (keep it in the keychain or a file the profile does not sync, and read it from there, e.g. export GITHUB_TOKEN="$(cat ~/.config/tokens/github)"), or leave the file out of the profile; a secret on the bus is read by every node and stays in git history',
      { profile, hits },
    );
  }
}

export class EnvNoBackupError extends GitbusError {
  readonly code = 'ENV_NO_BACKUP';
  constructor(id: string | null, known: string[]) {
    super(
      id === null ? 'there is no backup to restore' : `there is no backup ${id}`,
      known.length ? `name one of: ${known.slice(-5).join(', ')} ("gitbus env restore --list" lists them)` : '"gitbus env apply" keeps a backup of every file it replaces; none was replaced yet',
      { id, known },
    );
  }
}

export class EnvRestoreConflictError extends GitbusError {
  readonly code = 'ENV_RESTORE_CONFLICT';
  constructor(id: string, changed: string[]) {
    super(
      `backup ${id} was not restored: ${changed.join(', ')} changed since apply wrote ${changed.length === 1 ? 'it' : 'them'}`,
      `look at the file${changed.length === 1 ? '' : 's'}, then restore anyway with "gitbus env restore ${id} --force" (what is there now is backed up first)`,
      { id, changed },
    );
  }
}

/**
 * A restore of a backup every entry of which it leaves as it is (a path apply would not write today, one that is not
 * in the home): nothing was put back, and the backup is not marked restored.
 */
export class EnvNothingRestoredError extends GitbusError {
  readonly code = 'ENV_NOTHING_RESTORED';
  constructor(id: string, skipped: { target: string; reason: string }[]) {
    const shown = skipped.slice(0, 5).map((s) => `${s.target} (${s.reason})`).join('; ');
    super(
      `nothing was restored from backup ${id}: ${skipped.length === 0 ? 'it lists no file' : `every file it holds is one restore leaves as it is: ${shown}${skipped.length > 5 ? `; and ${skipped.length - 5} more` : ''}`}`,
      'the backup is left as it is, not marked restored; "gitbus env restore --list" lists the others, and "gitbus env restore ID" restores one',
      { id, skipped },
    );
  }
}

/**
 * `capture` of files changed both here and in the bus since this node last synced them. `ownable`: those of them
 * this node may keep as its own (file entries naming no node), offered --variant node.
 */
export class EnvCaptureConflictError extends GitbusError {
  readonly code = 'ENV_CAPTURE_CONFLICT';
  constructor(profile: string, targets: string[], ownable: string[] = []) {
    super(
      `refused to capture profile ${profile}: ${targets.slice(0, 5).join(', ')}${targets.length > 5 ? ` and ${targets.length - 5} more` : ''} changed both here and in the bus since this node last synced ${targets.length === 1 ? 'it' : 'them'}`,
      `look at "gitbus env diff ${profile}", then take the bus's ("gitbus env apply ${profile} --force", a backup is kept) or yours for every node ("gitbus env capture ${profile} --force")${ownable.length > 0 ? `; ${ownCopyHint(profile, ownable)}` : ''}`,
      { profile, targets },
    );
  }
}

/**
 * A signed `capture` of a profile holding entries or files this node neither verified (a manifest signed by someone
 * its trust root allows) nor made itself (state.json): signing them would vouch for what anyone with push access
 * wrote.
 */
export class EnvCaptureUnverifiedError extends GitbusError {
  readonly code = 'ENV_CAPTURE_UNVERIFIED';
  constructor(profile: string, items: string[], why: string) {
    super(
      `refused to sign profile ${profile}: it holds ${items.slice(0, 5).join(', ')}${items.length > 5 ? ` and ${items.length - 5} more` : ''}, which this node neither verified nor captured or applied itself (${why})`,
      `look at what changed on the bus (git log -p on main, env/${profile}); then "gitbus env capture ${profile} --rebuild" signs a profile of only what this node captured or applied and what --add names (the rest is left out), or --unsigned writes it without a signature (nodes that enforce trust refuse it)`,
      { profile, items, why },
    );
  }
}

/** A profile older than the newest this node applied or captured, on a node that enforces a trust root. */
export class EnvProfileStaleError extends GitbusError {
  readonly code = 'ENV_PROFILE_STALE';
  constructor(profile: string, reason: string, fix: string) {
    super(`profile ${profile} is not applied on this node: ${reason}`, fix.replace(/PROFILE/g, profile), { profile, reason });
  }
}

/** A write or removal in the home that would go through a symbolic link or leave it: never done. */
export class EnvPathUnsafeError extends GitbusError {
  readonly code = 'ENV_PATH_UNSAFE';
  constructor(target: string, reason: string, fix = 'replace the link with a real folder, or leave the file out of the profile') {
    super(`${target}: ${reason}; gitbus never writes through a symbolic link or outside the home`, fix, { target, reason });
  }
}

/**
 * The home folder profiles are read from and written to is not there: $HOME names a path that does not exist, is
 * not a folder or is relative, or HOME is not set and the account's home (the passwd entry) does not exist (a
 * service account's /nonexistent). Said up front: otherwise every file reads as missing here and every write fails.
 */
export class EnvHomeMissingError extends GitbusError {
  readonly code = 'ENV_HOME_MISSING';
  constructor(home: string, why: string, from: 'HOME' | 'account') {
    super(
      from === 'HOME' ? `HOME is ${JSON.stringify(home)}, which ${why}: gitbus env has no home folder to read or write profiles in` : `HOME is not set, and this account's home folder ${home} (from the passwd file) ${why}: gitbus env has no home folder to read or write profiles in`,
      'set HOME to your home folder, an absolute path that exists (export HOME=/home/you), and run the command again',
      { home, why, from },
    );
  }
}
