import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mathRandomHex } from '../../schemas/math-random.js';
import { assertFullRef, assertOid } from '../git/oid.js';
import { joinPlain } from '../join-plain.js';

/**
 * Replaces one ref of a node's clone by an atomic rename, so that several processes of one node may update it
 * without a lock: a reader sees the old value or the new one, never a half-written file (isomorphic-git's
 * writeRef writes in place). The clone's refs mirror the remote as last seen; the last writer wins, and a value
 * that is a moment old is harmless, since every write to the bus is decided again from a fresh listing.
 */
export function writeLocalRef(gitdir: string, ref: string, oid: string): void {
  assertFullRef(ref);
  assertOid(oid, 'ref value');
  const path = joinPlain(gitdir, ref);
  // The temp file lives outside refs/, so a crash never leaves something that looks like a branch.
  const tmp = join(gitdir, `gitbus-ref-${process.pid}-${mathRandomHex(4)}.tmp`);
  writeFileSync(tmp, `${oid}\n`);
  try {
    renameSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      rmSync(tmp, { force: true });
      throw err;
    }
    mkdirSync(join(path, '..'), { recursive: true });
    renameSync(tmp, path);
  }
}

export function deleteLocalRef(gitdir: string, ref: string): void {
  assertFullRef(ref);
  rmSync(joinPlain(gitdir, ref), { force: true });
}

/**
 * The value of a full ref of a node's clone when a plain file read settles it: the loose ref file holding an
 * oid, or null when there is neither a loose ref nor a packed-refs file. Undefined otherwise (a symbolic ref, a
 * packed-refs file, something unexpected): the caller asks isomorphic-git then. gitbus writes its clone's refs as
 * loose files (writeLocalRef), so the common case loads nothing (issue 14, start-up).
 */
export function readLooseRef(gitdir: string, ref: string): string | null | undefined {
  assertFullRef(ref);
  try {
    const text = readFileSync(joinPlain(gitdir, ref), 'latin1');
    return /^[0-9a-f]{40}\n?$/.test(text) ? text.slice(0, 40) : undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return undefined;
  }
  return existsSync(joinPlain(gitdir, 'packed-refs')) ? undefined : null;
}
