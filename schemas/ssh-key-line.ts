import type { Violation } from './rule.js';

/**
 * An SSH public key as one line, `TYPE BASE64` (no options, no comment), as a node card offers its node's key
 * (docs/PROTOCOL.md §3). Checked here without cryptography: the type is one gitbus verifies and the base64 is a
 * key blob of that type; bus/trust/ssh-key.ts parses the key itself before anything trusts it. Pure, without zod (the
 * schema is in ssh-key-line-schema.ts), so that a command that reads no file never loads zod (cli/schemas-script.ts).
 */

/** The SSH public key types gitbus verifies (docs/PROTOCOL.md §11). */
export const SSH_KEY_TYPES = ['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'] as const;
/** Room for an RSA key of 16384 bits (OpenSSH's largest) and then some. */
export const MAX_KEY_LINE_BYTES = 16 * 1024;
const LINE_RE = /^(\S+) ([A-Za-z0-9+/]+={0,2})$/;
const FIX = 'write the key as its .pub file has it, without the comment: "ssh-ed25519 AAAA..." (gitbus writes this field itself)';

/** The type named inside a key blob (its first SSH string), or undefined when the blob is too short for one. */
function blobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const n = blob.readUInt32BE(0);
  if (n > 100 || blob.length < 4 + n) return undefined;
  return blob.subarray(4, 4 + n).toString('latin1');
}

export function sshKeyLineViolation(value: string): Violation | undefined {
  if (value.length > MAX_KEY_LINE_BYTES) return { reason: `the key line is ${value.length} characters long, more than ${MAX_KEY_LINE_BYTES} (16 KiB)`, fix: FIX };
  const m = LINE_RE.exec(value);
  if (!m?.[1] || !m[2]) return { reason: 'it is not one line "TYPE BASE64"', fix: FIX };
  const type = m[1];
  if (!(SSH_KEY_TYPES as readonly string[]).includes(type)) return { reason: `${JSON.stringify(type.slice(0, 60))} is not a key type gitbus verifies`, fix: `use a key of type ${SSH_KEY_TYPES.join(', ')}` };
  const blob = Buffer.from(m[2], 'base64');
  if (blob.toString('base64') !== m[2]) return { reason: 'the base64 of the key is not canonical', fix: FIX };
  if (blobType(blob) !== type) return { reason: `the key's base64 does not hold a ${type} key`, fix: FIX };
  return undefined;
}
