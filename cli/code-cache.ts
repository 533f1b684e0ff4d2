import { appendFileSync, closeSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Script } from 'node:vm';
import { crc32 } from 'node:zlib';
import { invokedCommand } from './invoked-command.js';

/**
 * What bin/gitbus.js runs (issue 14): the CLI as one CommonJS bundle (dist/cli/gitbus.cjs), compiled with
 * `vm.Script` and a V8 code cache, per command, in the user's cache folder. Node 20 has no compile cache for ES
 * modules, and compiling the modules of a bus command and the functions it calls was ~40-60 ms of each start;
 * with the cache V8 deserializes that code instead (docs/PERFORMANCE.md "A V8 code cache (issue 14, session
 * 9)"). The ES module build (dist/cli/gitbus.mjs) stays for GITBUS_CODE_CACHE=0 and wherever the bundle cannot
 * run.
 *
 * scripts/bundle.mjs bundles this file with invoked-command.ts and the command table into dist/cli/gitbus-loader.cjs,
 * CommonJS like bin/gitbus.js (bin/package.json): an ES module entry costs Node ~5 ms more to start, and each
 * built-in module it imports ~1 ms more than require() does.
 *
 * The cache is the code V8 compiled while the command ran, taken at exit (`createCachedData` then includes the
 * functions compiled on first call), in `<cache>/gitbus/code-cache/<node>-<arch>-<the bundle file's identity>/
 * <command>.bin`, `<cache>` being $XDG_CACHE_HOME or ~/.cache (`<command>-<crc32>.bin` under Node options). It
 * is written when there was none or V8 refused it (another V8, other flags), by a temp file and a rename. Anything
 * going wrong with it is silent and costs only the speed: the command runs the same with or without it.
 *
 * Bytecode from a file is code that runs, so a cache is used only from folders that this user owns and nobody else
 * may write to (never a shared /tmp that someone else created), and only when its checksum holds: V8 on Node 20
 * does not check one, and deserializing damaged bytes ended the process with a fatal error.
 */

/** One line of GITBUS_CODE_CACHE_REPORT: what the loader did (for tests and for looking into a slow start). */
export interface CodeCacheReport {
  /** The command that runs (its cache file's name), or "top" when none does (--version, --help). */
  command: string;
  /**
   * none: no cache yet; accepted: V8 used it; rejected: V8 refused it; corrupt: its checksum or header was
   * wrong; unsafe: its folder may be written by someone else, so it was not read; unavailable: no cache folder;
   * off: the ES module build ran instead (no command to run, GITBUS_CODE_CACHE=0, no bundle).
   */
  cache: 'none' | 'accepted' | 'rejected' | 'corrupt' | 'unsafe' | 'unavailable' | 'off';
  /** A new cache file was written at exit. */
  written: boolean;
  file?: string;
}

/**
 * The header of a cache file: magic, format, crc32 of the V8 data, its length, and whether the run that made it
 * failed (exit code not 0): such a run may have stopped before most of the command's code was compiled, so the
 * next run that succeeds writes the cache again, once.
 */
const MAGIC = 0x38564247; // "GBV8" little-endian
const FORMAT = 2;
const HEADER = 20;
/** Key folders of other builds or Node versions kept when a new one is made (a few installs used side by side). */
const KEEP_OTHER_KEYS = 3;

