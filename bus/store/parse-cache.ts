import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GITBUS_VERSION } from '../version.js';
import { cacheNames, newestFirst, readCacheFile, removeCacheFile, removeDeadTemps, writeCacheFile } from './cache-files.js';
import { decodeCacheFacts, decodeCacheFile, encodeCacheFile, factsOf, PARSE_CACHE_FORMAT, type CachedEntry, type CachedFacts } from './parse-cache-file.js';
import { joinPlain } from '../join-plain.js';

/**
 * The node's parse cache on disk (docs/ARCHITECTURE.md "The parse cache"): `<clone>/gitbus-cache/parsed/`, one file
 * per live folder and tree oid, `<folder>-<tree>.cache`, holding the parse results of that tree's files. A process
 * that reads a folder whose tree it has no file for starts from the folder's newest file (most entries still
 * match by name and oid) and parses only the rest. Bounded: at most KEEP files per folder, none above MAX_FILE_BYTES,
 * no entry whose body exceeds MAX_BODY_CHARS; each file holds only what its tree lists. Written to a temp file
 * and renamed, so a reader sees a whole file or none; two writers of one tree write the same entries.
 */
export const KEEP_PER_FOLDER = 2;
export const MAX_FILE_BYTES = 32 * 1024 * 1024;
export const MAX_BODY_CHARS = 64 * 1024;
const NAME = /^([a-z]+)-([0-9a-f]{40})\.cache$/;
/** Files of format 2 and before (v8-serialized), which no build reads any more: removed when a folder is pruned. */
const OLD_NAME = /^[a-z]+-[0-9a-f]{40}\.v8$/;
const TEMP = /^\.([a-z]+)-[0-9a-f]{40}\.(\d+)\.[0-9a-z]+\.tmp$/;

export interface ParseCacheDir {
  readonly dir: string;
  /**
   * The entries of `folder` for `tree`, else those of the folder's newest file (`exact: false`), else null. Files
   * named in `seen` are skipped (a process reads each once), and every file read is added to it.
   */
  load(folder: string, tree: string, seen?: Set<string>): { entries: CachedEntry[]; exact: boolean } | null;
  /**
   * Writes `folder`'s file for `tree` (entries over the size bounds are left out), adds it to `seen`, and prunes
   * older files. False when nothing was written (too big, or the folder cannot be written).
   */
  save(folder: string, tree: string, entries: readonly CachedEntry[], seen?: Set<string>): boolean;
  /**
   * The handoff facts of `folder`'s file for `tree`, else of its newest file (entries are valid by name and oid
   * whatever tree listed them), else null. Reads only the facts: what ruling tasks out needs.
   */
  loadFacts(folder: string, tree: string): Map<string, CachedFacts> | null;
}

export interface ParseCacheLimits {
  keep: number;
  maxFileBytes: number;
  maxBodyChars: number;
}

/**
 * This build's identity: a cache file from any other build is ignored. The module's file name is the bundle
 * chunk's content hash, and its size and mtime tell a rebuilt tsc output apart. The ES module build's chunks (in
 * dist/cli/, `.mjs`) name the CommonJS bundle beside them, as the CommonJS bundles all do (scripts/import-meta.mjs):
 * one build, so one parse cache, whichever way a command runs (until session 37 a `GITBUS_CODE_CACHE=0` command, or
 * one whose cache folder could not be used, and the bundle's commands each parsed the bus again after the other:
 * `status` on 2,000 pending tasks 0.15 s, then 0.71 s).
 */
export const BUILD_ID: string = (() => {
  const own = import.meta.filename;
  const bundle = join(dirname(own), 'gitbus.cjs');
  const file = own.endsWith('.mjs') && existsSync(bundle) ? bundle : own;
  try {
    const st = statSync(file);
    return `${GITBUS_VERSION}/${PARSE_CACHE_FORMAT}/${basename(file)}/${st.size}/${Math.floor(st.mtimeMs)}`;
  } catch {
    return `${GITBUS_VERSION}/${PARSE_CACHE_FORMAT}/${basename(file)}`;
  }
})();

export function parseCacheDir(gitdir: string, build = BUILD_ID, limits: ParseCacheLimits = { keep: KEEP_PER_FOLDER, maxFileBytes: MAX_FILE_BYTES, maxBodyChars: MAX_BODY_CHARS }): ParseCacheDir {
  const dir = joinPlain(joinPlain(gitdir, 'gitbus-cache'), 'parsed');
  const read = readCacheFile;
  /** The folder's files, newest first (mtime, then name, so that the order is the same for everyone). */
  const filesOf = (folder: string) => newestFirst(dir, cacheNames(dir), (name) => NAME.exec(name)?.[1] === folder);
  return {
    dir,
    load(folder, tree, seen = new Set()) {
      const exactName = `${folder}-${tree}.cache`;
      if (!seen.has(exactName)) {
        const exact = read(joinPlain(dir, exactName));
        if (exact) seen.add(exactName);
        const entries = exact ? decodeCacheFile(exact, { build, folder, tree }) : null;
        if (entries) return { entries, exact: true };
      }
      // Only the newest other file: an older one would have fewer of this tree's entries still.
      const newest = filesOf(folder).find((f) => f.name !== exactName);
      if (!newest || seen.has(newest.name)) return null;
      seen.add(newest.name);
      const bytes = read(joinPlain(dir, newest.name));
      const older = bytes ? decodeCacheFile(bytes, { build, folder }) : null;
      return older ? { entries: older, exact: false } : null;
    },
    loadFacts(folder, tree) {
      const exact = read(joinPlain(dir, `${folder}-${tree}.cache`));
      const fromExact = exact ? decodeCacheFacts(exact, { build, folder, tree }) : null;
      if (fromExact) return fromExact;
      const newest = filesOf(folder).find((f) => f.name !== `${folder}-${tree}.cache`);
      const bytes = newest ? read(join(dir, newest.name)) : null;
      return bytes ? decodeCacheFacts(bytes, { build, folder }) : null;
    },
    save(folder, tree, entries, seen) {
      const kept = entries.filter((e) => !e.parsed.ok || e.parsed.body.length <= limits.maxBodyChars);
      // Handoffs also get their facts, for readers that only rule tasks out (claim --next, housekeeping).
      const facts = folder === 'handoffs' ? entries.map((e) => factsOf(e.name, e.oid, e.parsed)) : [];
      const bytes = encodeCacheFile({ build, folder, tree }, kept, facts);
      if (bytes.length > limits.maxFileBytes) return false;
      const name = `${folder}-${tree}.cache`;
      // A cache that cannot be written (full disk, read-only home) only costs speed.
      if (!writeCacheFile(dir, name, bytes)) return false;
      seen?.add(name);
      prune(folder, tree);
      return true;
    },
  };

  function prune(folder: string, tree: string): void {
    const files = filesOf(folder).filter((f) => f.name !== `${folder}-${tree}.cache`);
    for (const f of files.slice(Math.max(0, limits.keep - 1))) removeCacheFile(join(dir, f.name));
    const names = cacheNames(dir);
    for (const name of names) if (OLD_NAME.test(name)) removeCacheFile(join(dir, name));
    removeDeadTemps(dir, names, TEMP);
  }
}
