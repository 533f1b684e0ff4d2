import { nodeCrypto } from '../../schemas/node-crypto.js';
import type { KeyObject } from 'node:crypto';
import { SignatureMalformedError, SignatureUnsupportedError } from './errors.js';
import { SSH_KEY_TYPES } from '../../schemas/ssh-key-line.js';
import { WireReader } from './ssh-wire.js';

/** The SSH public key types gitbus verifies in-process (docs/PROTOCOL.md §11). */
export const KEY_TYPES = SSH_KEY_TYPES;
export type KeyType = (typeof KEY_TYPES)[number];

/** Hex digits of SHA-256(key blob) that name a co-signature file (schemas/layout.ts SIGNER_TAG_LENGTH). */
const TAG_HEX = 16;

/** One SSH public key, parsed from its wire blob. */
export interface SshPublicKey {
  type: KeyType;
  /** The wire encoding (RFC 4253 §6.6): what fingerprints hash and what keys are compared by. */
  blob: Buffer;
  /** As authorized_keys and allowed_signers write it: `ssh-ed25519 AAAA...` (no comment). */
  line: string;
  /** As `ssh-keygen -l` prints it: `SHA256:` and the unpadded base64 of SHA-256(blob). */
  fingerprint: string;
  /** The first 16 hex digits of SHA-256(blob), lower case: names a co-signature file (`<path>.<tag>.sig`). */
  tag: string;
  /** Key size in bits: 256 for ed25519, the modulus for RSA, the curve for ECDSA. */
  bits: number;
}

interface EcCurve {
  name: string;
  jwk: 'P-256' | 'P-384' | 'P-521';
  bytes: number;
  hash: 'sha256' | 'sha384' | 'sha512';
}

/** RFC 5656 §6.2.1: each curve's signatures hash with its own SHA-2. */
export const EC_CURVES: Record<string, EcCurve> = {
  'ecdsa-sha2-nistp256': { name: 'nistp256', jwk: 'P-256', bytes: 32, hash: 'sha256' },
  'ecdsa-sha2-nistp384': { name: 'nistp384', jwk: 'P-384', bytes: 48, hash: 'sha384' },
  'ecdsa-sha2-nistp521': { name: 'nistp521', jwk: 'P-521', bytes: 66, hash: 'sha512' },
};

// OpenSSH's own bounds (SSH_RSA_MINIMUM_MODULUS_SIZE, SSHBUF_MAX_BIGNUM): ssh-keygen refuses keys outside them.
const RSA_MIN_BITS = 1024;
const RSA_MAX_BITS = 16384;

/** Why a key type is not verified, with what to do instead; undefined for the types gitbus verifies. */
export function unsupportedKeyType(type: string): { why: string; fix: string } | undefined {
  if ((KEY_TYPES as readonly string[]).includes(type)) return undefined;
  if (type.startsWith('sk-')) {
    return {
      why: `${type} is a security-key (FIDO) key; gitbus does not verify security-key signatures yet`,
      fix: 'sign with an ed25519, ECDSA or RSA key (it may live in ssh-agent); security keys are planned',
    };
  }
  if (type.endsWith('-cert-v01@openssh.com')) {
    return { why: `${type} is an SSH certificate; gitbus trusts keys, not certificate authorities`, fix: 'sign with the plain key (the certificate\'s public key) and list that key in trust/allowed_signers' };
  }
  if (type === 'ssh-dss') return { why: 'DSA keys are obsolete and OpenSSH no longer accepts them', fix: 'sign with an ed25519 key ("ssh-keygen -t ed25519")' };
  return { why: `unknown key type ${JSON.stringify(type.slice(0, 60))}`, fix: 'sign with an ed25519, ECDSA (nistp256/384/521) or RSA key' };
}

