import { platform } from 'node:os';
import { ENV_MANIFEST_FORMAT, parseEnvManifest, renderEnvManifest, variantKey, type EnvEntry, type EnvManifest } from '../../schemas/env-manifest.js';
import { ENV_MAX_PROFILE_BYTES, ENV_OS, neverSynced, targetRel } from '../../schemas/env-paths.js';
import { ENV_FOLDER, envManifestPath } from '../../schemas/signature-layout.js';
import { transact } from '../cas.js';
import type { BusContext } from '../context.js';
import type { FileChange } from '../store/objects.js';
import type { BusFileSigner } from '../trust/dispatch-signing.js';
import { readSidecars } from '../trust/file-signatures.js';
import { sidecarPathFor } from '../trust/messages.js';
import { EnvCaptureConflictError, EnvCaptureUnverifiedError, EnvSecretError, EnvTargetRefusedError, type SecretHit } from './errors.js';
import { keysHash, sha256Hex } from './hash.js';
import { parseJsonObject } from './json-merge.js';
import { localKind, ownHome, reachesOwnHome } from './local.js';
import { readProfile } from './profile.js';
import { profileVerdict, staleReason } from './trust.js';
import { chooseEntries, fileMerge, type Skipped } from './resolve.js';
import { captureDecision, captureRemoves } from './states.js';
import { knowsTarget, laterUpdated, readState, writeState } from './state-store.js';
import { asTarget, entryFor, keysTo } from './capture-entries.js';
import { keysCommand, targetWord } from './hint-commands.js';
import { takeEntry, utf8, type Taken } from './capture-take.js';
import { instantMs } from '../../schemas/timestamp.js';

/**
 * `gitbus env capture PROFILE`: this machine's files into the profile on the bus, in one commit through the
 * compare-and-swap, the manifest signed in the same commit when a key is configured. What looks like a secret is
 * refused (by name and by content), and what is never synced is left out, whatever was asked.
 */

/**
 * What a new profile holds when no --add is given: seed 000's tw-env-sync, where this machine has them, but its
 * ~/.gitconfig (NOT_DEFAULT_TARGETS).
 */
export const DEFAULT_TARGETS: readonly string[] = ['~/.claude/CLAUDE.md', '~/.claude/commands', '~/.claude/agents', '~/.claude/skills', '~/.claude/settings.json', '~/.zshrc'];

/**
 * Files seed 000 synced that a new profile leaves out, each with why: taken for every node, one machine's git
 * identity would become every node's, and each node's own would be a conflict for good. A first capture names them
 * with the two ways to add one (shared, or this node's own with --variant node).
 */
export const NOT_DEFAULT_TARGETS: readonly { target: string; why: string }[] = [
  { target: '~/.gitconfig', why: "it holds this machine's git identity (user.name, user.email, a signing key), which every node would get and each node with its own would have as a conflict" },
];

/**
 * Top-level keys of this machine's file merged by keys that the profile does not manage: only the keys its entry
 * lists are taken (those of the first capture, or --keys), so a key added to settings.json since would never reach
 * another node unseen.
 */
export interface KeysLeftOut {
  target: string;
  /** This machine's keys the capture left out (never those naming its own folders: LOCAL_ONLY_SETTINGS_KEYS). */
  keys: string[];
  /** The keys the profile manages. */
  managed: string[];
  /** The capture that adds them (--keys with the whole list); absent for a folder entry, or a key --keys cannot name. */
  command?: string;
  /** Set when the file is in this folder entry, which has no --keys. */
  folder?: string;
}

/** A file of NOT_DEFAULT_TARGETS this machine has, left out of a new profile, and the commands that add it. */
export interface NotInDefault {
  target: string;
  why: string;
  /** The capture that gives every node this machine's copy. */
  share: string;
  /** The capture that keeps this machine's copy for this node alone. */
  own: string;
}

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
  /** Keys of this machine's files merged by keys that the profile does not manage, left out. */
  keysLeftOut: KeysLeftOut[];
  /** Made without --add: the files it left out although this machine has them (NOT_DEFAULT_TARGETS). */
  notInDefault: NotInDefault[];
  /**
   * Why the profile on the bus is older than the one this node last synced (an older signed profile put back), when
   * it is: then `newer` lists files of that older profile, not newer ones, and `--rebuild` signs this node's copy.
   */
  stale?: string;
  signed: boolean;
  commit: string | null;
}

