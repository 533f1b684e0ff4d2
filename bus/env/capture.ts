import { platform } from 'node:os';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ENV_MANIFEST_FORMAT, renderEnvManifest, variantKey, type EnvEntry, type EnvManifest } from '../../schemas/env-manifest.js';
import { ENV_MAX_FILE_BYTES, ENV_MAX_FILES, ENV_MAX_PROFILE_BYTES, ENV_OS, neverSynced, secretName, TARGET_RULE, targetRel, whyNotTarget } from '../../schemas/env-paths.js';
import { ENV_FOLDER, envManifestPath } from '../../schemas/signature-layout.js';
import { transact } from '../cas.js';
import type { BusContext } from '../context.js';
import type { FileChange } from '../store/objects.js';
import type { BusFileSigner } from '../trust/dispatch-signing.js';
import { readSidecars } from '../trust/file-signatures.js';
import { sidecarPathFor } from '../trust/messages.js';
import { InputError } from '../errors.js';
import { EnvCaptureConflictError, EnvCaptureUnverifiedError, EnvSecretError, EnvTargetRefusedError, type SecretHit } from './errors.js';
import { keysHash, sha256Hex } from './hash.js';
import { parseJsonObject, pickKeys, renderJson } from './json-merge.js';
import { localKind, readLocal, walkLocalDir } from './local.js';
import { readProfile } from './profile.js';
import { profileVerdict, staleReason } from './trust.js';
import { chooseEntries, fileMerge, JSON_MERGED, type Skipped } from './resolve.js';
import { captureDecision, captureRemoves } from './states.js';
import { scanSecrets } from './secrets.js';
import { knowsTarget, laterUpdated, readState, writeState, type SyncedFile } from './state-store.js';

/**
 * `gitbus env capture PROFILE`: this machine's files into the profile on the bus, in one commit through the
 * compare-and-swap, the manifest signed in the same commit when a key is configured. What looks like a secret is
 * refused (by name and by content), and what is never synced is left out, whatever was asked.
 */

/**
 * Keys of Claude Code's settings.json left out of a new entry unless --keys names them: the marketplaces name folders
 * of one machine (`gitbus setup claude`'s), and the plugins they enable go with them.
 */
export const LOCAL_ONLY_SETTINGS_KEYS: readonly string[] = ['extraKnownMarketplaces', 'additionalMarketplaces', 'enabledPlugins'];
/** What a new profile holds when no --add is given: seed 000's tw-env-sync, where this machine has them. */
export const DEFAULT_TARGETS: readonly string[] = ['~/.claude/CLAUDE.md', '~/.claude/commands', '~/.claude/agents', '~/.claude/skills', '~/.claude/settings.json', '~/.zshrc', '~/.gitconfig'];

export interface CaptureOptions {
  profile: string;
  /** Paths to add (or capture again) as entries: `~/…`, absolute inside the home, or relative to `cwd`. */
  add: string[];
  /** Put the added entries in this node's or this system's variant, not the default one. */
  variant?: 'node' | 'os';
  /** For added files merged by keys: the top-level keys to manage. */
  keys?: string[];
  description?: string;
  /** Take this machine's files even where the bus changed since this node last synced (a conflict otherwise). */
  force?: boolean;
  /**
   * A signed capture of a profile holding what this node cannot vouch for (refused otherwise): leave that out, and
   * sign only what this node captured or applied itself and what --add names.
   */
  rebuild?: boolean;
  cwd?: string;
  now?: Date;
}

export interface CapturedFile {
  target: string;
  source: string;
  /** Its content or its executable bit differs from what the profile had. */
  changed: boolean;
  /** Set when only the executable bit changed: what it is now. */
  executable?: boolean;
}

