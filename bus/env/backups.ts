import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asLocalFailure, writeFileAtomicSync } from '../local-io.js';
import { EnvNoBackupError, EnvNothingRestoredError, EnvPathUnsafeError, EnvRestoreConflictError } from './errors.js';
import { sha256Hex } from './hash.js';
import { linkOnPath, ownHome, readLocal, removeLocal, stageLocal, type StagedFile } from './local.js';
import { permissionMode, octal, type NarrowedMode } from './modes.js';
import { neverWritten, type Skipped } from './resolve.js';
import { sweepStaged } from './staged.js';
import { targetRel, whyNotTarget } from '../../schemas/env-paths.js';

/**
 * Backups of what `gitbus env apply` replaced or removed, and `gitbus env restore`: the answer to chezmoi's users'
 * top complaint (twpayne/chezmoi#1551, files overwritten with no way back). Each apply that changes a file keeps
 * `<home>/env/backups/<id>/` with the original bytes and a manifest.json saying, per file, where it was, the hash
 * it had and the hash apply left, so a restore never clobbers a file changed since.
 */

export interface BackupEntry {
  target: string;
  /** The path relative to the home. */
  rel: string;
  /** SHA-256 of the file before apply; null: there was none (apply created it). */
  hash: string | null;
  /** The copy's file name in the backup folder; null when there was no file. */
  backup: string | null;
  mode: number | null;
  /** SHA-256 of what apply left; null: apply removed the file. */
  written: string | null;
}

export interface BackupManifest {
  format: 1;
  id: string;
  profile: string;
  node: string;
  at: string;
  /** `apply`, or `restore` for what a forced restore replaced. */
  reason: 'apply' | 'restore';
  entries: BackupEntry[];
  restored?: string;
}

export function backupsDir(home: string): string {
  return join(home, 'env', 'backups');
}

const ID_RE = /^[0-9]{8}-[0-9]{6}-[0-9]{3}(-[0-9]+)?$/;

function newId(home: string, now: Date): string {
  const base = now.toISOString().replace(/[-:]/g, '').replace('T', '-').replace('.', '-').replace('Z', '');
  let id = base;
  for (let n = 2; existsSync(join(backupsDir(home), id)); n++) id = `${base}-${n}`;
  return id;
}

/** Collects one apply's backups; the folder appears with the first file saved, the manifest is rewritten after each. */
export class BackupWriter {
  private manifest: BackupManifest | null = null;
  private dir = '';
  constructor(
    private readonly home: string,
    private readonly userHome: string,
    private readonly profile: string,
    private readonly node: string,
    private readonly now: Date,
    private readonly reason: BackupManifest['reason'] = 'apply',
  ) {}

  get id(): string | null {
    return this.manifest && this.manifest.entries.length > 0 ? this.manifest.id : null;
  }

  /** Saves what is at `rel` now (bytes and mode, or nothing) before it is replaced by `written` (null: removed). */
  save(target: string, rel: string, written: Uint8Array | null): void {
    if (!this.manifest) {
      const id = newId(this.home, this.now);
      this.dir = join(backupsDir(this.home), id);
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.manifest = { format: 1, id, profile: this.profile, node: this.node, at: this.now.toISOString(), reason: this.reason, entries: [] };
    }
    const local = readLocal(this.userHome, rel);
    let backup: string | null = null;
    if (local.kind === 'file') {
      backup = String(this.manifest.entries.length + 1).padStart(4, '0');
      writeFileSync(join(this.dir, backup), local.bytes, { mode: 0o600 });
    }
    this.manifest.entries.push({
      target,
      rel,
      hash: local.kind === 'file' ? sha256Hex(local.bytes) : null,
      backup,
      mode: local.kind === 'file' ? local.mode : null,
      written: written === null ? null : sha256Hex(written),
    });
    writeFileAtomicSync(join(this.dir, 'manifest.json'), `${JSON.stringify(this.manifest, null, 2)}\n`);
  }

  /** Takes back everything saved: none of the replacements happened. */
  discard(): void {
    if (this.manifest) rmSync(this.dir, { recursive: true, force: true });
    this.manifest = null;
  }

