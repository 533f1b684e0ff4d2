import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_FILE_BYTES } from '../../schemas/field-limits.js';
import { classifyChainName } from './chain-files.js';
import { maxHandoffAgeIn, newestPolicy, type AgeBound } from './undated-handoff.js';

/**
 * What the trust root in a checkout of the bus (its top folder `root`) says of handoff age, for `gitbus sign` and
 * `gitbus lint PATH` (undated-handoff.ts); null when the checkout has no trust root (nothing in trust/chain/). Read
 * as gitbus reads a checkout: no symbolic link is followed, and a file past the bus file limit is not read.
 */
export function checkoutAgeBound(root: string): AgeBound | null {
  const trust = join(root, 'trust');
  const chain = join(trust, 'chain');
  for (const dir of [trust, chain]) {
    try {
      if (!lstatSync(dir).isDirectory()) return null;
    } catch {
      return null;
    }
  }
  let names: string[];
  try {
    names = readdirSync(chain);
  } catch {
    return null;
  }
  const versions = names.flatMap((n) => {
    const c = classifyChainName(n);
    return c ? [c.version] : [];
  });
  if (versions.length === 0) return null;
  const newest = newestPolicy(names);
  if (!newest) return { version: Math.max(...versions), maxHandoffAge: undefined };
  return { version: newest.version, maxHandoffAge: maxHandoffAgeIn(newest.version, readPlainFile(join(chain, newest.name))) };
}

/** A regular file's bytes, opened without following a link at its name (undefined: not one, or too large). */
function readPlainFile(path: string): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_FILE_BYTES) return undefined;
    const buf = Buffer.alloc(st.size);
    let at = 0;
    while (at < buf.length) {
      const n = readSync(fd, buf, at, buf.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return buf.subarray(0, at);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
