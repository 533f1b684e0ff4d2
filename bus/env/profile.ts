import type { FileProblem } from '../../schemas/errors.js';
import { parseEnvManifest, type EnvManifest } from '../../schemas/env-manifest.js';
import { ENV_MAX_DEPTH, ENV_MAX_FILE_BYTES, ENV_MAX_FILES, ENV_MAX_PROFILE_BYTES, ENV_PROFILE_RE, targetRel, whyNotSegment } from '../../schemas/env-paths.js';
import { ENV_FOLDER, ENV_MANIFEST_NAME, envManifestPath } from '../../schemas/signature-layout.js';
import type { ObjectStore, TreeEntry } from '../store/objects.js';
import { sha256Hex } from './hash.js';
import { parseJsonObject } from './json-merge.js';
import { fileMerge } from './resolve.js';
import { decodeUtf8 } from '../../schemas/utf8.js';


/**
 * A profile read from one commit of main and checked as untrusted input: the manifest's schema and rules, every
 * file it lists present with exactly the SHA-256 and size it names (so a signature over the manifest covers the
 * files), regular files only (links and submodules refused), sizes and counts capped.
 */

export interface EnvProfile {
  name: string;
  /** `env/<profile>/manifest.yaml`. */
  manifestPath: string;
  manifestBytes: Uint8Array;
  manifest: EnvManifest;
  /** The tree of `env/<profile>/`: equal oids, equal profiles. */
  treeOid: string;
  /** Each listed file's content, by its path under files/ (checked against the manifest). */
  contents: Map<string, Uint8Array>;
  /** Files under files/ the manifest does not list (ignored), and the manifest's warnings. */
  warnings: FileProblem[];
  /** Every file under files/, listed or not. */
  present: string[];
}

/**
 * An unusable profile still says what capture needs to write a good one over it: its manifest when that parses, the
 * files that match it, and every file the tree has (to remove what no longer belongs).
 */
export interface BrokenProfile {
  found: true;
  ok: false;
  problems: FileProblem[];
  treeOid: string;
  manifest: EnvManifest | null;
  /** The manifest's bytes when it parsed (capture checks its signature before reusing it). */
  manifestBytes: Uint8Array | null;
  verified: Set<string>;
  present: string[];
}

export type ProfileRead = { found: false } | BrokenProfile | { found: true; ok: true; profile: EnvProfile };

/**
 * What a profile is read from: a Snapshot of main, or a tree built from a listing (`gitbus lint PATH` and the
 * pre-commit hook: a checkout on disk, the index being committed; lint-env-files.ts).
 */
export interface EnvTrees {
  readonly commit: string | null;
  readonly store: Pick<ObjectStore, 'readTree' | 'readBlob' | 'readBlobUpTo' | 'readCommitTree'>;
}

const problem = (path: string, reason: string, fix: string, severity: 'error' | 'warning' = 'error'): FileProblem => ({ path, field: '', reason, fix, severity });
/** The fix for a profile whose files and manifest do not match, naming the profile. */
const recapture = (name: string) => `capture the profile again with "gitbus env capture ${name}" (it writes the manifest and files together)`;

/** The root tree entries of a snapshot's commit (cached by oid in the store). */
async function rootEntries(snap: EnvTrees): Promise<TreeEntry[]> {
  return snap.commit ? snap.store.readTree(await snap.store.readCommitTree(snap.commit)) : [];
}

/** The oid of `env/` in the snapshot, or null: a watcher compares it between wakes to see whether any profile changed. */
export async function envTreeOid(snap: EnvTrees): Promise<string | null> {
  const e = (await rootEntries(snap)).find((x) => x.path === ENV_FOLDER);
  return e?.type === 'tree' ? e.oid : null;
}

/** The profiles on the bus: folders of env/ with a profile's name. */
export async function listProfiles(snap: EnvTrees): Promise<string[]> {
  const env = await envTreeOid(snap);
  if (!env) return [];
  return (await snap.store.readTree(env)).filter((e) => e.type === 'tree' && ENV_PROFILE_RE.test(e.path)).map((e) => e.path).sort();
}

/** Every blob under a tree, by path, refusing links, submodules and depth; problems collected. */
async function walkFiles(store: EnvTrees['store'], oid: string, prefix: string, at: string, out: Map<string, string>, problems: FileProblem[], depth: number, again: string): Promise<void> {
  for (const e of await store.readTree(oid)) {
    const rel = prefix ? `${prefix}/${e.path}` : e.path;
    const path = `${at}/${rel}`;
    const bad = whyNotSegment(e.path);
    if (bad !== undefined) problems.push(problem(path, `the name is not allowed: ${bad}`, again));
    else if (e.mode === '120000') problems.push(problem(path, 'it is a symbolic link; profiles hold regular files only', again));
    else if (e.type === 'commit') problems.push(problem(path, 'it is a submodule; profiles hold regular files only', again));
    else if (e.type === 'tree') {
      if (depth >= ENV_MAX_DEPTH + 4) problems.push(problem(path, 'folders are nested too deep', again));
      else await walkFiles(store, e.oid, rel, at, out, problems, depth + 1, again);
    } else out.set(rel, e.oid);
    if (out.size > ENV_MAX_FILES + 1 || problems.length > 50) return;
  }
}

/** Reads by profile name and tree oid: a watcher looks at its profiles every wake, and they rarely change. */
const cache = new Map<string, ProfileRead>();