export interface CaptureResult {
  profile: string;
  /** The files taken from this machine. */
  files: CapturedFile[];
  /** Files of folder entries this machine deleted since it last synced them: removed from the profile. */
  removed: string[];
  /** Files the bus has newer than this machine (changed on the bus, not here since the last sync): left as the bus has them. */
  newer: string[];
  /** Entries whose file is not on this machine: the bus keeps its copy. */
  kept: string[];
  /** Entries this node never captured nor applied (not in its state.json): not read here, left as the bus has them. */
  notTaken: string[];
  skipped: Skipped[];
  /** Entries left out because their file is neither on the bus nor here (a damaged profile). */
  dropped: string[];
  /** With --rebuild: entries and files left out because this node could not vouch for them. */
  leftOut: string[];
  /** The profile on the bus could not be used and was written over. */
  repaired: boolean;
  signed: boolean;
  commit: string | null;
}

/** `~/x`, `/home/me/x` or `x` (from `cwd`) as a target `~/x`, or the reason it cannot be one. */
export function asTarget(path: string, userHome: string, cwd: string): string {
  let rel: string;
  if (path === '~' || path.startsWith('~/')) rel = path.slice(2);
  else {
    const abs = isAbsolute(path) ? resolve(path) : resolve(cwd, path);
    rel = relative(resolve(userHome), abs);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new EnvTargetRefusedError(path, `it is not inside the home folder ${userHome}`, `profiles hold files of the home folder only: ${TARGET_RULE}`);
    rel = rel.split(sep).join('/');
  }
  const target = `~/${rel.replace(/\/+$/, '')}`;
  const why = whyNotTarget(target);
  if (why !== undefined) throw new EnvTargetRefusedError(path, `not a target: ${why}`, `write ${TARGET_RULE}`);
  const never = neverSynced(targetRel(target));
  if (never !== undefined) throw new EnvTargetRefusedError(target, `it is never synced: ${never}`, 'leave it out of the profile');
  return target;
}

function sourceFor(target: string, variant: CaptureOptions['variant'], node: string, os: string): string {
  const rel = targetRel(target);
  return variant === 'node' ? `node/${node}/${rel}` : variant === 'os' ? `os/${os}/${rel}` : `home/${rel}`;
}

