import { readFileSync } from 'node:fs';
import { nodeZlib } from '../../schemas/node-zlib.js';
import { inflateStored } from '../git/zlib-stored.js';
import { inflateObject } from '../git/object-inflate.js';
import { CloneDamagedError, ObjectTooLargeError } from '../local-io.js';
import { objectFile } from '../git/object-path.js';

/**
 * The largest object gitbus inflates whole. Bus files are small (lint: 256 KiB), so anything near this is an attack
 * or an accident; well below the 2-4 GiB where a Buffer cannot hold it at all and the read would end in a RangeError.
 */
export const MAX_OBJECT_BYTES = 64 * 1024 * 1024;

/** zlib's best ratio is about 1:1032: a file smaller on disk than a limit / 1032 cannot inflate past the limit. */
const MAX_RATIO = 1032;

/** A loose object's compressed bytes, or null when it is not loose. */
function looseFile(gitdir: string, oid: string): Buffer | null {
  try {
    // Synchronous on purpose: a loose object is a few hundred bytes, read in microseconds; an async read per
    // object (hundreds per snapshot) spent most of its time waiting for the thread pool.
    return readFileSync(objectFile(gitdir, oid));
  } catch {
    return null;
  }
}

/**
 * The type and size a loose object's header declares, inflating only the start of it: a loose object of
 * gigabytes of zeros is a few megabytes on disk, and its size is known without inflating the rest. Null when the
 * start does not inflate to a header.
 */
export function looseHeader(raw: Buffer): { type: string; size: number; headerBytes: number } | null {
  let start: Buffer;
  try {
    // A prefix of the stream, flushed: what it inflates to (at most ~1 MiB for 1 KiB in), without an end-of-stream error.
    const prefix = raw.subarray(0, 1024);
    start = inflateStored(prefix, true)?.data ?? nodeZlib().inflateSync(prefix, { finishFlush: nodeZlib().constants.Z_SYNC_FLUSH });
  } catch {
    return null;
  }
  const nul = start.indexOf(0);
  if (nul < 0 || nul > 32) return null;
  const m = /^(blob|tree|commit|tag) (\d{1,15})$/.exec(start.toString('latin1', 0, nul));
  return m?.[1] && m[2] ? { type: m[1], size: Number(m[2]), headerBytes: nul + 1 } : null;
}

/** Inflates a loose object, never past `limit` bytes (header included): past it, the object is corrupt. */
function inflateLoose(gitdir: string, oid: string, raw: Buffer, limit: number): { type: string; content: Buffer } {
  let data: Buffer;
  try {
    data = inflateObject(raw, limit).data;
  } catch (err) {
    // Cut short or overwritten (a full disk, a crash of another tool): the object must be fetched again.
    throw new CloneDamagedError(gitdir, oid, `corrupt: ${(err as Error).message}`);
  }
  const nul = data.indexOf(0);
  const header = data.toString('latin1', 0, nul);
  const space = header.indexOf(' ');
  const size = Number(header.slice(space + 1));
  const content = data.subarray(nul + 1);
  if (nul < 0 || space < 0 || content.length !== size) throw new CloneDamagedError(gitdir, oid, 'corrupt: its size does not match its header');
  return { type: header.slice(0, space), content };
}

/** The header of a loose object that could inflate past `cap` (else null: it cannot, and needs no look first). */
function headerIfLarge(gitdir: string, oid: string, raw: Buffer, cap: number): { type: string; size: number; headerBytes: number } | null {
  if (raw.length * MAX_RATIO <= cap) return null;
  const h = looseHeader(raw);
  if (!h) throw new CloneDamagedError(gitdir, oid, 'corrupt: its header does not inflate');
  return h;
}

/**
 * Reads a loose object: a stored stream here, any other with node:zlib (fast on Node 20, unlike isomorphic-git's
 * DecompressionStream). Returns null when the object is not loose (it may be in a pack: the caller falls back to
 * isomorphic-git).
 *
 * `maxBytes`: a caller that refuses content over a size (a signature sidecar) gets, for a larger object, a buffer
 * of `maxBytes + 1` zero bytes standing for it (too large, not its content), and nothing is inflated beyond the
 * header. Any object over MAX_OBJECT_BYTES is refused with ObjectTooLargeError rather than inflated.
 */
export async function readLoose(gitdir: string, oid: string, maxBytes?: number): Promise<{ type: string; content: Buffer } | null> {
  const raw = looseFile(gitdir, oid);
  if (raw === null) return null;
  // The header is read first only for objects that could be large, so the common read inflates once.
  const h = headerIfLarge(gitdir, oid, raw, maxBytes ?? MAX_OBJECT_BYTES);
  if (h && maxBytes !== undefined && h.size > maxBytes) return { type: h.type, content: Buffer.alloc(maxBytes + 1) };
  if (h && h.size > MAX_OBJECT_BYTES) throw new ObjectTooLargeError(gitdir, oid, h.size, MAX_OBJECT_BYTES);
  // Never more than the header declares: a header that understates the content is corrupt, not a reason to keep inflating.
  const obj = inflateLoose(gitdir, oid, raw, h ? h.size + h.headerBytes : MAX_OBJECT_BYTES + 64);
  if (maxBytes !== undefined && obj.content.length > maxBytes) return { type: obj.type, content: Buffer.alloc(maxBytes + 1) };
  return obj;
}

/**
 * A loose object's content when it is at most `max` bytes, else its size (from its header): nothing is inflated
 * past the header for a larger one, so a 600 MB blob costs what its first bytes do. Null when the object is not loose.
 */
export function readLooseUpTo(gitdir: string, oid: string, max: number): Buffer | number | null {
  const raw = looseFile(gitdir, oid);
  if (raw === null) return null;
  const h = headerIfLarge(gitdir, oid, raw, max);
  if (h && h.size > max) return h.size;
  const { content } = inflateLoose(gitdir, oid, raw, h ? h.size + h.headerBytes : max + 64);
  return content.length > max ? content.length : content;
}