  /** Takes back the last file saved, whose replacement did not happen. */
  forgetLast(): void {
    const last = this.manifest?.entries.pop();
    if (!this.manifest || !last) return;
    if (last.backup !== null) rmSync(join(this.dir, last.backup), { force: true });
    if (this.manifest.entries.length === 0) {
      // A backup of nothing is no backup: the next file saved starts a new one.
      rmSync(this.dir, { recursive: true, force: true });
      this.manifest = null;
      return;
    }
    writeFileAtomicSync(join(this.dir, 'manifest.json'), `${JSON.stringify(this.manifest, null, 2)}\n`);
  }
}

function readManifest(home: string, id: string): BackupManifest | null {
  try {
    const m = JSON.parse(readFileSync(join(backupsDir(home), id, 'manifest.json'), 'utf8')) as BackupManifest;
    return m && Array.isArray(m.entries) && m.id === id ? m : null;
  } catch {
    return null;
  }
}

/** Every backup of this node, oldest first. */
export function listBackups(home: string): BackupManifest[] {
  let names: string[];
  try {
    names = readdirSync(backupsDir(home));
  } catch {
    return [];
  }
  return names.filter((n) => ID_RE.test(n)).sort().flatMap((n) => readManifest(home, n) ?? []);
}

export interface RestoreResult {
  id: string;
  profile: string;
  files: { target: string; action: 'restored' | 'removed' }[];
  /**
   * Entries left alone, with why: a path apply would not write today (never synced, gitbus's bus home in use, a
   * name that looks like a secret), or one that is not a path in the home at all (a hand-edited backup).
   */
  skipped: Skipped[];
  /**
   * Files whose mode in the backup was not permission bits alone (a setuid, setgid or sticky bit, or no mode at all,
   * in a hand-edited backup): restored with the permission bits only, never a wider mode (modes.ts).
   */
  narrowed: NarrowedMode[];
  /** Temp files a killed apply or restore left in the folders restored into, removed (staged.ts). */
  leftovers: string[];
  /** The backup of what a forced restore replaced. */
  backup: string | null;
}

/**
 * Puts the files of a backup back: `id`, or the newest not restored yet. A file changed since apply wrote it is
 * not clobbered without `force` (and with it, what is there is backed up first).
 */
