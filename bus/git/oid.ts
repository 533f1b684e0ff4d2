import { InvalidGitArgumentError } from './errors.js';

/** The all-zero object id: "no object", used as the old value when creating a ref. */
export const ZERO_OID = '0000000000000000000000000000000000000000';

const OID_RE = /^[0-9a-f]{40}$/;

export function isOid(value: string): boolean {
  return OID_RE.test(value);
}

/** Lower-case 40-hex sha1 only: git compares oids as strings on the wire, so upper case would never match. */
export function assertOid(value: string, what = 'object id'): void {
  if (!OID_RE.test(value)) throw new InvalidGitArgumentError(what, value);
}

/** Full ref names only (`refs/...`), without the characters that would break a pkt-line command. */
export function assertFullRef(ref: string): void {
  if (!/^refs\/[^\s\0^~:?*[\\]+$/.test(ref) || ref.includes('..') || ref.endsWith('/') || ref.endsWith('.lock')) {
    throw new InvalidGitArgumentError('ref name', ref);
  }
}
