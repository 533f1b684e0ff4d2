import { nodeCrypto, nodeCryptoIfLoaded } from '../../schemas/node-crypto.js';
import type * as NodeFs from 'node:fs';
import { deflateObject } from './object-deflate.js';
import { coldSha1Hex } from './sha1.js';
import { sha1HexWasm } from '../checksums-wasm.js';
import { inFolder, objectDir, objectFile } from './object-path.js';

export type GitObjectType = 'blob' | 'tree' | 'commit' | 'tag';

/**
 * Write one loose object (`objects/xx/yyyy…`, zlib of "<type> <size>\0<content>") and return its oid.
 *
 * Used instead of isomorphic-git's writeObject for exploding fetched packs, for two measured reasons:
 * - speed: on Node 20 isomorphic-git deflates through the web CompressionStream, ~2-3 ms per object; node:zlib
 *   takes microseconds. Exploding a 4-object fetch went from ~12 ms to well under 1 ms of writing.
 * - crash safety: isomorphic-git writes the final path in place and never overwrites an existing object, so a
 *   process killed mid-write leaves a truncated object that stays corrupt forever. Here the bytes go to a temp
 *   file in the same directory and are renamed into place, as git does.
 */
export async function writeLooseObject(fs: typeof NodeFs, gitdir: string, type: GitObjectType, content: Uint8Array): Promise<string> {
  return (await writeLooseObjectIfNew(fs, gitdir, type, content)).oid;
}

/**
 * writeLooseObject, saying whether the object was new (`created`) or already in the clone, and when new the file's
 * bytes (`deflated`): a push to a local remote copies them rather than deflate the object a second time.
 */
export async function writeLooseObjectIfNew(fs: typeof NodeFs, gitdir: string, type: GitObjectType, content: Uint8Array): Promise<{ oid: string; created: boolean; deflated?: Buffer }> {
  const oid = gitObjectId(type, content);
  const dir = objectDir(gitdir, oid);
  const path = objectFile(gitdir, oid);
  // Synchronous calls on purpose: each is tens of microseconds, and going through the libuv thread pool cost
  // ~6x more per call on our machines (docs/PERFORMANCE.md).
  if (fs.existsSync(path)) {
    // Objects are immutable: same name, same content.
    freshenObjectFile(fs, path);
    return { oid, created: false };
  }
  const bytes = looseBytes(type, content);
  putObjectFile(fs, dir, path, bytes);
  return { oid, created: true, deflated: bytes };
}

/**
 * A loose object's file bytes (zlib of "<type> <size>\0<content>"), for a caller that writes them later
 * (writeObjectFile) or not at all: a compare-and-swap round lost before it would push (bus/cas.ts).
 */
export function looseBytes(type: GitObjectType, content: Uint8Array): Buffer {
  return deflateObject(Buffer.concat([Buffer.from(`${type} ${content.length}\0`, 'latin1'), content]), type);
}

/**
 * Writes the file of the loose object `oid` as `bytes` (its deflated form, as made here or copied as another repository
 * stores it), unless it is there already: objects are immutable, same name, same content.
 */
export function writeObjectFile(fs: typeof NodeFs, gitdir: string, oid: string, bytes: Uint8Array): void {
  const dir = objectDir(gitdir, oid);
  const path = objectFile(gitdir, oid);
  if (!fs.existsSync(path)) putObjectFile(fs, dir, path, bytes);
  else freshenObjectFile(fs, path);
}

/**
 * Marks a loose object found already there as just used, as git does: a write or a fetch that finds it is about to
 * make something name it, and the clone's housekeeping (bus/store/clone-prune.ts) removes an object nothing it keeps
 * names only once its file is older than the grace. A file this user may not touch (a remote others own) stays as
 * it is: its owner's git keeps its own grace.
 */
export function freshenObjectFile(fs: typeof NodeFs, path: string): void {
  try {
    const now = Date.now() / 1000;
    fs.utimesSync(path, now, now);
  } catch {
    // Not ours, or gone meanwhile: whoever writes it again writes the same bytes.
  }
}

/** The file at `path` in the fan-out folder `dir`: a temp file renamed into place, so a crash never leaves half an object. */
function putObjectFile(fs: typeof NodeFs, dir: string, path: string, bytes: Uint8Array): void {
  const tmp = inFolder(dir, `tmp_obj_gitbus_${process.pid}_${Math.random().toString(36).slice(2)}`);
  try {
    try {
      fs.writeFileSync(tmp, bytes, { mode: 0o444 });
    } catch (err) {
      // The fan-out directory usually exists; creating it only when missing saves a system call per object.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      makeFanOutDir(fs, dir);
      fs.writeFileSync(tmp, bytes, { mode: 0o444 });
    }
    fs.renameSync(tmp, path);
  } catch (err) {
    // A write through a file descriptor names no path: this one's, so that a full disk is said of the device it is
    // on (the remote's, for a push to a local remote), not of the bus home's (bus/local-io.ts localFailure).
    const e = err as NodeJS.ErrnoException;
    if (e !== null && typeof e === 'object' && e.path === undefined && typeof e.code === 'string') e.path = tmp;
    // A full disk leaves a partial temp file: remove it rather than leave garbage behind.
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // The write's error is the one to report.
    }
    throw err;
  }
}

/**
 * The fan-out folder `objects/xx`, and only it: never `objects/` or the repository itself, so a repository that
 * vanished (renamed away, a mount gone) is an ENOENT here rather than recreated empty at its old path, where the
 * real one would later land inside it. EEXIST: another writer made it meanwhile.
 */
export function makeFanOutDir(fs: typeof NodeFs, dir: string): void {
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * The id git gives an object of `type` with `content`: the sha1 of "<type> <size>\0<content>". While node:crypto
 * is not loaded, with the WebAssembly compression function (bus/checksums-wasm.ts), else in JavaScript (bus/git/sha1.ts)
 * for a process's first 4 KiB, so that a `dispatch` on a local bus (~1.5 KB hashed, an 11 KB tree on a bus of 200
 * tasks) does not load it; with node:crypto for the rest.
 */
export function gitObjectId(type: GitObjectType, content: Uint8Array): string {
  const header = `${type} ${content.length}\0`;
  const head = nodeCryptoIfLoaded() ? undefined : Buffer.from(header, 'latin1');
  const js = head === undefined ? undefined : (sha1HexWasm(head, content) ?? coldSha1Hex(head, content));
  return js ?? nodeCrypto().createHash('sha1').update(header, 'latin1').update(content).digest('hex');
}