export function restoreBackup(home: string, userHome: string, node: string, id: string | undefined, opts: { force?: boolean; now?: Date } = {}): RestoreResult {
  const all = listBackups(home);
  const m = id === undefined ? [...all].reverse().find((b) => !b.restored && b.reason === 'apply') : all.find((b) => b.id === id);
  if (!m) throw new EnvNoBackupError(id ?? null, all.map((b) => b.id));
  const now = opts.now ?? new Date();
  // A backup is this node's file, but one made before apply knew a path as never synced (the bus home in use, moved
  // under the home by GITBUS_HOME), or edited by hand, may name it: a restore writes nothing apply would not.
  const busHome = ownHome(userHome, home).rels;
  const skipped: Skipped[] = [];
  const entries = m.entries.filter((e) => {
    const why = whyNotRestored(e, busHome);
    if (why !== undefined) skipped.push({ target: typeof e.target === 'string' ? e.target : JSON.stringify(e.target) ?? 'an entry without a target', reason: why });
    return why === undefined;
  });
  // A backup none of whose entries may be put back restores nothing: said as such, and not marked restored, so that
  // it is still the one a plain "gitbus env restore" names.
  if (entries.length === 0) throw new EnvNothingRestoredError(m.id, skipped);
  // A linked folder on a file's path is never written through, even with --force. Every file is checked before any
  // is put back: a restore is all or nothing, so a refused one leaves the home as it was, and runs whole once the
  // link is mended (it stopped at that file before, after putting back the ones before it).
  const unsafe = entries.flatMap((e) => {
    const why = linkOnPath(userHome, e.rel);
    return why === undefined ? [] : [`${e.target} (${why})`];
  });
  if (unsafe.length > 0) {
    throw new EnvPathUnsafeError([...new Set(unsafe)].join(', '), 'nothing was restored', `replace the link with the real folder it leads to (or move the files back under the home), then run "gitbus env restore ${m.id}" again`);
  }
  const current = entries.map((e) => ({ e, local: readLocal(userHome, e.rel) }));
  // A folder or link where the file was is never replaced, even with --force.
  const others = current.filter((x) => x.local.kind === 'other' || (x.local.kind === 'file' && x.local.link));
  if (others.length > 0) throw new EnvRestoreConflictError(m.id, others.map((x) => `${x.e.target} (${x.local.kind === 'other' ? x.local.why : 'a symbolic link'} now)`));
  const changed = current.filter((x) => (x.local.kind === 'file' ? sha256Hex(x.local.bytes) : null) !== x.e.written);
  if (changed.length > 0 && !opts.force) throw new EnvRestoreConflictError(m.id, changed.map((x) => x.e.target));
  const leftovers = sweepStaged(userHome, entries.map((e) => e.rel), { now: now.getTime() });
  const safety = new BackupWriter(home, userHome, m.profile, node, now, 'restore');
  const files: RestoreResult['files'] = [];
  const narrowed: NarrowedMode[] = [];
  // Every file is written beside its place first, and only when all are written is each put in place (a rename,
  // which needs no room): a write that fails (a full disk) restores nothing, as a refused link does above, where it
  // used to stop after putting back the files before it.
  const steps: StagedFile[] = [];
  try {
    // Newest change first: a file saved twice in one backup gets its oldest content back (its steps run in order).
    for (const e of [...entries].reverse()) {
      const content = e.backup === null ? null : readFileSync(join(backupsDir(home), m.id, e.backup));
      safety.save(e.target, e.rel, content);
      if (content === null) {
        steps.push({ commit: () => removeLocal(userHome, e.rel), discard: () => undefined });
        files.push({ target: e.target, action: 'removed' });
      } else {
        // A backup gitbus wrote always has the file's mode; one without is given what a new file gets.
        const mode = permissionMode(e.mode ?? 0o644);
        steps.push(stageLocal(userHome, e.rel, content, mode.mode));
        files.push({ target: e.target, action: 'restored' });
        if (mode.was !== undefined) narrowed.push({ target: e.target, mode: mode.was, applied: octal(mode.mode) });
      }
    }
  } catch (err) {
    for (const step of steps) step.discard();
    safety.discard();
    throw asLocalFailure(err, userHome);
  }
  for (const [i, step] of steps.entries()) {
    try {
      step.commit();
    } catch (err) {
      // A rename refused (a file turned into a folder meanwhile): the copies not yet put in place are not left about.
      for (const rest of steps.slice(i)) rest.discard();
      throw asLocalFailure(err, userHome);
    }
  }
  m.restored = now.toISOString();
  writeFileAtomicSync(join(backupsDir(home), m.id, 'manifest.json'), `${JSON.stringify(m, null, 2)}\n`);
  return { id: m.id, profile: m.profile, files: files.reverse(), skipped, narrowed: narrowed.reverse(), leftovers, backup: safety.id };
}

/** Why a backup's entry is not put back, or undefined: the checks apply makes before it writes a file. */
function whyNotRestored(e: BackupEntry, busHome: readonly string[]): string | undefined {
  if (typeof e.target !== 'string' || typeof e.rel !== 'string') return 'the backup\'s entry has no target and path: it is not one gitbus wrote';
  const bad = whyNotTarget(e.target);
  if (bad !== undefined) return `it is not a path in the home folder (${bad})`;
  if (e.rel !== targetRel(e.target)) return `its path ${JSON.stringify(e.rel)} is not its target's: the backup's entry is not one gitbus wrote`;
  if (e.backup !== null && (typeof e.backup !== 'string' || !/^[0-9]{4,}$/.test(e.backup))) return `its copy ${JSON.stringify(e.backup)} is not a file gitbus keeps in a backup`;
  return neverWritten(e.rel, busHome);
}

/** Backups kept at least: the newest this many, and every one younger than BACKUP_KEEP_MS. */
export const BACKUP_KEEP = 50;
export const BACKUP_KEEP_MS = 30 * 24 * 3600_000;

/** Removes backups beyond the newest BACKUP_KEEP that are older than BACKUP_KEEP_MS (an auto profile applies often). */
export function pruneBackups(home: string, now: Date = new Date()): string[] {
  const all = listBackups(home);
  const removed: string[] = [];
  for (const b of all.slice(0, Math.max(0, all.length - BACKUP_KEEP))) {
    const at = Date.parse(b.at);
    if (!Number.isFinite(at) || now.getTime() - at < BACKUP_KEEP_MS) continue;
    rmSync(join(backupsDir(home), b.id), { recursive: true, force: true });
    removed.push(b.id);
  }
  return removed;
}