interface Taken {
  target: string;
  source: string;
  bytes: Uint8Array;
  executable: boolean;
  /** What state.json records for it. */
  synced: Omit<SyncedFile, 'at'>;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Reads one entry's files from this machine; secrets found are collected in `hits`. `busKeys` gives the keys the
 * bus's copy of a file merged by keys has (by source), the list an entry without `keys` manages.
 */
function takeEntry(entry: EnvEntry, userHome: string, hits: SecretHit[], skipped: Skipped[], busKeys: (source: string) => string[] | undefined): Taken[] | null {
  const rel = targetRel(entry.target);
  const kind = localKind(userHome, rel);
  if (kind === 'missing') return null;
  const out: Taken[] = [];
  const takeFile = (fileRel: string, source: string, inFolder: boolean) => {
    const target = `~/${fileRel}`;
    const local = readLocal(userHome, fileRel);
    // Too large is told apart from not a file: in a folder such a file is left out as what is never synced is; named
    // alone, the fix is to leave it out.
    const size = local.kind === 'other' ? local.size : local.kind === 'file' ? local.bytes.byteLength : undefined;
    if (size !== undefined && size > ENV_MAX_FILE_BYTES) {
      if (inFolder) {
        skipped.push({ target, reason: `too large (${size} bytes; a profile's file is at most ${ENV_MAX_FILE_BYTES}): left out of the profile` });
        return;
      }
      throw new EnvTargetRefusedError(target, `it is ${size} bytes; a profile's file is at most ${ENV_MAX_FILE_BYTES}`, 'leave it out of the profile');
    }
    if (local.kind !== 'file') throw new EnvTargetRefusedError(target, `it is ${local.kind === 'other' ? local.why : 'missing'}`, 'capture regular files and folders');
    const name = fileRel.slice(fileRel.lastIndexOf('/') + 1);
    const byName = secretName(name);
    if (byName !== undefined) {
      hits.push({ target, line: 0, what: byName });
      return;
    }
    let bytes: Uint8Array = local.bytes;
    let synced: Omit<SyncedFile, 'at'> = { hash: sha256Hex(local.bytes), executable: (local.mode & 0o111) !== 0 };
    const json = fileMerge(entry, fileRel) === 'json';
    if (json) {
      const parsed = parseJsonObject(utf8.decode(local.bytes));
      if (!parsed.ok) throw new EnvTargetRefusedError(target, `it is ${parsed.reason}`, (entry.kind ?? 'file') === 'dir' ? `fix the file: a folder entry (${entry.target}) merges Claude Code's settings.json by keys` : 'fix the file, or capture it without merge by keys');
      // A folder entry has no --keys: the keys naming one machine's folders are never its (a copy on the bus made
      // before it merged by keys may still have them).
      const fromBus = (entry.kind ?? 'file') === 'dir' ? busKeys(source)?.filter((k) => !LOCAL_ONLY_SETTINGS_KEYS.includes(k)) : busKeys(source);
      const keys = entry.keys ?? fromBus ?? Object.keys(parsed.value).filter((k) => !LOCAL_ONLY_SETTINGS_KEYS.includes(k));
      const picked = pickKeys(parsed.value, keys);
      bytes = Buffer.from(renderJson(picked), 'utf8');
      synced = { hash: keysHash(picked, Object.keys(picked)), keys: Object.keys(picked) };
    }
    for (const f of scanSecrets(utf8.decode(bytes))) hits.push({ target, line: json ? 0 : f.line, what: json ? `${f.what}, in the keys the profile takes` : f.what });
    out.push({ target, source, bytes, executable: (local.mode & 0o111) !== 0, synced });
  };
  if ((entry.kind ?? 'file') === 'file') {
    if (kind !== 'file') throw new EnvTargetRefusedError(entry.target, `the profile has it as a file, but here it is ${kind === 'dir' ? 'a folder' : 'not a regular file'}`, 'make it a file again, or remove the entry from the profile');
    takeFile(rel, entry.source, false);
  } else {
    if (kind !== 'dir') throw new EnvTargetRefusedError(entry.target, 'the profile has it as a folder, but here it is not one', 'make it a folder again, or remove the entry from the profile');
    const walked = walkLocalDir(userHome, rel);
    skipped.push(...walked.skipped);
    if (walked.files.length > ENV_MAX_FILES) throw new EnvTargetRefusedError(entry.target, `it holds ${walked.files.length} files, more than ${ENV_MAX_FILES}`, 'capture a smaller folder');
    for (const f of walked.files) takeFile(f, `${entry.source}/${f.slice(rel.length + 1)}`, true);
  }
  return out;
}

/** The top-level keys of this machine's JSON file at `rel`, but those that name its own folders; undefined when it does not parse. */
function localKeys(userHome: string, rel: string): string[] | undefined {
  const local = readLocal(userHome, rel);
  if (local.kind !== 'file') return undefined;
  const parsed = parseJsonObject(utf8.decode(local.bytes));
  return parsed.ok ? Object.keys(parsed.value).filter((k) => !LOCAL_ONLY_SETTINGS_KEYS.includes(k)) : undefined;
}

/** The entry for a path added with --add: file or folder as it is here, merged by keys for Claude Code's settings. */
function entryFor(target: string, opts: CaptureOptions, userHome: string, node: string, os: string, existing: EnvEntry | undefined): EnvEntry {
  const rel = targetRel(target);
  const kind = localKind(userHome, rel);
  if (kind === 'missing') throw new EnvTargetRefusedError(target, 'there is no such file or folder here', 'give a path that exists on this machine');
  if (kind === 'other') throw new EnvTargetRefusedError(target, 'it is not a regular file or folder', 'capture regular files and folders');
  const json = kind === 'file' && (existing?.merge === 'json' || JSON_MERGED.has(rel));
  // The keys a profile manages are written down when the entry is made (every key of this machine's file but the
  // ones naming its own folders), so that a later capture on another node does not turn that node's keys into the
  // profile's. --keys changes the list.
  const keys = opts.keys ?? existing?.keys ?? (json ? localKeys(userHome, rel) : undefined);
  return {
    source: existing?.source ?? sourceFor(target, opts.variant, node, os),
    target,
    ...(kind === 'dir' ? { kind: 'dir' as const } : {}),
    ...(json ? { merge: 'json' as const } : {}),
    ...(json && keys ? { keys } : {}),
    ...(opts.variant === 'os' ? { os: [os as 'linux'] } : {}),
    ...(opts.variant === 'node' ? { nodes: [node] } : {}),
  };
}

/**
 * Where --keys goes: the added file merged by keys; without --add, the profile's one entry merged by keys (taken
 * again with the new list). Refused where no such file is named, rather than ignored: the user asked for a change.
 */
function keysTo(profile: string, keys: string[], entries: EnvEntry[], added: readonly string[], addedEntries: Set<EnvEntry>, toTake: EnvEntry[]): void {
  const flag = { flag: '--keys', profile };
  if (added.length > 0) {
    if ([...addedEntries].some((e) => e.merge === 'json')) return;
    throw new InputError(`--keys chooses the top-level keys of a file merged by keys, and ${added.join(', ')} ${added.length === 1 ? 'is' : 'are'} written whole`, 'leave --keys out, or give it with --add naming a file merged by keys (~/.claude/settings.json)', flag);
  }
  const json = entries.flatMap((e, i) => (e.merge === 'json' ? [i] : []));
  const only = json.length === 1 ? json[0] : undefined;
  const entry = only === undefined ? undefined : entries[only];
  if (only === undefined || entry === undefined) {
    const names = json.map((i) => entries[i]?.target).join(', ');
    throw new InputError(json.length === 0 ? `--keys chooses the top-level keys of a file merged by keys, and profile ${profile} has none` : `profile ${profile} has ${json.length} files merged by keys (${names}): --keys does not say which`, json.length === 0 ? 'add one with --add ~/.claude/settings.json --keys K,...' : 'name the one with --add PATH --keys K,...', flag);
  }
  const changed: EnvEntry = { ...entry, keys };
  entries[only] = changed;
  const at = toTake.indexOf(entry);
  if (at >= 0) toTake[at] = changed;
  else toTake.push(changed);
  addedEntries.add(changed);
}

export async function captureProfile(ctx: BusContext, userHome: string, opts: CaptureOptions, signer: BusFileSigner | undefined): Promise<CaptureResult> {
  const node = ctx.config.node;
  const os = platform();
  const now = opts.now ?? new Date();
  const cwd = opts.cwd ?? process.cwd();
  const added = opts.add.map((p) => asTarget(p, userHome, cwd));
  if (opts.variant === 'os' && !(ENV_OS as readonly string[]).includes(os)) throw new EnvTargetRefusedError(added[0] ?? '~', `this system (${os}) cannot be named in a profile`, `profiles name ${ENV_OS.join(', ')}; capture without --variant os`);
  const manifestPath = envManifestPath(opts.profile);
  const base = `${ENV_FOLDER}/${opts.profile}/files`;
  let taken: Taken[] = [];
  let removed: string[] = [];
  let updated: string | undefined;
  const r = await transact(ctx, `env capture ${opts.profile}`, async (snap) => {
    const read = await readProfile(snap, opts.profile);
    const state = readState(ctx.paths.home, opts.profile);
    // A profile that cannot be used (damaged, or changed by hand) is written over: from its manifest when that still
    // parses, keeping only the files that match it; else from scratch.
    const broken = read.found && !read.ok ? read : null;
    const old: EnvManifest | null = read.found && read.ok ? read.profile.manifest : broken?.manifest ? { ...broken.manifest, files: Object.fromEntries(Object.entries(broken.manifest.files).filter(([s]) => broken.verified.has(s))) } : null;
    const present = read.found ? (read.ok ? read.profile.present : read.present) : [];
    // What the bus's manifest says is vouched for only when it verifies under the trust root this node enforces and
    // is not older than the one it last applied or captured; else only what this node made itself is (state.json).
    const manifestBytes = read.found ? (read.ok ? read.profile.manifestBytes : read.manifestBytes) : null;
    const verdict = manifestBytes && old ? await profileVerdict(snap, { manifestPath, manifestBytes }, ctx.paths.home, ctx.config, now) : null;
    const stale = verdict ? staleReason(old?.updated, state.updated) : undefined;
    const trusted = verdict?.trusted === true && stale === undefined;
    const distrust = stale ?? (verdict && !verdict.trusted ? verdict.reason : 'this node enforces no trust root, so nothing on the bus is verified');
    const entries = [...(old?.entries ?? [])];
    const targets = added.length > 0 || old ? added : DEFAULT_TARGETS.filter((t) => localKind(userHome, targetRel(t)) !== 'missing');
    if (targets.length === 0 && !old) throw new EnvTargetRefusedError('~', `none of ${DEFAULT_TARGETS.join(', ')} is on this machine`, 'name what to capture with --add PATH');
    const toTake: EnvEntry[] = [];
    const addedEntries = new Set<EnvEntry>();
    for (const target of targets) {
      const variant = { ...(opts.variant === 'os' ? { os: [os as 'linux'] } : {}), ...(opts.variant === 'node' ? { nodes: [node] } : {}) };
      const at = entries.findIndex((e) => e.target === target && variantKey(e) === variantKey(variant));
      const entry = entryFor(target, opts, userHome, node, os, at >= 0 ? entries[at] : undefined);
      if (at >= 0) entries[at] = entry;
      else entries.push(entry);
      toTake.push(entry);
      addedEntries.add(entry);
    }
    if (opts.keys) keysTo(opts.profile, opts.keys, entries, targets, addedEntries, toTake);
    // Without --add, the entries that apply to this node are taken again (its own variant, where it has one), but
    // only those it captured or applied before (its state.json has their files): anyone with push access can add an
    // entry to the manifest, and this machine's files go on the bus only for entries its user asked for.
    const known = (e: EnvEntry) => knowsTarget(state, e.target, e.kind ?? 'file');
    const notTaken: string[] = [];
    if (targets.length === 0) {
      for (const { entry } of chooseEntries({ format: ENV_MANIFEST_FORMAT, entries, files: {} }, { node, platform: os }).chosen) {
        if (addedEntries.has(entry)) continue;
        if (known(entry)) toTake.push(entry);
        else notTaken.push(entry.target);
      }
    }
    const hits: SecretHit[] = [];
    const skipped: Skipped[] = [];
    const kept: string[] = [];
    taken = [];
    removed = [];
    const newer: string[] = [];
    const conflicts: string[] = [];
    const removedSources = new Set<string>();
    // A signed capture of what this node cannot vouch for is refused, or with --rebuild leaves it out.
    const rebuilding = Boolean(signer && opts.rebuild && !trusted);
    const contents = read.found && read.ok ? read.profile.contents : new Map<string, Uint8Array>();
    // The bus's hash of a file as state.json records it: of the content, or of the keys for a file merged by keys.
    const busJson = (source: string) => (contents.has(source) ? parseJsonObject(utf8.decode(contents.get(source) ?? new Uint8Array())) : null);
    const busHash = (source: string, merge: EnvEntry['merge']): string | undefined => {
      const f = old?.files[source];
      if (!f || merge !== 'json') return f?.sha256;
      const j = busJson(source);
      return j?.ok ? keysHash(j.value, Object.keys(j.value)) : f.sha256;
    };
    const busKeys = (source: string): string[] | undefined => {
      const j = busJson(source);
      return j?.ok ? Object.keys(j.value) : undefined;
    };
    for (const entry of toTake) {
      if (neverSynced(targetRel(entry.target)) !== undefined) continue;
      const got = takeEntry(entry, userHome, hits, skipped, busKeys);
      if (got === null) {
        kept.push(entry.target);
        continue;
      }
      for (const t of got) {
        const d = captureDecision(busHash(t.source, fileMerge(entry, targetRel(t.target))), t.synced.hash, state.files[t.target]?.hash, Boolean(opts.force));
        // Rebuilding, the bus's newer bytes are not verified: this machine's, which are what it last synced, are.
        if (d === 'take' || (d === 'keep-bus' && rebuilding)) taken.push(t);
        else (d === 'conflict' ? conflicts : newer).push(t.target);
      }
      if ((entry.kind ?? 'file') !== 'dir') continue;
      const here = new Set(got.map((t) => t.source));
      const prefix = `${entry.source}/`;
      for (const [source, f] of Object.entries(old?.files ?? {})) {
        if (!source.startsWith(prefix) || here.has(source)) continue;
        const target = `${entry.target}/${source.slice(prefix.length)}`;
        if (captureRemoves(f.sha256, state.files[target]?.hash, Boolean(opts.force))) {
          removedSources.add(source);
          removed.push(target);
        } else newer.push(target);
      }
    }
    if (hits.length > 0) throw new EnvSecretError(opts.profile, hits);
    if (conflicts.length > 0) throw new EnvCaptureConflictError(opts.profile, conflicts);
    const files: EnvManifest['files'] = {};
    for (const [source, f] of Object.entries(old?.files ?? {})) if (!removedSources.has(source)) files[source] = f;
    for (const t of taken) files[t.source] = { sha256: sha256Hex(t.bytes), size: t.bytes.byteLength, ...(t.executable ? { executable: true } : {}) };
    // What a signature would vouch for without this node having verified or made it: entries it never captured or
    // applied, and files of the bus whose hash is not the one it last synced.
    const unvouched: string[] = [];
    const unvouchedEntries = new Set<EnvEntry>();
    const unvouchedSources = new Set<string>();
    if (signer && !trusted) {
      const takenSources = new Set(taken.map((t) => t.source));
      for (const e of entries) {
        if (!addedEntries.has(e) && !known(e)) {
          unvouchedEntries.add(e);
          unvouched.push(e.target);
        }
      }
      for (const source of Object.keys(files)) {
        if (takenSources.has(source)) continue;
        const e = entries.find((x) => ((x.kind ?? 'file') === 'file' ? x.source === source : source.startsWith(`${x.source}/`)));
        if (!e || unvouchedEntries.has(e)) continue;
        const target = (e.kind ?? 'file') === 'file' ? e.target : `${e.target}/${source.slice(e.source.length + 1)}`;
        if (state.files[target]?.hash !== busHash(source, fileMerge(e, targetRel(target)))) {
          unvouchedSources.add(source);
          unvouched.push(target);
        }
      }
    }
    if (unvouched.length > 0 && opts.rebuild) {
      entries.splice(0, entries.length, ...entries.filter((e) => !unvouchedEntries.has(e)));
      for (const source of unvouchedSources) delete files[source];
    }
    // Files no entry names any more leave the profile.
    const used = (source: string) => entries.some((e) => ((e.kind ?? 'file') === 'file' ? e.source === source : source.startsWith(`${e.source}/`)));
    for (const source of Object.keys(files)) if (!used(source)) delete files[source];
    // A file entry whose file is neither on the bus nor here cannot stay (only a damaged profile has such).
    const orphan = (e: EnvEntry) => (e.kind ?? 'file') === 'file' && files[e.source] === undefined;
    const dropped = entries.filter(orphan).map((e) => e.target);
    const leftOut = opts.rebuild ? unvouched : [];
    entries.splice(0, entries.length, ...entries.filter((e) => !orphan(e)));
    const total = Object.values(files).reduce((n, f) => n + f.size, 0);
    if (total > ENV_MAX_PROFILE_BYTES) throw new EnvTargetRefusedError(opts.profile, `the profile would hold ${total} bytes, more than ${ENV_MAX_PROFILE_BYTES}`, 'leave large files out, or split the profile');
    const manifest: EnvManifest = {
      format: ENV_MANIFEST_FORMAT,
      ...(opts.description !== undefined ? { description: opts.description } : old?.description !== undefined ? { description: old.description } : {}),
      // Never older than the profile it replaces, whatever this machine's clock says: nodes that enforce a trust root
      // refuse a profile older than the one they last applied (a signed one put back).
      updated: laterUpdated(after(verdict === null || trusted ? old?.updated : state.updated), now.toISOString()) ?? now.toISOString(),
      by: node,
      entries,
      files,
    };
    const timeless = (m: EnvManifest) => renderEnvManifest({ ...m, updated: undefined, by: undefined });
    const rootTree = snap.commit ? await snap.store.readCommitTree(snap.commit) : null;
    const hasSignature = rootTree !== null && (await readSidecars(snap.store, rootTree, manifestPath)).length > 0;
    // Nothing new: no commit (a signing key configured since is a reason to write the signature, though).
    const unchanged = old !== null && !broken && timeless(old) === timeless(manifest) && (!signer || hasSignature);
    const result = { files: taken.map((t) => capturedFile(t, old?.files[t.source], files[t.source])), removed, newer, kept, notTaken, skipped, dropped, leftOut, repaired: broken !== null, signed: false };
    if (unchanged) {
      if (trusted) updated = old?.updated;
      return { result };
    }
    if (unvouched.length > 0 && !opts.rebuild) throw new EnvCaptureUnverifiedError(opts.profile, unvouched, distrust);
    updated = manifest.updated;
    const text = renderEnvManifest(manifest);
    const changes: FileChange[] = [{ path: manifestPath, content: text }];
    for (const t of taken) if (old?.files[t.source]?.sha256 !== files[t.source]?.sha256) changes.push({ path: `${base}/${t.source}`, content: t.bytes });
    for (const source of present) if (files[source] === undefined) changes.push({ path: `${base}/${source}`, content: null });
    const sidecar = sidecarPathFor(manifestPath);
    if (signer) changes.push({ path: sidecar, content: (await signer(manifestPath, text)).content });
    // An old signature would not verify for the new manifest: an unsigned capture removes it.
    else if (hasSignature) changes.push({ path: sidecar, content: null });
    return { result: { ...result, signed: Boolean(signer) }, commit: { changes, message: `gitbus: env ${opts.profile} captured on ${node}` } };
  });
  // What was captured is what this node has: each of those files is in sync here from now on.
  const state = readState(ctx.paths.home, opts.profile);
  for (const t of taken) state.files[t.target] = { ...t.synced, at: now.toISOString() };
  for (const target of removed) delete state.files[target];
  const newest = laterUpdated(state.updated, updated);
  if (newest !== undefined) state.updated = newest;
  writeState(ctx.paths.home, state);
  return { profile: opts.profile, files: r.files, removed: r.removed, newer: r.newer, kept: r.kept, notTaken: r.notTaken, skipped: r.skipped, dropped: r.dropped, leftOut: r.leftOut, repaired: r.repaired, signed: r.signed, commit: r.commit };
}

/** A millisecond after a manifest time, or undefined. */
function after(updated: string | undefined): string | undefined {
  return updated === undefined ? undefined : new Date(Date.parse(updated) + 1).toISOString();
}

/** How one taken file compares with the profile's entry for it before the capture. */
function capturedFile(t: { target: string; source: string }, before: { sha256: string; executable?: boolean } | undefined, after: { sha256: string; executable?: boolean } | undefined): CapturedFile {
  const content = before?.sha256 !== after?.sha256;
  const mode = Boolean(before?.executable) !== Boolean(after?.executable);
  return { target: t.target, source: t.source, changed: content || mode, ...(!content && mode ? { executable: Boolean(after?.executable) } : {}) };
}
