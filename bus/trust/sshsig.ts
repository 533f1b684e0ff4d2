import { nodeCrypto } from '../../schemas/node-crypto.js';
import { SignatureInvalidError, SignatureMalformedError, SignatureUnsupportedError, type SignatureError, type SignatureFailure, isSignatureError } from './errors.js';
import { EC_CURVES, keyObjectOf, parseKeyBlob, unsupportedKeyType, type SshPublicKey } from './ssh-key.js';
import { WireReader, wireString } from './ssh-wire.js';

/**
 * SSHSIG, the format of `ssh-keygen -Y sign` (OpenSSH PROTOCOL.sshsig), read and verified in-process with
 * node:crypto so that a watcher checks a file without spawning a process. What ssh-keygen refuses is refused here
 * too (test/integration/sshsig.test.ts checks both ways against the real ssh-keygen).
 */

export const SSHSIG_BEGIN = '-----BEGIN SSH SIGNATURE-----';
export const SSHSIG_END = '-----END SSH SIGNATURE-----';
const MAGIC = Buffer.from('SSHSIG', 'latin1');
const SIG_VERSION = 1;
/** A 16384-bit RSA signature with its key is under 6 KiB armored; anything larger is not a signature. */
export const MAX_SIGNATURE_FILE = 16 * 1024;

export const HASH_ALGORITHMS = ['sha256', 'sha512'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

/** One parsed SSHSIG blob (PROTOCOL.sshsig §2). */
export interface Sshsig {
  /** The signer's public key, as the signature carries it: verification proves only that this key signed. */
  key: SshPublicKey;
  namespace: string;
  hashAlgorithm: HashAlgorithm;
  /** The SSH signature algorithm: `ssh-ed25519`, `rsa-sha2-256`, `rsa-sha2-512`, `ecdsa-sha2-nistp256`... */
  algorithm: string;
  /** The signature in the form node:crypto verifies (ECDSA as IEEE P1363 r||s, RSA padded to the modulus). */
  signature: Buffer;
}

/** Decodes the armored form: the header at the very start, base64 lines, the footer, nothing after it but white space. */
export function dearmor(text: string | Uint8Array): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text);
  if (bytes.length > MAX_SIGNATURE_FILE) throw new SignatureMalformedError(`it is more than ${MAX_SIGNATURE_FILE} bytes; a signature file is at most ${MAX_SIGNATURE_FILE}`);
  const s = bytes.toString('latin1').replace(/\r\n/g, '\n');
  if (!s.startsWith(`${SSHSIG_BEGIN}\n`)) {
    throw new SignatureMalformedError(s.trim() === '' ? 'the file is empty' : `it does not start with "${SSHSIG_BEGIN}"`);
  }
  const end = s.indexOf(`\n${SSHSIG_END}`);
  if (end < 0) throw new SignatureMalformedError(`there is no "${SSHSIG_END}" line`);
  if (s.slice(end + 1 + SSHSIG_END.length).trim() !== '') throw new SignatureMalformedError(`there is text after "${SSHSIG_END}"`);
  const body = s.slice(SSHSIG_BEGIN.length + 1, end).split('\n').join('');
  if (body === '') throw new SignatureMalformedError('there is nothing between the header and the footer');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new SignatureMalformedError('the text between the header and the footer is not base64');
  const blob = Buffer.from(body, 'base64');
  if (blob.toString('base64') !== body) throw new SignatureMalformedError('the base64 between the header and the footer is cut short or not canonical');
  return blob;
}

/** The armored form, as ssh-keygen writes it (76-character lines, a newline after the footer). */
export function armor(blob: Uint8Array): string {
  const b64 = Buffer.from(blob).toString('base64');
  // 70 columns, as ssh-keygen writes them (sshbuf_dtob64 with line wrapping), so equal signatures are equal files.
  const lines = b64.match(/.{1,70}/g) ?? [];
  return `${SSHSIG_BEGIN}\n${lines.join('\n')}\n${SSHSIG_END}\n`;
}