/** Runs the CLI: the CommonJS bundle with its code cache, or the ES module build. */
export function runCli(): void {
  const here = dirname(fileURLToPath(import.meta.url));
  const bundle = join(here, 'gitbus.cjs');
  const command = invokedCommand(process.argv.slice(2))?.name;
  const env = process.env;
  let read: { source: string; identity: string } | undefined;
  // No command to run (--version, --help, a mistyped name): gitbus.mjs and commander, ~150 KB of ES modules, start
  // faster than the 2 MB bundle even from its cache (~4 ms less on Node 20 and 22).
  if (command !== undefined && env['GITBUS_CODE_CACHE'] !== '0' && typeof crc32 === 'function') {
    try {
      read = readBundle(bundle);
    } catch {
      // A build without the bundle (tsc alone): the ES module build.
    }
  }
  if (command === undefined || !read) {
    if (env['GITBUS_CODE_CACHE_REPORT']) process.once('exit', () => report(env, { command: command ?? 'top', cache: 'off', written: false }));
    void import(pathToFileURL(join(here, 'gitbus.mjs')).href);
    return;
  }
  const place = cachePlace(env, read.identity, command);
  const found: Found = place ? readCache(place) : { state: 'unavailable' };
  // The bundle is written inside the CommonJS module wrapper (scripts/bundle.mjs), so V8 gets the file's text as
  // it is: wrapping it here made a second 2 MB string that V8 flattened, a copy and ~800 page faults per start. A
  // bundle without it (made by hand, or by an older build) is wrapped here, on its first line so lines stay as built.
  // No importModuleDynamically: on Node 20 a function taken from the cache loses it (its import() then fails with
  // ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), so the bundle holds no import() at all (scripts/bundle.mjs checks) and
  // one that crept in fails on the first run, not only once a cache exists.
  const source = read.source.startsWith(CJS_WRAPPER_START) ? read.source : `${CJS_WRAPPER_START}${read.source}\n})`;
  const script = new Script(source, {
    filename: bundle,
    ...(found.data ? { cachedData: found.data } : {}),
  });
  const cache: CodeCacheReport['cache'] = found.state === 'found' ? (script.cachedDataRejected === true ? 'rejected' : 'accepted') : found.state;
  process.once('exit', (code) => {
    let written = false;
    const failed = code !== 0;
    const due = cache === 'accepted' ? found.state === 'found' && found.failed && !failed : cache !== 'unsafe';
    if (place && due) {
      try {
        written = writeCache(place, script.createCachedData(), failed);
      } catch {
        // createCachedData itself failing: no cache, as for any other failure.
      }
    }
    report(env, { command, cache, written, ...(place ? { file: place.file } : {}) });
  });
  const module = { exports: {} };
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
  wrapper(module.exports, createRequire(bundle), module, bundle, here);
}

interface CachePlace {
  /** $XDG_CACHE_HOME/gitbus: the first folder of gitbus's own. */
  root: string;
  /** root/code-cache: one folder per bundle and Node version below it. */
  keys: string;
  /** keys/<node>-<arch>-<the bundle's identity> */
  dir: string;
  file: string;
}

/** What dist/cli/gitbus.cjs starts with (scripts/bundle.mjs): the CommonJS module wrapper, as Node's loader makes it. */
export const CJS_WRAPPER_START = '(function (exports, require, module, __filename, __dirname) {';

/**
 * The bundle's text (latin1: the build writes it in ASCII) and its identity as a file, taken from the open file so
 * that both are of the same file. The identity is the file's size, modification and change times (nanoseconds)
 * and inode: any write to it, a copy or a new install changes the change time, which nobody can set back. It was
 * the bundle's crc32, which cost ~6 M instructions (~2-4 ms) per start to say the same.
 */
export function readBundle(path: string): { source: string; identity: string } {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd, { bigint: true });
    const source = readFileSync(fd, 'latin1');
    return { source, identity: `${st.size}-${st.mtimeNs.toString(36)}-${st.ctimeNs.toString(36)}-${st.ino.toString(36)}` };
  } finally {
    closeSync(fd);
  }
}