export async function captureProfile(ctx: BusContext, userHome: string, opts: CaptureOptions, signer: BusFileSigner | undefined): Promise<CaptureResult> {
  const node = ctx.config.node;
  const os = platform();
  const now = opts.now ?? new Date();
  const cwd = opts.cwd ?? process.cwd();
  const own = ownHome(userHome, ctx.paths.home);
  const added = opts.add.map((p) => asTarget(p, userHome, cwd, own));
  if (opts.variant === 'os' && !(ENV_OS as readonly string[]).includes(os)) throw new EnvTargetRefusedError(added[0] ?? '~', `this system (${os}) cannot be named in a profile`, `profiles name ${ENV_OS.join(', ')}; capture without --variant os`);
  const manifestPath = envManifestPath(opts.profile);
  const base = `${ENV_FOLDER}/${opts.profile}/files`;
  let taken: Taken[] = [];
  let removed: string[] = [];
  let updated: string | undefined;
  let notInDefault: NotInDefault[] = [];
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
    notInDefault = added.length > 0 || old ? [] : NOT_DEFAULT_TARGETS.filter((n) => localKind(userHome, targetRel(n.target)) !== 'missing').map((n) => ({ ...n, share: `gitbus env capture ${opts.profile} --add ${targetWord(n.target)}`, own: `gitbus env capture ${opts.profile} --add ${targetWord(n.target)} --variant node` }));
    if (targets.length === 0 && !old) throw new EnvTargetRefusedError('~', `none of ${DEFAULT_TARGETS.join(', ')} is on this machine`, 'name what to capture with --add PATH');
    const toTake: EnvEntry[] = [];
    const addedEntries = new Set<EnvEntry>();
    // Without --variant, a path is captured again into the entry that applies to this node (its node's or its
    // system's variant, where it has one), as a capture without --add takes them: a default entry made beside it
    // would put this machine's file on every other node.
    const applying = opts.variant === undefined ? chooseEntries({ format: ENV_MANIFEST_FORMAT, entries, files: {} }, { node, platform: os }).chosen : [];
    for (const target of targets) {
      const variant = { ...(opts.variant === 'os' ? { os: [os as 'linux'] } : {}), ...(opts.variant === 'node' ? { nodes: [node] } : {}) };
      const here = applying.find((c) => c.entry.target === target);
      const at = here ? here.index : entries.findIndex((e) => e.target === target && variantKey(e) === variantKey(variant));
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
    const keysLeftOut: KeysLeftOut[] = [];
    const ownable: string[] = [];
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
      const never = neverSynced(targetRel(entry.target), own.rels) ?? reachesOwnHome(userHome, targetRel(entry.target), own);
      if (never !== undefined) {
        skipped.push({ target: entry.target, reason: `never synced: ${never}` });
        continue;
      }
      const got = takeEntry(entry, userHome, hits, skipped, busKeys, own);
      if (got === null) {
        kept.push(entry.target);
        continue;
      }
      for (const t of got) {
        if (t.keys && t.keys.unmanaged.length > 0) {
          const folder = (entry.kind ?? 'file') === 'dir' ? entry.target : undefined;
          const command = folder === undefined ? keysCommand(opts.profile, entry.target, [...t.keys.managed, ...t.keys.unmanaged]) : undefined;
          keysLeftOut.push({ target: t.target, keys: t.keys.unmanaged, managed: t.keys.managed, ...(command !== undefined ? { command } : {}), ...(folder !== undefined ? { folder } : {}) });
        }
        const d = captureDecision(busHash(t.source, fileMerge(entry, targetRel(t.target))), t.synced.hash, state.files[t.target]?.hash, Boolean(opts.force));
        // Rebuilding, the bus's newer bytes are not verified: this machine's, which are what it last synced, are.
        if (d === 'take' || (d === 'keep-bus' && rebuilding)) taken.push(t);
        else (d === 'conflict' ? conflicts : newer).push(t.target);
        if (d === 'conflict' && (entry.kind ?? 'file') === 'file' && entry.nodes === undefined) ownable.push(t.target);
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
    if (conflicts.length > 0) throw new EnvCaptureConflictError(opts.profile, conflicts, ownable);
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
    const result: Omit<CaptureResult, 'profile' | 'commit' | 'notInDefault'> = { files: taken.map((t) => capturedFile(t, old?.files[t.source], files[t.source])), removed, newer, kept, notTaken, skipped, dropped, leftOut, keysLeftOut, repaired: broken !== null, signed: false };
    if (unchanged) {
      if (trusted) updated = old?.updated;
      // Nothing written on a rolled-back profile: said, where this node can sign the newer one (--rebuild) that ends it.
      return { result: { ...result, ...(stale !== undefined && signer ? { stale } : {}) } };
    }
    if (unvouched.length > 0 && !opts.rebuild) throw new EnvCaptureUnverifiedError(opts.profile, unvouched, distrust);
    updated = manifest.updated;
    const text = renderEnvManifest(manifest);
    // Nodes check a manifest as untrusted input; one they would refuse (two --add paths one inside the other) is never
    // written: it would stop the profile on every node, and the next capture would write it again.
    const check = parseEnvManifest(manifestPath, Buffer.from(text, 'utf8'), opts.profile);
    if (!check.ok) {
      const first = check.problems[0];
      throw new EnvTargetRefusedError(opts.profile, `the profile would be invalid on every node: ${first ? `${first.field ? `${first.field}: ` : ''}${first.reason}` : 'its manifest does not parse'}`, first?.fix ?? 'capture fewer paths');
    }
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
  return { profile: opts.profile, files: r.files, removed: r.removed, newer: r.newer, kept: r.kept, notTaken: r.notTaken, skipped: r.skipped, dropped: r.dropped, leftOut: r.leftOut, keysLeftOut: r.keysLeftOut, repaired: r.repaired, notInDefault, signed: r.signed, ...(r.stale !== undefined ? { stale: r.stale } : {}), commit: r.commit };
}

/** A millisecond after a manifest time, or undefined. */
function after(updated: string | undefined): string | undefined {
  if (updated === undefined) return undefined;
  const ms = instantMs(updated);
  return Number.isFinite(ms) ? new Date(ms + 1).toISOString() : undefined;
}

/** How one taken file compares with the profile's entry for it before the capture. */
function capturedFile(t: { target: string; source: string }, before: { sha256: string; executable?: boolean } | undefined, after: { sha256: string; executable?: boolean } | undefined): CapturedFile {
  const content = before?.sha256 !== after?.sha256;
  const mode = Boolean(before?.executable) !== Boolean(after?.executable);
  return { target: t.target, source: t.source, changed: content || mode, ...(!content && mode ? { executable: Boolean(after?.executable) } : {}) };
}