/** Splits an SSH signature blob (`string algorithm, string bytes`) and converts it to what node:crypto verifies. */
function readSignature(key: SshPublicKey, sigBlob: Buffer): { algorithm: string; signature: Buffer } {
  const r = new WireReader(sigBlob, 'the signature');
  const algorithm = r.text('the signature algorithm');
  const raw = r.string('the signature bytes');
  r.end();
  if (key.type === 'ssh-rsa') {
    if (algorithm === 'ssh-rsa') throw new SignatureUnsupportedError('it is an RSA signature with SHA-1 (ssh-rsa), which SSHSIG forbids', 'sign again with a current ssh-keygen (it uses rsa-sha2-512)');
    if (algorithm !== 'rsa-sha2-256' && algorithm !== 'rsa-sha2-512') throw new SignatureMalformedError(`an RSA key with the signature algorithm ${JSON.stringify(algorithm)}`);
    const modBytes = Math.ceil(key.bits / 8);
    if (raw.length > modBytes) throw new SignatureMalformedError(`the RSA signature is longer than the key's modulus`);
    // Some signers drop leading zero bytes (OpenSSH pads them back, ssh-rsa.c); OpenSSL wants the full length.
    return { algorithm, signature: raw.length === modBytes ? raw : Buffer.concat([Buffer.alloc(modBytes - raw.length), raw]) };
  }
  if (algorithm !== key.type) throw new SignatureMalformedError(`a ${key.type} key with a ${JSON.stringify(algorithm)} signature`);
  if (key.type === 'ssh-ed25519') {
    if (raw.length !== 64) throw new SignatureMalformedError(`the ed25519 signature is ${raw.length} bytes, not 64`);
    return { algorithm, signature: raw };
  }
  const curve = EC_CURVES[key.type];
  if (!curve) throw new SignatureUnsupportedError(`key type ${key.type}`, 'sign with an ed25519 key');
  const rs = new WireReader(raw, 'the ECDSA signature');
  const rInt = rs.mpintUnsigned('r');
  const sInt = rs.mpintUnsigned('s');
  rs.end();
  if (rInt.length > curve.bytes || sInt.length > curve.bytes || rInt.length === 0 || sInt.length === 0) throw new SignatureMalformedError(`r or s of the ECDSA signature is out of range for ${curve.name}`);
  const pad = (b: Buffer): Buffer => Buffer.concat([Buffer.alloc(curve.bytes - b.length), b]);
  return { algorithm, signature: Buffer.concat([pad(rInt), pad(sInt)]) };
}

/** Parses an SSHSIG blob (PROTOCOL.sshsig §2): magic, version 1, key, namespace, reserved, hash, signature. */
export function parseSshsigBlob(blob: Buffer): Sshsig {
  const r = new WireReader(blob, 'the signature');
  const magic = r.bytes(MAGIC.length, 'the SSHSIG magic');
  if (!magic.equals(MAGIC)) throw new SignatureMalformedError('it does not start with the SSHSIG magic');
  const version = r.u32('the version');
  if (version !== SIG_VERSION) throw new SignatureUnsupportedError(`SSHSIG version ${version}; gitbus reads version ${SIG_VERSION}`, 'sign with ssh-keygen -Y sign (OpenSSH 8.0 or later)');
  const keyBlob = r.string('the public key');
  // Peek at the type first so that a security key or certificate is refused as such, not as a malformed key.
  const keyType = new WireReader(keyBlob, 'the public key').text('the key type');
  const unsupported = unsupportedKeyType(keyType);
  if (unsupported) throw new SignatureUnsupportedError(unsupported.why, unsupported.fix);
  const key = parseKeyBlob(keyBlob);
  const namespace = r.text('the namespace');
  if (namespace === '') throw new SignatureMalformedError('the namespace is empty');
  r.string('the reserved field'); // PROTOCOL.sshsig: ignored when not empty; ssh-keygen verifies over an empty one
  const hash = r.text('the hash algorithm');
  if (!(HASH_ALGORITHMS as readonly string[]).includes(hash)) throw new SignatureUnsupportedError(`the hash algorithm ${JSON.stringify(hash)}; SSHSIG allows sha256 and sha512`, 'sign with ssh-keygen -Y sign (it uses sha512)');
  const sigBlob = r.string('the signature blob');
  r.end();
  const { algorithm, signature } = readSignature(key, sigBlob);
  return { key, namespace, hashAlgorithm: hash as HashAlgorithm, algorithm, signature };
}

