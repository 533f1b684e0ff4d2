import { nodeCrypto } from '../../schemas/node-crypto.js';
import { isSignatureError, SignatureMalformedError, SigningKeyInvalidError } from './errors.js';
import { parseKeyBlob, parsePublicKeyLine, type SshPublicKey } from './ssh-key.js';
import { WireReader, wireString } from './ssh-wire.js';

/**
 * What a key file given to gitbus is, read without ever asking for a passphrase: a public key (its private half
 * must be in ssh-agent), or a private key, encrypted or not, with its public key. The OpenSSH private format keeps
 * the public key in clear before the encrypted part (PROTOCOL.key), so an encrypted key's public half is known
 * without the passphrase.
 */
export type KeyFile =
  | { kind: 'public'; key: SshPublicKey; comment: string }
  | { kind: 'private'; key: SshPublicKey; encrypted: boolean };

const OPENSSH_BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const OPENSSH_END = '-----END OPENSSH PRIVATE KEY-----';
const OPENSSH_MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

function pemBody(text: string, begin: string, end: string): Buffer | null {
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return null;
  return Buffer.from(text.slice(a + begin.length, b).replace(/\s+/g, ''), 'base64');
}

/** The SSH blob of a PEM/PKCS#8 key, through its JWK (unencrypted keys only). */
function blobFromPem(text: string): Buffer {
  const jwk = nodeCrypto().createPrivateKey(text).export({ format: 'jwk' });
  const b = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'base64url');
  const mpint = (v: Buffer): Buffer => {
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    const t = v.subarray(i);
    return wireString((t[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.alloc(1), t]) : t);
  };
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return Buffer.concat([wireString('ssh-ed25519'), wireString(b(jwk.x))]);
  if (jwk.kty === 'RSA') return Buffer.concat([wireString('ssh-rsa'), mpint(b(jwk.e)), mpint(b(jwk.n))]);
  const curves: Record<string, string> = { 'P-256': 'nistp256', 'P-384': 'nistp384', 'P-521': 'nistp521' };
  const curve = jwk.kty === 'EC' ? curves[jwk.crv ?? ''] : undefined;
  if (curve) return Buffer.concat([wireString(`ecdsa-sha2-${curve}`), wireString(curve), wireString(Buffer.concat([Buffer.from([4]), b(jwk.x), b(jwk.y)]))]);
  throw new Error(`a ${jwk.kty ?? 'unknown'} key, which SSH signing does not use`);
}

/** Reads a key file's text. `path` is for messages; `pubText` is the `<path>.pub` next to a PEM key, if any. */
export function readKeyFile(text: string, path: string, pubText?: string): KeyFile {
  const bad = (why: string): SigningKeyInvalidError =>
    new SigningKeyInvalidError(path, why, 'give an SSH key file: a private key such as ~/.ssh/id_ed25519, or its .pub file when the private half is in ssh-agent');
  try {
    if (text.includes(OPENSSH_BEGIN)) {
      const body = pemBody(text, OPENSSH_BEGIN, OPENSSH_END);
      if (!body || !body.subarray(0, OPENSSH_MAGIC.length).equals(OPENSSH_MAGIC)) throw bad('the OpenSSH private key is damaged');
      const r = new WireReader(body.subarray(OPENSSH_MAGIC.length), 'the private key file');
      const cipher = r.text('the cipher name');
      r.string('the KDF name');
      r.string('the KDF options');
      const n = r.u32('the number of keys');
      if (n !== 1) throw bad(`it holds ${n} keys; give a file with one`);
      return { kind: 'private', key: parseKeyBlob(Buffer.from(r.string('the public key')), `the key in ${path}`), encrypted: cipher !== 'none' };
    }
    if (/-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(text)) {
      const encrypted = text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type:\s*4,ENCRYPTED/.test(text);
      if (encrypted) {
        if (pubText === undefined) throw bad(`it is a passphrase-protected PEM key without ${path}.pub next to it`);
        return { kind: 'private', key: parsePublicKeyLine(pubText.trim(), `${path}.pub`).key, encrypted: true };
      }
      return { kind: 'private', key: parseKeyBlob(blobFromPem(text), `the key in ${path}`), encrypted: false };
    }
    const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    const first = lines[0];
    if (first === undefined) throw bad('the file is empty');
    // Keys concatenated into one file (cat a.pub b.pub): taking the first would list someone else's key by mistake.
    if (lines.length > 1) throw bad(`it holds ${lines.length} lines of keys; give a file with one`);
    const { key, comment } = parsePublicKeyLine(first.trim(), `the key in ${path}`);
    return { kind: 'public', key, comment };
  } catch (err) {
    if (err instanceof SigningKeyInvalidError) throw err;
    // A key that does not parse raises what a signature that does not parse raises; its "not a valid SSH
    // signature" would send the reader looking for a signature file.
    if (err instanceof SignatureMalformedError) throw new SigningKeyInvalidError(path, String(err.data['what']).split('\n')[0] ?? '', err.fix);
    if (isSignatureError(err)) throw new SigningKeyInvalidError(path, err.message.split('\n')[0] ?? '', err.fix);
    throw bad(`it is not an SSH key (${(err as Error).message.split('\n')[0] ?? ''})`);
  }
}
