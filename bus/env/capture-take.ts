import { ENV_MAX_FILE_BYTES, ENV_MAX_FILES, secretName, targetRel, whyNotSource, whyNotTarget } from '../../schemas/env-paths.js';
import type { EnvEntry } from '../../schemas/env-manifest.js';
import { EnvTargetRefusedError, type SecretHit } from './errors.js';
import { keysHash, sha256Hex } from './hash.js';
import { parseJsonObject, pickKeys, renderJson } from './json-merge.js';
import { localKind, reachesOwnHome, readLocal, walkLocalDir, type OwnHome } from './local.js';
import { fileMerge, type Skipped } from './resolve.js';
import { scanSecrets } from './secrets.js';
import type { SyncedFile } from './state-store.js';
import { decodeUtf8 } from '../../schemas/utf8.js';

/**
 * What `gitbus env capture` reads of this machine for one entry (bus/env/capture.ts): a file, or a folder's files
 * walked with what is never synced skipped, each refused when it looks like a secret, and Claude Code's
 * settings.json cut down to the keys the profile manages.
 */

/**
 * Keys of Claude Code's settings.json left out of a new entry unless --keys names them: the marketplaces name folders
 * of one machine (`gitbus setup claude`'s), and the plugins they enable go with them.
 */
export const LOCAL_ONLY_SETTINGS_KEYS: readonly string[] = ['extraKnownMarketplaces', 'additionalMarketplaces', 'enabledPlugins'];
export interface Taken {
  target: string;
  source: string;
  bytes: Uint8Array;
  executable: boolean;
  /** What state.json records for it. */
  synced: Omit<SyncedFile, 'at'>;
  /**
   * For a file merged by keys: the keys the profile manages, and this machine's top-level keys it does not (but those
   * naming this machine's folders), which the capture leaves out.
   */
  keys?: { managed: string[]; unmanaged: string[] };
}

export const utf8 = { decode: decodeUtf8 };

/**
 * Reads one entry's files from this machine; secrets found are collected in `hits`. `busKeys` gives the keys the
 * bus's copy of a file merged by keys has (by source), the list an entry without `keys` manages.
 */
export function takeEntry(entry: EnvEntry, userHome: string, hits: SecretHit[], skipped: Skipped[], busKeys: (source: string) => string[] | undefined, own: OwnHome): Taken[] | null {
  const rel = targetRel(entry.target);
  const kind = localKind(userHome, rel);
  if (kind === 'missing') return null;
  const out: Taken[] = [];
  const takeFile = (fileRel: string, source: string, inFolder: boolean) => {
    const target = `~/${fileRel}`;
    // A path a manifest may not hold (too deep or too long once under files/home/): taken, no node could use the
    // profile. In a folder it is left out as a file too large is; named alone, it is refused.
    const badPath = whyNotTarget(target) ?? whyNotSource(source);
    if (badPath !== undefined) {
      if (inFolder) {
        skipped.push({ target, reason: `its path cannot be kept in a profile (${badPath}): left out of the profile` });
        return;
      }
      throw new EnvTargetRefusedError(target, `its path cannot be kept in a profile: ${badPath}`, 'move it where its path is shorter and less deep, or leave it out of the profile');
    }
    // A link leading into gitbus's bus home in use: its node.yaml, state and keys are this machine's.
    const intoOwn = reachesOwnHome(userHome, fileRel, own);
    if (intoOwn !== undefined) {
      if (inFolder) {
        skipped.push({ target, reason: `never synced: ${intoOwn}` });
        return;
      }
      throw new EnvTargetRefusedError(target, `it is never synced: ${intoOwn}`, 'leave it out of the profile');
    }
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
    let keyLists: Taken['keys'];
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
      keyLists = { managed: keys, unmanaged: Object.keys(parsed.value).filter((k) => !keys.includes(k) && !LOCAL_ONLY_SETTINGS_KEYS.includes(k)) };
    }
    for (const f of scanSecrets(utf8.decode(bytes))) hits.push({ target, line: json ? 0 : f.line, what: json ? `${f.what}, in the keys the profile takes` : f.what });
    out.push({ target, source, bytes, executable: (local.mode & 0o111) !== 0, synced, ...(keyLists ? { keys: keyLists } : {}) });
  };
  if ((entry.kind ?? 'file') === 'file') {
    if (kind !== 'file') throw new EnvTargetRefusedError(entry.target, `the profile has it as a file, but here it is ${kind === 'dir' ? 'a folder' : 'not a regular file'}`, 'make it a file again, or remove the entry from the profile');
    takeFile(rel, entry.source, false);
  } else {
    if (kind !== 'dir') throw new EnvTargetRefusedError(entry.target, 'the profile has it as a folder, but here it is not one', 'make it a folder again, or remove the entry from the profile');
    const walked = walkLocalDir(userHome, rel, own.rels);
    skipped.push(...walked.skipped);
    if (walked.files.length > ENV_MAX_FILES) throw new EnvTargetRefusedError(entry.target, `it holds ${walked.files.length} files, more than ${ENV_MAX_FILES}`, 'capture a smaller folder');
    for (const f of walked.files) takeFile(f, `${entry.source}/${f.slice(rel.length + 1)}`, true);
  }
  return out;
}

/** The top-level keys of this machine's JSON file at `rel`, but those that name its own folders; undefined when it does not parse. */
export function localKeys(userHome: string, rel: string): string[] | undefined {
  const local = readLocal(userHome, rel);
  if (local.kind !== 'file') return undefined;
  const parsed = parseJsonObject(utf8.decode(local.bytes));
  return parsed.ok ? Object.keys(parsed.value).filter((k) => !LOCAL_ONLY_SETTINGS_KEYS.includes(k)) : undefined;
}