/** Parses an armored signature file; throws SignatureMalformedError or SignatureUnsupportedError, nothing else. */
export function parseSshsig(armored: string | Uint8Array): Sshsig {
  return parseSshsigBlob(dearmor(armored));
}

/** What the key actually signs (PROTOCOL.sshsig §3): magic, namespace, empty reserved, hash name, H(message). */
export function signedData(namespace: string, hashAlgorithm: HashAlgorithm, message: Uint8Array): Buffer {
  const digest = nodeCrypto().createHash(hashAlgorithm).update(message).digest();
  return Buffer.concat([MAGIC, wireString(namespace), wireString(''), wireString(hashAlgorithm), wireString(digest)]);
}

function digestFor(sig: Sshsig): string | null {
  if (sig.key.type === 'ssh-ed25519') return null;
  if (sig.algorithm === 'rsa-sha2-256') return 'sha256';
  if (sig.algorithm === 'rsa-sha2-512') return 'sha512';
  return EC_CURVES[sig.key.type]?.hash ?? null;
}

/**
 * Checks that `sig` signs `message` in `namespace`; returns the signer's key. Throws SignatureInvalidError with
 * reason `wrong-namespace` or `mismatch`. Proves only that the key in the signature signed: who that key belongs
 * to is for trust/allowed_signers to say (allowed-signers.ts).
 */
export function verifySshsig(sig: Sshsig, message: Uint8Array, namespace: string): SshPublicKey {
  if (sig.namespace !== namespace) {
    throw new SignatureInvalidError(
      'wrong-namespace',
      `the signature was made for ${JSON.stringify(sig.namespace)}, not ${JSON.stringify(namespace)}`,
      'a signature of one kind of file never counts for another: sign this file itself ("gitbus sign PATH")',
      { expected: namespace, found: sig.namespace, fingerprint: sig.key.fingerprint },
    );
  }
  const data = signedData(namespace, sig.hashAlgorithm, message);
  const key = keyObjectOf(sig.key);
  let ok: boolean;
  try {
    ok = sig.key.type.startsWith('ecdsa-')
      ? nodeCrypto().verify(digestFor(sig), data, { key, dsaEncoding: 'ieee-p1363' }, sig.signature)
      : nodeCrypto().verify(digestFor(sig), data, key, sig.signature);
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new SignatureInvalidError(
      'mismatch',
      `the signature by ${sig.key.fingerprint} does not match this file: it changed after it was signed, or the signature was made for another file`,
      'if the file is as it should be, sign it again ("gitbus sign PATH"); otherwise restore the signed content',
      { fingerprint: sig.key.fingerprint },
    );
  }
  return sig.key;
}

export type SignatureCheck =
  | { ok: true; signer: SshPublicKey; sig: Sshsig }
  | { ok: false; reason: SignatureFailure; error: SignatureError; /** Known when the signature parsed. */ signer?: SshPublicKey };

/** parseSshsig + verifySshsig as a result, for code that reports rather than stops (lint, verify, the watcher). */
export function checkSshsig(armored: string | Uint8Array, message: Uint8Array, namespace: string): SignatureCheck {
  let sig: Sshsig | undefined;
  try {
    sig = parseSshsig(armored);
    return { ok: true, signer: verifySshsig(sig, message, namespace), sig };
  } catch (err) {
    if (!isSignatureError(err)) throw err;
    return sig ? { ok: false, reason: err.reason, error: err, signer: sig.key } : { ok: false, reason: err.reason, error: err };
  }
}