export function fingerprintOf(blob: Uint8Array): string {
  return `SHA256:${nodeCrypto().createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export function signerTagOf(blob: Uint8Array): string {
  return nodeCrypto().createHash('sha256').update(blob).digest('hex').slice(0, TAG_HEX);
}

/** Parses a public key's wire blob; refuses types gitbus does not verify and keys OpenSSH would refuse. */
export function parseKeyBlob(blob: Buffer, what = 'the public key'): SshPublicKey {
  const r = new WireReader(blob, what);
  const type = r.text('the key type');
  const unsupported = unsupportedKeyType(type);
  if (unsupported) throw new SignatureUnsupportedError(unsupported.why, unsupported.fix);
  let bits: number;
  if (type === 'ssh-ed25519') {
    const pk = r.string('the ed25519 key');
    if (pk.length !== 32) throw new SignatureMalformedError(`the ed25519 key in ${what} is ${pk.length} bytes, not 32`);
    bits = 256;
  } else if (type === 'ssh-rsa') {
    const e = r.mpintUnsigned('the RSA exponent');
    const n = r.mpintUnsigned('the RSA modulus');
    if (e.length === 0 || n.length === 0) throw new SignatureMalformedError(`the RSA key in ${what} has a zero exponent or modulus`);
    bits = n.length * 8 - Math.clz32(n[0] ?? 0) + 24;
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
      throw new SignatureUnsupportedError(`the RSA key has ${bits} bits; OpenSSH accepts ${RSA_MIN_BITS} to ${RSA_MAX_BITS}`, 'sign with an ed25519 key, or an RSA key of at least 3072 bits');
    }
  } else {
    const curve = EC_CURVES[type];
    if (!curve) throw new SignatureUnsupportedError(`unknown key type ${type}`, 'sign with an ed25519 key');
    const name = r.text('the curve name');
    if (name !== curve.name) throw new SignatureMalformedError(`${what} is a ${type} key naming the curve ${JSON.stringify(name)}`);
    const q = r.string('the ECDSA point');
    if (q.length !== 1 + 2 * curve.bytes || q[0] !== 0x04) throw new SignatureMalformedError(`the ECDSA point in ${what} is not an uncompressed ${curve.name} point`);
    bits = Number(curve.name.slice('nistp'.length));
  }
  r.end();
  const key: SshPublicKey = {
    type: type as KeyType,
    blob: Buffer.from(blob),
    line: `${type} ${blob.toString('base64')}`,
    fingerprint: fingerprintOf(blob),
    tag: signerTagOf(blob),
    bits,
  };
  keyObjectOf(key); // a point off the curve, an RSA key OpenSSL refuses: malformed now, not at verification
  return key;
}

/**
 * Parses `type base64 [comment]`, as an authorized_keys or .pub file line (no options). The type before the
 * base64 must agree with the one inside the blob, as ssh-keygen requires.
 */
export function parsePublicKeyLine(text: string, what = 'the public key'): { key: SshPublicKey; comment: string } {
  const m = /^\s*(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*?))?\s*$/.exec(text);
  if (!m?.[1] || !m[2]) throw new SignatureMalformedError(`${what} is not a line "TYPE BASE64 [COMMENT]"`, 'give an SSH public key line such as the content of ~/.ssh/id_ed25519.pub');
  const blob = Buffer.from(m[2], 'base64');
  if (blob.toString('base64') !== m[2]) throw new SignatureMalformedError(`the base64 of ${what} is not canonical`, 'copy the key line again from its .pub file');
  const key = parseKeyBlob(blob, what);
  if (key.type !== m[1]) throw new SignatureMalformedError(`${what} says ${m[1]} but holds a ${key.type} key`, 'copy the key line again from its .pub file');
  return { key, comment: m[3] ?? '' };
}

const keyObjects = new WeakMap<SshPublicKey, KeyObject>();

function b64url(b: Buffer): string {
  return b.toString('base64url');
}

/** The node:crypto key for a parsed SSH key (through JWK, so no ASN.1 is built by hand). */
export function keyObjectOf(key: SshPublicKey): KeyObject {
  const hit = keyObjects.get(key);
  if (hit) return hit;
  const r = new WireReader(key.blob, 'the public key');
  r.text('the key type');
  let obj: KeyObject;
  try {
    if (key.type === 'ssh-ed25519') {
      obj = nodeCrypto().createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(r.string('the ed25519 key')) }, format: 'jwk' });
    } else if (key.type === 'ssh-rsa') {
      const e = r.mpintUnsigned('the RSA exponent');
      const n = r.mpintUnsigned('the RSA modulus');
      obj = nodeCrypto().createPublicKey({ key: { kty: 'RSA', e: b64url(e), n: b64url(n) }, format: 'jwk' });
    } else {
      const curve = EC_CURVES[key.type];
      if (!curve) throw new Error(key.type);
      r.text('the curve name');
      const q = r.string('the ECDSA point');
      obj = nodeCrypto().createPublicKey({ key: { kty: 'EC', crv: curve.jwk, x: b64url(q.subarray(1, 1 + curve.bytes)), y: b64url(q.subarray(1 + curve.bytes)) }, format: 'jwk' });
    }
  } catch (err) {
    throw new SignatureMalformedError(`the ${key.type} public key is not a valid key (${(err as Error).message.split('\n')[0] ?? ''})`);
  }
  keyObjects.set(key, obj);
  return obj;
}

export function sameKey(a: SshPublicKey, b: SshPublicKey): boolean {
  return a.blob.equals(b.blob);
}
