import { accessSync, closeSync, constants, fstatSync, fsyncSync, futimesSync, lstatSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, unlinkSync, writeFileSync, type BigIntStats, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
import { wrapCache, unwrapCache, type CacheMarks } from './code-cache-file.js';
import { sum32 } from '../schemas/sum32.js';
import { cannot, notPrivate, readyFolders, type CacheFolders, type CacheProblem } from './code-cache-folders.js';

// Where the loader's code caches live and how they are read, written and pruned (cli/code-cache.ts): one file per
// command and script in a key folder per build, `<command>.bin` for the command's bundle and `<command>.schemas.bin`
// for the schemas script (cli/schemas-script.ts).

/** Key folders of other builds or Node versions kept when a new one is made (a few installs used side by side). */
const KEEP_OTHER_KEYS = 3;
/** Files of one command made under different Node options (one per Yarn PnP project's --require) kept in a key folder. */
const KEEP_VARIANTS = 4;

export interface CachePlace extends CacheFolders {
  /** keys/<node>-<arch>-<the bundle's identity> */
  dir: string;
  file: string;
  command: string;
  /** The file is one of the command's files for a set of Node options (`<command>-<sum32>.bin`). */
  variant: boolean;
  /** What the file's name ends with before `.bin`: "" for the command's bundle, ".schemas" for the schemas script. */
  suffix: string;
}

/** Where this bundle's cache for this command lives (`suffix` ".schemas": the schemas script's, as it ran for it). */
export function cachePlace(folders: CacheFolders, identity: string, command: string, env: NodeJS.ProcessEnv = process.env, suffix = ''): CachePlace {
  // Strings joined, not path.join: the identity is ~250 characters, and path.join's pass over each is a start's
  // largest share of the work that made V8 optimise Node's normalizeString (bus/git/object-path.ts).
  const dir = `${folders.keys}${sep}${keyName(identity)}`;
  // V8 refuses a cache made under other V8 flags (--max-old-space-size in NODE_OPTIONS is one): a process started
  // with options has a file of its own, so that runs with and without them do not rewrite each other's.
  const options = [...process.execArgv, env['NODE_OPTIONS'] ?? ''].join('\0');
  const variant = options !== '';
  return { ...folders, dir, command, variant, suffix, file: `${dir}${sep}${variant ? `${command}-${hex(sum32(options))}${suffix}.bin` : `${command}${suffix}.bin`}` };
}

/**
 * The key folder's name: Node's version and arch and the build's identity as it is (the key only has to change when
 * a bundle does; V8 checks the source's length and its own version and flags as well). The identity names each of
 * the build's files (~40 characters a file), and a file name may have 255 bytes: past KEY_NAME_MAX characters it is
 * the sum32s (schemas/sum32.ts) of the identity and of its bytes backwards (64 bits) and its length, which a build of
 * more files needs. (With crc32 here before, a second sum from another starting value would have been the first XOR
 * a constant for identities of one length: 32 bits in all.)
 */
export function keyName(identity: string): string {
  const name = `${process.version}-${process.arch}-${identity}`;
  if (name.length <= KEY_NAME_MAX) return name;
  return `${process.version}-${process.arch}-${hex(sum32(identity))}${hex(sum32(Buffer.from(identity).reverse()))}-${identity.length}`;
}
const KEY_NAME_MAX = 200;

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** `identity`: the found file's as it was read (its bytes were summed by this start, or found checked). */
export type Found = { state: 'none' } | { state: 'corrupt' } | ({ state: 'found'; data: Buffer; identity: string } & CacheMarks) | CacheProblem;

/**
 * The cache file of `place`: read into `room` when it fits there (memory the bundle's read touched already, see
 * readBundle in cli/code-cache.ts), else into a buffer of its own.
 */
export function readCache(place: CachePlace, room?: Buffer): Found {
  let file: Buffer;
  let identity: string;
  try {
    ({ file, identity } = readFileIn(place.file, room));
  } catch {
    // No cache yet: the key folder is made now, so that a place where it cannot be written runs the ES module
    // build from the first run on rather than the bundle without its cache at every run.
    const problem = readyFolders(place, [place.dir]);
    if (problem) return problem;
    try {
      accessSync(place.dir, constants.W_OK);
    } catch (err) {
      return cannot(place.dir, err);
    }
    return { state: 'none' };
  }
  // Read before the check, but not used unless the key folder is private too (gitbus's root and keys folders
  // were checked before the bundle was read).
  let st: Stats;
  try {
    st = lstatSync(place.dir);
  } catch (err) {
    return cannot(place.dir, err);
  }
  const problem = notPrivate(place.dir, st);
  if (problem) return problem;
  const checked = readChecked(place) === identity;
  const unwrapped = unwrapCache(file, checked);
  if (!unwrapped) return { state: 'corrupt' };
  if (!checked) writeChecked(place, identity);
  return { state: 'found', ...unwrapped, identity };
}

/**
 * The file's bytes (in `room` when they fit, a view of it, else in a buffer of their own) and its identity as it was
 * read: device, inode, size, and modification and change times in nanoseconds. Any write to the file, a copy or a
 * new file renamed over it changes the change time, which nobody can set back.
 */
function readFileIn(path: string, room: Buffer | undefined): { file: Buffer; identity: string } {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd, { bigint: true });
    const size = Number(st.size);
    return { file: room !== undefined && size <= room.length ? room.subarray(0, readInto(fd, room, size)) : readFileSync(fd), identity: identityOf(st) };
  } finally {
    closeSync(fd);
  }
}

