import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants as zlib, inflateSync } from 'node:zlib';
import { CloneDamagedError } from '../local-io.js';

/** A loose object's compressed bytes, or null when it is not loose. */
function looseFile(gitdir: string, oid: string): Buffer | null {
  try {
    // Synchronous on purpose: a loose object is a few hundred bytes, read in microseconds; an async read per
    // object (hundreds per snapshot) spent most of its time waiting for the thread pool.
    return readFileSync(join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2)));
  } catch {
    return null;
  }
}

/**
 * Reads a loose object with node:zlib (fast on Node 20, unlike isomorphic-git's DecompressionStream). Returns
 * null when the object is not loose (it may be in a pack: the caller falls back to isomorphic-git).
 */
export async function readLoose(gitdir: string, oid: string): Promise<{ type: string; content: Buffer } | null> {
  const raw = looseFile(gitdir, oid);
  if (raw === null) return null;
  let data: Buffer;
  try {
    data = inflateSync(raw);
  } catch (err) {
    // Cut short or overwritten (a full disk, a crash of another tool): the object must be fetched again.
    throw new CloneDamagedError(gitdir, oid, `corrupt: ${(err as Error).message}`);
  }
  return parseInflated(gitdir, oid, data);
}

/** An inflated loose object split into its type and content, checked against the size its header says. */
function parseInflated(gitdir: string, oid: string, data: Buffer): { type: string; content: Buffer } {
  const nul = data.indexOf(0);
  const header = data.toString('latin1', 0, nul);
  const space = header.indexOf(' ');
  const size = Number(header.slice(space + 1));
  const content = data.subarray(nul + 1);
  if (nul < 0 || space < 0 || content.length !== size) throw new CloneDamagedError(gitdir, oid, 'corrupt: its size does not match its header');
  return { type: header.slice(0, space), content };
}

/**
 * A loose object's content when it is at most `max` bytes, else its size (from its header): inflating stops past
 * the limit, so a 600 MB blob costs what its first bytes do. Null when the object is not loose.
 */
export function readLooseUpTo(gitdir: string, oid: string, max: number): Buffer | number | null {
  const raw = looseFile(gitdir, oid);
  if (raw === null) return null;
  let data: Buffer;
  try {
    // The header ("blob <size>\0") comes first: 32 bytes more than the content limit hold any header.
    data = inflateSync(raw, { maxOutputLength: max + 32 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw new CloneDamagedError(gitdir, oid, `corrupt: ${(err as Error).message}`);
    // A sync flush inflates what the first KiB holds, without asking for the end of the stream.
    const head = inflateSync(raw.subarray(0, 1024), { finishFlush: zlib.Z_SYNC_FLUSH });
    const m = /^[a-z]+ (\d+)\0/.exec(head.toString('latin1', 0, Math.min(head.length, 32)));
    if (!m) throw new CloneDamagedError(gitdir, oid, 'corrupt: its header cannot be read');
    return Number(m[1]);
  }
  const { content } = parseInflated(gitdir, oid, data);
  return content.length > max ? content.length : content;
}
