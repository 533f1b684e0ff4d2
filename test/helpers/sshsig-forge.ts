import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/**
 * Builds SSHSIG signatures in-process with node:crypto, field by field, so tests can make every malformed variant
 * (and signature algorithms ssh-keygen does not produce, such as rsa-sha2-256) and check them against gitbus and
 * against the real `ssh-keygen -Y verify`.
 */

export function str(v: string | Uint8Array): Buffer {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);
  const n = Buffer.alloc(4);
  n.writeUInt32BE(b.length);
  return Buffer.concat([n, b]);
}

export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

export function mpint(v: Buffer): Buffer {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  const t = v.subarray(i);
  return str((t[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.alloc(1), t]) : t);
}

export type ForgeKeyType = 'ed25519' | 'rsa' | 'p256' | 'p384' | 'p521';

export interface ForgeKey {
  type: ForgeKeyType;
  privateKey: KeyObject;
  sshType: string;
  blob: Buffer;
  line: string;
}

const CURVES = { p256: ['prime256v1', 'nistp256', 'sha256', 32], p384: ['secp384r1', 'nistp384', 'sha384', 48], p521: ['secp521r1', 'nistp521', 'sha512', 66] } as const;

export function makeKey(type: ForgeKeyType): ForgeKey {
  const b = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'base64url');
  if (type === 'ed25519') {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const blob = Buffer.concat([str('ssh-ed25519'), str(b(publicKey.export({ format: 'jwk' }).x))]);
    return { type, privateKey, sshType: 'ssh-ed25519', blob, line: `ssh-ed25519 ${blob.toString('base64')}` };
  }
  if (type === 'rsa') {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    const blob = Buffer.concat([str('ssh-rsa'), mpint(b(jwk.e)), mpint(b(jwk.n))]);
    return { type, privateKey, sshType: 'ssh-rsa', blob, line: `ssh-rsa ${blob.toString('base64')}` };
  }
  const [named, name] = CURVES[type];
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: named });
  const jwk = publicKey.export({ format: 'jwk' });
  const sshType = `ecdsa-sha2-${name}`;
  const blob = Buffer.concat([str(sshType), str(name), str(Buffer.concat([Buffer.from([4]), b(jwk.x), b(jwk.y)]))]);
  return { type, privateKey, sshType, blob, line: `${sshType} ${blob.toString('base64')}` };
}

export interface ForgeOptions {
  key: ForgeKey;
  namespace: string;
  message: Uint8Array;
  hash?: 'sha256' | 'sha512';
  /** RSA only: the signature algorithm. */
  rsaAlgorithm?: 'rsa-sha2-256' | 'rsa-sha2-512';
  /** What the blob claims, independently of what was signed (to build malformed variants). */
  version?: number;
  claimedNamespace?: string;
  keyBlob?: Buffer;
  sigAlgorithmName?: string;
  trailing?: Buffer;
}

/** The signed data of PROTOCOL.sshsig §3, built independently of gitbus's own code. */
export function toSign(namespace: string, hash: 'sha256' | 'sha512', message: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from('SSHSIG'), str(namespace), str(''), str(hash), str(createHash(hash).update(message).digest())]);
}

export function forgeBlob(o: ForgeOptions): Buffer {
  const hash = o.hash ?? 'sha512';
  const data = toSign(o.namespace, hash, o.message);
  let sigBlob: Buffer;
  if (o.key.type === 'ed25519') sigBlob = Buffer.concat([str(o.sigAlgorithmName ?? 'ssh-ed25519'), str(sign(null, data, o.key.privateKey))]);
  else if (o.key.type === 'rsa') {
    const alg = o.rsaAlgorithm ?? 'rsa-sha2-512';
    sigBlob = Buffer.concat([str(o.sigAlgorithmName ?? alg), str(sign(alg === 'rsa-sha2-256' ? 'sha256' : 'sha512', data, o.key.privateKey))]);
  } else {
    const [, , digest, size] = CURVES[o.key.type];
    const rs = sign(digest, data, { key: o.key.privateKey, dsaEncoding: 'ieee-p1363' });
    sigBlob = Buffer.concat([str(o.sigAlgorithmName ?? o.key.sshType), str(Buffer.concat([mpint(rs.subarray(0, size)), mpint(rs.subarray(size))]))]);
  }
  return Buffer.concat([
    Buffer.from('SSHSIG'),
    u32(o.version ?? 1),
    str(o.keyBlob ?? o.key.blob),
    str(o.claimedNamespace ?? o.namespace),
    str(''),
    str(hash),
    str(sigBlob),
    o.trailing ?? Buffer.alloc(0),
  ]);
}

export function armorBlob(blob: Buffer): string {
  return `-----BEGIN SSH SIGNATURE-----\n${(blob.toString('base64').match(/.{1,70}/g) ?? []).join('\n')}\n-----END SSH SIGNATURE-----\n`;
}

export function forge(o: ForgeOptions): string {
  return armorBlob(forgeBlob(o));
}