/** A file's identity as `<file>.checked` holds it. */
function identityOf(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/**
 * The identity of the cache file whose bytes a start summed against its checksum (`<file>.checked`). Summing ~0.5 MB
 * takes node:zlib, whose load was ~1.5 ms of a start that needs it for nothing else (docs/PERFORMANCE.md "Small
 * objects stored, and a start without node:zlib"); so the sum is done once per file, as the bundle itself is known
 * by its identity (cli/bundle-identity.ts). The checksum stays: V8 on Node 20 does not check cached data, and
 * deserializing a damaged file killed the process.
 */
function readChecked(place: CachePlace): string | undefined {
  try {
    return readFileSync(`${place.file}${CHECKED}`, 'latin1');
  } catch {
    return undefined;
  }
}

/** Writes `<file>.checked` (through a temp file and a rename); nothing when it cannot: the next start sums again. */
export function writeChecked(place: CachePlace, identity: string): void {
  const to = `${place.file}${CHECKED}`;
  const tmp = `${to}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(tmp, identity, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, to);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
  }
}

/** What a cache file's `checked` file is called after it. */
export const CHECKED = '.checked';

/** Reads up to `size` bytes of `fd` into the start of `into`; how many it read (fewer when the file shrank). */
export function readInto(fd: number, into: Buffer, size: number): number {
  let at = 0;
  while (at < size) {
    const n = readSync(fd, into, at, size - at, at);
    if (n === 0) break;
    at += n;
  }
  return at;
}

/**
 * A file of the build as text (latin1: the build writes it in ASCII), its stat taken from the open file so that text
 * and identity are of the same file, and the memory it was read into, at least `least` bytes: the caller may read
 * its code cache into the rest (readCache's `room`).
 */
export function readText(path: string, least = 0): { text: string; st: BigIntStats; room: Buffer } {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd, { bigint: true });
    const size = Number(st.size);
    const room = Buffer.allocUnsafeSlow(Math.max(size, least));
    return { text: room.toString('latin1', 0, readInto(fd, room, size)), st, room };
  } finally {
    closeSync(fd);
  }
}

/** Writes the cache file atomically; false when it could not (no space, a folder changed since the start). */
export function writeCache(place: CachePlace, data: Buffer, marks: Partial<CacheMarks>): boolean {
  let tmp: string | undefined;
  let fd: number | undefined;
  let identity: string;
  let durable = true;
  try {
    tmp = `${place.file}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
    fd = openSync(tmp, 'wx', 0o600);
    writeFileSync(fd, wrapCache(data, marks));
    // On the disk before it has its name, and so before its `.checked` (written after this): a start takes a checked
    // file unsummed, and bytes a power cut left unwritten would reach V8, which ends the process on them, every start
    // of the command (of every command, for the loader's: cli/boot.ts). A file system that cannot (EINVAL) gets the
    // file without its `.checked`: the next start sums it.
    try {
      fsyncSync(fd);
    } catch {
      durable = false;
    }
    renameSync(tmp, place.file);
    tmp = undefined;
    // Its bytes are the ones just summed (wrapCache): the file is checked as renamed into place, taken from the open
    // file, so that another process's file renamed over it meanwhile is not.
    identity = identityOf(fstatSync(fd, { bigint: true }));
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
    if (tmp !== undefined) {
      try {
        unlinkSync(tmp);
      } catch {
        // nothing was written
      }
    }
  }
  if (durable) writeChecked(place, identity);
  pruneKeys(place);
  if (place.variant) pruneVariants(place);
  return true;
}