export async function readProfile(snap: EnvTrees, name: string): Promise<ProfileRead> {
  const env = await envTreeOid(snap);
  const dir = env ? (await snap.store.readTree(env)).find((e) => e.path === name) : undefined;
  if (!dir || dir.type !== 'tree') return { found: false };
  const key = `${name}\0${dir.oid}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const read = await readProfileTree(snap, name, dir.oid);
  if (cache.size >= 32) cache.clear();
  cache.set(key, read);
  return read;
}

async function readProfileTree(snap: EnvTrees, name: string, treeOid: string): Promise<ProfileRead> {
  const manifestPath = envManifestPath(name);
  const at = `${ENV_FOLDER}/${name}/files`;
  const again = recapture(name);
  const entries = await snap.store.readTree(treeOid);
  const problems: FileProblem[] = [];
  const warnings: FileProblem[] = [];
  for (const e of entries) {
    if (e.path !== ENV_MANIFEST_NAME && e.path !== 'files') warnings.push(problem(`${ENV_FOLDER}/${name}/${e.path}`, 'not part of a profile (manifest.yaml and files/ are)', 'remove it; it is ignored', 'warning'));
  }
  const filesDir = entries.find((e) => e.path === 'files');
  const blobs = new Map<string, string>();
  if (filesDir && filesDir.type === 'tree') await walkFiles(snap.store, filesDir.oid, '', at, blobs, problems, 0, again);
  else if (filesDir) problems.push(problem(at, 'files must be a folder', again));
  if (blobs.size > ENV_MAX_FILES) problems.push(problem(at, `more than ${ENV_MAX_FILES} files`, 'split the profile'));
  const present = [...blobs.keys()];
  const verified = new Set<string>();
  let manifestBytes: Uint8Array | null = null;
  const fail = (more: FileProblem[], manifest: EnvManifest | null = null): ProfileRead => ({ found: true, ok: false, problems: [...more, ...problems], treeOid, manifest, manifestBytes: manifest ? manifestBytes : null, verified, present });
  const m = entries.find((e) => e.path === ENV_MANIFEST_NAME);
  if (!m) return fail([problem(manifestPath, 'the profile has no manifest.yaml', again)]);
  if (m.type !== 'blob' || m.mode === '120000') return fail([problem(manifestPath, 'manifest.yaml must be a regular file', again)]);
  // Another node's blob: above the limit it is not read (one over the object cap would stop every read of env/).
  const manifestRead = await snap.store.readBlobUpTo(m.oid, 1024 * 1024);
  if (typeof manifestRead === 'number') return fail([problem(manifestPath, `the manifest is ${manifestRead} bytes, more than 1 MiB`, again)]);
  manifestBytes = manifestRead;
  const parsed = parseEnvManifest(manifestPath, manifestBytes, name);
  if (!parsed.ok) return fail(parsed.problems);
  const manifest = parsed.manifest;
  warnings.push(...parsed.warnings);
  const contents = new Map<string, Uint8Array>();
  let total = 0;
  for (const [source, file] of Object.entries(manifest.files)) {
    const oid = blobs.get(source);
    if (oid === undefined) {
      problems.push(problem(`${at}/${source}`, 'the manifest lists this file but the profile does not have it', again));
      continue;
    }
    const read = await snap.store.readBlobUpTo(oid, ENV_MAX_FILE_BYTES);
    const size = typeof read === 'number' ? read : read.byteLength;
    total += size;
    if (typeof read === 'number' || total > ENV_MAX_PROFILE_BYTES) {
      problems.push(problem(`${at}/${source}`, `too large (${size} bytes; a file may have ${ENV_MAX_FILE_BYTES}, a profile ${ENV_MAX_PROFILE_BYTES})`, 'leave large files out of the profile'));
      break;
    }
    const bytes = read;
    if (bytes.byteLength !== file.size || sha256Hex(bytes) !== file.sha256) {
      problems.push(problem(`${at}/${source}`, 'its content is not what the manifest names (SHA-256 or size differ): it changed after the manifest was written', again));
      continue;
    }
    verified.add(source);
    contents.set(source, bytes);
  }
  // A file merged by keys must be a JSON object a node can merge: checked here so that lint and every node say so.
  for (const [i, e] of manifest.entries.entries()) {
    const dir = (e.kind ?? 'file') === 'dir';
    for (const [source, bytes] of contents) {
      const rest = source === e.source && !dir ? '' : dir && source.startsWith(`${e.source}/`) ? source.slice(e.source.length + 1) : undefined;
      if (rest === undefined || fileMerge(e, targetRel(rest === '' ? e.target : `${e.target}/${rest}`)) !== 'json') continue;
      const parsed = parseJsonObject(decodeUtf8(bytes));
      if (!parsed.ok) problems.push({ path: `${at}/${source}`, field: dir ? `entries.${i}` : `entries.${i}.merge`, reason: `${dir ? 'a folder entry merges Claude Code\'s settings.json by JSON keys' : 'the entry merges it by JSON keys'}, but it is ${parsed.reason}`, fix: dir ? 'capture it again from a valid settings file' : 'capture it again from a valid settings file, or remove merge: json from the entry', severity: 'error' });
    }
  }
  for (const source of blobs.keys()) {
    if (!Object.hasOwn(manifest.files, source)) warnings.push(problem(`${at}/${source}`, 'the manifest does not list this file; it is ignored', 'remove it, or capture the profile again', 'warning'));
  }
  if (problems.length > 0) return fail([], manifest);
  return { found: true, ok: true, profile: { name, manifestPath, manifestBytes: manifestBytes, manifest, treeOid, contents, warnings, present } };
}