/** Where this bundle's cache for this command lives, or undefined when there is no cache folder to use. */
export function cachePlace(env: NodeJS.ProcessEnv, identity: string, command: string): CachePlace | undefined {
  let base = env['XDG_CACHE_HOME'];
  // The XDG spec: a relative path is invalid and ignored.
  if (!base || !isAbsolute(base)) {
    try {
      base = join(homedir(), '.cache');
    } catch {
      return undefined;
    }
  }
  const root = join(base, 'gitbus');
  const keys = join(root, 'code-cache');
  // The file's identity, not a hash of it: the key only has to change when the bundle does (V8 checks the source's
  // length and its own version and flags as well).
  const dir = join(keys, `${process.version}-${process.arch}-${identity}`);
  // V8 refuses a cache made under other V8 flags (--max-old-space-size in NODE_OPTIONS is one): a process started
  // with options has a file of its own, so that runs with and without them do not rewrite each other's.
  const options = [...process.execArgv, env['NODE_OPTIONS'] ?? ''].join('\0');
  return { root, keys, dir, file: join(dir, options === '' ? `${command}.bin` : `${command}-${hex(crc32(options))}.bin`) };
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/**
 * True when nobody but this user (or root) can have put files in the cache folder: each of gitbus's folders on the
 * way is a real folder (no symbolic link), owned by this user and writable by nobody else.
 */
export function ownedPrivately(place: CachePlace): boolean {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  for (const dir of [place.root, place.keys, place.dir]) {
    const st = lstatSync(dir);
    if (!st.isDirectory() || (st.mode & 0o022) !== 0 || (uid !== undefined && st.uid !== uid)) return false;
  }
  return true;
}

type Found = { state: 'none' | 'corrupt' | 'unsafe' | 'unavailable'; data?: undefined } | { state: 'found'; data: Buffer; failed: boolean };

function readCache(place: CachePlace): Found {
  let file: Buffer;
  try {
    file = readFileSync(place.file);
  } catch {
    return { state: 'none' };
  }
  try {
    if (!ownedPrivately(place)) return { state: 'unsafe' };
  } catch {
    return { state: 'unsafe' };
  }
  const unwrapped = unwrapCache(file);
  return unwrapped ? { state: 'found', ...unwrapped } : { state: 'corrupt' };
}

/** A cache file's V8 data and whether a failed run made it, or undefined when its header or checksum is wrong. */
export function unwrapCache(file: Buffer): { data: Buffer; failed: boolean } | undefined {
  if (file.length < HEADER || file.readUInt32LE(0) !== MAGIC || file.readUInt32LE(4) !== FORMAT) return undefined;
  const data = file.subarray(HEADER);
  if (file.readUInt32LE(12) !== data.length || file.readUInt32LE(8) !== crc32(data)) return undefined;
  const flags = file.readUInt32LE(16);
  if (flags > 1) return undefined;
  return { data, failed: flags === 1 };
}

export function wrapCache(data: Buffer, failed = false): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(FORMAT, 4);
  header.writeUInt32LE(crc32(data), 8);
  header.writeUInt32LE(data.length, 12);
  header.writeUInt32LE(failed ? 1 : 0, 16);
  return Buffer.concat([header, data]);
}

/** Writes the cache file atomically; false when it could not (no folder, no space, not ours). */
function writeCache(place: CachePlace, data: Buffer, failed: boolean): boolean {
  let made: string | undefined;
  let tmp: string | undefined;
  try {
    made = mkdirSync(place.dir, { recursive: true, mode: 0o700 });
    if (!ownedPrivately(place)) return false;
    tmp = `${place.file}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(tmp, wrapCache(data, failed), { mode: 0o600, flag: 'wx' });
    renameSync(tmp, place.file);
    tmp = undefined;
  } catch {
    return false;
  } finally {
    if (tmp !== undefined) {
      try {
        unlinkSync(tmp);
      } catch {
        // nothing was written
      }
    }
  }
  // A new build or Node version: older keys' folders go, but for the few used last.
  if (made !== undefined) pruneKeys(place);
  return true;
}

function pruneKeys(place: CachePlace): void {
  try {
    const others = readdirSync(place.keys)
      .map((name) => join(place.keys, name))
      .filter((p) => p !== place.dir)
      .map((p) => ({ p, mtime: lstatSync(p).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const { p } of others.slice(KEEP_OTHER_KEYS)) rmSync(p, { recursive: true, force: true });
  } catch {
    // Left for the next new key.
  }
}

function report(env: NodeJS.ProcessEnv, r: CodeCacheReport): void {
  const to = env['GITBUS_CODE_CACHE_REPORT'];
  if (!to) return;
  try {
    appendFileSync(to, `${JSON.stringify(r)}\n`);
  } catch {
    // A report is for tests and for looking into a slow start; never a reason to fail.
  }
}