/**
 * What a run does with its cache at exit (the bundle's and the schemas script's alike): writes it when there was
 * none, it was damaged or V8 refused it, or when a failed run made it and this one succeeded, or a run off the plain
 * path made it and this one is a plain run that succeeded (cli/code-cache-file.ts); else, for a file of a set of Node
 * options, marks it as used (pruneVariants keeps the ones used last). `ran`: a command's action ran (a run that only
 * printed help compiled too little to be kept). True when a file was written.
 */
export function settleCache(place: CachePlace, found: Found, rejected: boolean, ran: boolean, run: Partial<CacheMarks>, data: () => Buffer): boolean {
  const accepted = found.state === 'found' && !rejected;
  const redo = accepted && run.failed !== true && (found.failed || (found.offPath && run.offPath !== true));
  const due = ran && (accepted ? redo : found.state !== 'unsafe' && found.state !== 'unavailable');
  if (due) {
    try {
      return writeCache(place, data(), run);
    } catch {
      // createCachedData itself failing: no cache, as for any other failure.
      return false;
    }
  }
  if (accepted && place.variant && found.state === 'found') touchUsed(place, found.identity);
  return false;
}

/**
 * Sets the time of a file of a set of Node options (pruneVariants keeps those used last). The touch changes the file's
 * identity, not its bytes: when it is still the file this start read (`read`, its identity then) or one checked
 * since, its `.checked` is written anew. A file changed or replaced since (by a write, or another process's cache renamed over it) is left
 * for the next start to sum.
 */
function touchUsed(place: CachePlace, read: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(place.file, 'r');
    const now = identityOf(fstatSync(fd, { bigint: true }));
    // Or checked since: another run of the same options that read it too, and set its time first.
    const same = now === read || readChecked(place) === now;
    const time = new Date();
    futimesSync(fd, time, time);
    if (same) writeChecked(place, identityOf(fstatSync(fd, { bigint: true })));
  } catch {
    // Pruned by then: written again next time.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Older keys' folders (other builds, other Node versions) go, but for the few written last. */
function pruneKeys(place: CachePlace): void {
  try {
    const others = readdirSync(place.keys)
      .map((name) => join(place.keys, name))
      .filter((p) => p !== place.dir)
      .map((p) => ({ p, mtime: lstatSync(p).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const { p } of others.slice(KEEP_OTHER_KEYS)) rmSync(p, { recursive: true, force: true });
  } catch {
    // Left for the next write.
  }
}

/**
 * A command's files for other Node options (each ~1.1 MB; Yarn PnP's `--require` of each project's .pnp.cjs makes
 * one per project): the few used last stay (a run that uses one sets its time).
 */
function pruneVariants(place: CachePlace): void {
  try {
    const prefix = `${place.command}-`;
    const variants = readdirSync(place.dir)
      .filter((name) => name.startsWith(prefix) && name.endsWith(`${place.suffix}.bin`) && /^[0-9a-f]{8}$/.test(name.slice(prefix.length, -`${place.suffix}.bin`.length)))
      .map((name) => join(place.dir, name))
      .filter((p) => p !== place.file)
      .map((p) => ({ p, mtime: lstatSync(p).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const { p } of variants.slice(KEEP_VARIANTS - 1)) {
      rmSync(p, { force: true });
      rmSync(`${p}${CHECKED}`, { force: true });
    }
  } catch {
    // Left for the next write.
  }
}

