import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { constants as zlib, inflateSync } from 'node:zlib';
import { CloneDamagedError } from '../local-io.js';

/**
 * Reads a loose object with node:zlib (fast on Node 20, unlike isomorphic-git's DecompressionStream). Returns
 * null when the object is not loose (it may be in a pack: the caller falls back to isomorphic-git).
 */
export async function readLoose(gitdir: string, oid: string): Promise<{ type: string; content: Buffer } | null> {
  let raw: Buffer;
  try {
    // Synchronous on purpose: a loose object is a few hundred bytes, read in microseconds; an async read per
    // object (hundreds per snapshot) spent most of its time waiting for the thread pool.
    raw = readFileSync(join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2)));
  } catch {
    return null;
  }
  let data: Buffer;
  try {
    data = inflateSync(raw);
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

/**
 * The size a loose object's header states, from its first compressed KiB: null when it is not loose or the header
 * cannot be read that way (the caller reads the object, which reports the damage).
 */
export function peekLooseSize(gitdir: string, oid: string): number | null {
  let fd: number;
  try {
    fd = openSync(join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2)), 'r');
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    // A sync flush inflates what the bytes read so far hold, without asking for the end of the stream.
    const data = inflateSync(buf.subarray(0, n), { finishFlush: zlib.Z_SYNC_FLUSH });
    const m = /^[a-z]+ (\d+)\0/.exec(data.toString('latin1', 0, Math.min(data.length, 32)));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
