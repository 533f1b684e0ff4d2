import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * INTERIM: what the trust root needs from the signature library (bus/trust/sshsig.ts, sign.ts,
 * allowed-signers.ts, messages.ts of h/sig), until it is merged. Only ed25519 is verified here.
 */

export const TRUST_NAMESPACE = 'gitbus-trust@v1';

export interface SignerEntry {
  principals: string[];
  namespaces?: string[];
  validAfter?: number;
  validBefore?: number;
  keyType: string;
  key: string;
  fingerprint: string;
  line: number;
}

export function fingerprintOf(keyBase64: string): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(keyBase64, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

export function parseSigners(text: string): { entries: SignerEntry[]; problems: { line: number; reason: string }[] } {
  const entries: SignerEntry[] = [];
  const problems: { line: number; reason: string }[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(\S+)\s+(?:(\S*=\S*)\s+)?(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+)\s+([A-Za-z0-9+/=]+)/.exec(line);
    if (!m) {
      problems.push({ line: i + 1, reason: 'not an allowed_signers line' });
      return;
    }
    const e: SignerEntry = { principals: (m[1] ?? '').split(','), keyType: m[3] ?? '', key: m[4] ?? '', fingerprint: fingerprintOf(m[4] ?? ''), line: i + 1 };
    const ns = /namespaces="([^"]*)"/.exec(m[2] ?? '');
    if (ns) e.namespaces = (ns[1] ?? '').split(',');
    entries.push(e);
  });
  return { entries, problems };
}

export function parsePublicKey(text: string): { keyType: string; key: string; fingerprint: string } | null {
  const m = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+)\s+([A-Za-z0-9+/=]+)/.exec(text.trim());
  if (!m) return null;
  return { keyType: m[1] ?? '', key: m[2] ?? '', fingerprint: fingerprintOf(m[2] ?? '') };
}

export function signedMessage(kind: string, path: string, bytes: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(`gitbus ${kind} v1\n${path}\n`, 'utf8'), Buffer.from(bytes)]);
}

export function coSignaturePath(path: string, fingerprint: string): string {
  return `signatures/${path}.${fingerprint.slice(7, 23).replace(/\+/g, '-').replace(/\//g, '_')}.sig`;
}

class Reader {
  off = 0;
  constructor(readonly b: Buffer) {}
  u32(): number {
    const v = this.b.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  str(): Buffer {
    const n = this.u32();
    const s = this.b.subarray(this.off, this.off + n);
    if (s.length !== n) throw new Error('short');
    this.off += n;
    return s;
  }
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

export function verifySignature(armored: string, message: Uint8Array, namespace: string): { ok: true; fingerprint: string; keyType: string; key: string } | { ok: false; reason: string } {
  try {
    const body = armored.replace(/-----(BEGIN|END) SSH SIGNATURE-----/g, '').replace(/\s+/g, '');
    const blob = Buffer.from(body, 'base64');
    if (blob.subarray(0, 6).toString() !== 'SSHSIG') return { ok: false, reason: 'malformed' };
    const r = new Reader(blob.subarray(6));
    r.u32();
    const pub = r.str();
    const ns = r.str().toString();
    const reserved = r.str();
    const hashAlg = r.str().toString();
    const sig = new Reader(r.str());
    if (ns !== namespace) return { ok: false, reason: 'wrong-namespace' };
    const pr = new Reader(pub);
    const keyType = pr.str().toString();
    if (keyType !== 'ssh-ed25519') return { ok: false, reason: 'unsupported' };
    const raw = pr.str();
    sig.str();
    const sigBytes = sig.str();
    const h = createHash(hashAlg === 'sha256' ? 'sha256' : 'sha512').update(message).digest();
    const signed = Buffer.concat([Buffer.from('SSHSIG'), sshString(Buffer.from(ns)), sshString(reserved), sshString(Buffer.from(hashAlg)), sshString(h)]);
    const keyObj = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    if (!cryptoVerify(null, signed, keyObj, sigBytes)) return { ok: false, reason: 'mismatch' };
    const key = pub.toString('base64');
    return { ok: true, fingerprint: fingerprintOf(key), keyType, key };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}

export async function signMessage(keyFile: string, namespace: string, message: Uint8Array): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gitbus-sign-'));
  try {
    const file = join(dir, 'msg');
    await writeFile(file, message);
    await new Promise<void>((resolve, reject) => execFile('ssh-keygen', ['-Y', 'sign', '-n', namespace, '-f', keyFile, file], (err) => (err ? reject(err) : resolve())));
    return await readFile(`${file}.sig`, 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The public key of a key file: `<file>.pub` next to a private key, or the file itself when it is a public key. */
export async function publicKeyOfKeyFile(keyFile: string): Promise<{ keyType: string; key: string; fingerprint: string }> {
  const own = parsePublicKey(await readFile(keyFile, 'utf8').catch(() => ''));
  if (own) return own;
  const pub = parsePublicKey(await readFile(`${keyFile}.pub`, 'utf8'));
  if (!pub) throw new Error(`no public key for ${keyFile}`);
  return pub;
}
