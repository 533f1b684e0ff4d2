import { describe, it, expect, beforeAll } from 'vitest';
import { SignatureMalformedError, SignatureUnsupportedError, SignatureInvalidError } from '../../bus/trust/errors.js';
import { armor, checkSshsig, dearmor, parseSshsig, signedData, verifySshsig } from '../../bus/trust/sshsig.js';
import { fingerprintOf, parseKeyBlob, parsePublicKeyLine, signerTagOf } from '../../bus/trust/ssh-key.js';
import { armorBlob, forge, forgeBlob, makeKey, mpint, str, toSign, u32, type ForgeKey, type ForgeKeyType } from '../helpers/sshsig-forge.js';

const NS = 'gitbus-handoff@v1';
const MSG = Buffer.from('gitbus handoff v1\nhandoffs/x.md\n---\ntitle: t\n---\n');
const keys = {} as Record<ForgeKeyType, ForgeKey>;

beforeAll(() => {
  for (const t of ['ed25519', 'rsa', 'p256', 'p384', 'p521'] as const) keys[t] = makeKey(t);
});

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('SSHSIG verification in-process', () => {
  it.each(['ed25519', 'rsa', 'p256', 'p384', 'p521'] as const)('a %s signature verifies and names its key and fingerprint', (t) => {
    for (const hash of ['sha256', 'sha512'] as const) {
      const c = checkSshsig(forge({ key: keys[t], namespace: NS, message: MSG, hash }), MSG, NS);
      expect(c.ok).toBe(true);
      if (!c.ok) return;
      expect(c.signer.line).toBe(keys[t].line);
      expect(c.signer.fingerprint).toBe(fingerprintOf(keys[t].blob));
      expect(c.signer.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      expect(c.sig.hashAlgorithm).toBe(hash);
    }
  });

  it('verifies RSA with rsa-sha2-256 as well as rsa-sha2-512', () => {
    for (const alg of ['rsa-sha2-256', 'rsa-sha2-512'] as const) {
      const c = checkSshsig(forge({ key: keys.rsa, namespace: NS, message: MSG, rsaAlgorithm: alg }), MSG, NS);
      expect(c.ok && c.sig.algorithm).toBe(alg);
    }
  });

  it('refuses changed bytes as a mismatch', () => {
    const c = checkSshsig(forge({ key: keys.ed25519, namespace: NS, message: MSG }), Buffer.concat([MSG, Buffer.from(' ')]), NS);
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.reason).toBe('mismatch');
    expect(c.error).toBeInstanceOf(SignatureInvalidError);
    expect(c.signer?.line).toBe(keys.ed25519.line);
  });

  it('refuses another namespace as wrong-namespace, naming both', () => {
    const c = checkSshsig(forge({ key: keys.p256, namespace: 'gitbus-claim@v1', message: MSG }), MSG, NS);
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.reason).toBe('wrong-namespace');
    expect(c.error.message).toContain('gitbus-claim@v1');
    expect(c.error.message).toContain(NS);
  });

  it('refuses a blob that claims the expected namespace but was signed in another as a mismatch', () => {
    const c = checkSshsig(forge({ key: keys.ed25519, namespace: 'other', claimedNamespace: NS, message: MSG }), MSG, NS);
    expect(!c.ok && c.reason).toBe('mismatch');
  });

  it('refuses a signature by one key carrying another key as a mismatch', () => {
    const c = checkSshsig(forge({ key: keys.ed25519, keyBlob: makeKey('ed25519').blob, namespace: NS, message: MSG }), MSG, NS);
    expect(!c.ok && c.reason).toBe('mismatch');
  });

  it('builds the signed data of PROTOCOL.sshsig §3', () => {
    expect(signedData(NS, 'sha512', MSG).equals(toSign(NS, 'sha512', MSG))).toBe(true);
    expect(signedData(NS, 'sha256', MSG).subarray(0, 6).toString()).toBe('SSHSIG');
  });

  it('armors as ssh-keygen does and reads it back', () => {
    const blob = forgeBlob({ key: keys.ed25519, namespace: NS, message: MSG });
    const text = armor(blob);
    expect(text).toBe(armorBlob(blob));
    expect(dearmor(text).equals(blob)).toBe(true);
    expect(dearmor(text.replace(/\n/g, '\r\n')).equals(blob)).toBe(true);
  });
});

describe('malformed and unsupported signatures are refused with their reason', () => {
  const good = (): Buffer => forgeBlob({ key: keys.ed25519, namespace: NS, message: MSG });
  const cases: [string, () => string | Buffer, RegExp][] = [
    ['an empty file', () => '', /empty/],
    ['no header', () => 'hello', /does not start with/],
    ['no footer', () => armorBlob(good()).replace('-----END SSH SIGNATURE-----', ''), /no "-----END/],
    ['text after the footer', () => `${armorBlob(good())}more`, /text after/],
    ['not base64', () => armorBlob(good()).replace(/\n[A-Za-z0-9+/]{4}/, '\n!!!!'), /not base64/],
    ['cut short', () => armorBlob(good().subarray(0, 40)), /cut short/],
    ['trailing bytes', () => armorBlob(forgeBlob({ key: keys.ed25519, namespace: NS, message: MSG, trailing: Buffer.from([0]) })), /unexpected byte/],
    ['the wrong magic', () => armorBlob(Buffer.concat([Buffer.from('SSHSIX'), good().subarray(6)])), /magic/],
    ['an empty namespace', () => armorBlob(forgeBlob({ key: keys.ed25519, namespace: '', message: MSG })), /namespace is empty/],
    ['an ed25519 key with an RSA signature name', () => armorBlob(forgeBlob({ key: keys.ed25519, namespace: NS, message: MSG, sigAlgorithmName: 'rsa-sha2-512' })), /signature/],
    ['an over-long file', () => 'x'.repeat(20_000), /at most/],
  ];
  it.each(cases)('%s is malformed', (_name, make, why) => {
    const err = thrown(() => parseSshsig(make()));
    expect(err).toBeInstanceOf(SignatureMalformedError);
    expect((err as Error).message).toMatch(why);
    const c = checkSshsig(make(), MSG, NS);
    expect(!c.ok && c.reason).toBe('malformed');
  });

  const unsupported: [string, () => Buffer, RegExp][] = [
    ['version 2', () => forgeBlob({ key: keys.ed25519, namespace: NS, message: MSG, version: 2 }), /version 2/],
    ['a security key', () => forgeBlob({ key: keys.ed25519, namespace: NS, message: MSG, keyBlob: Buffer.concat([str('sk-ssh-ed25519@openssh.com'), str(Buffer.alloc(32)), str('ssh:')]) }), /security-key.*not.*yet/],
    ['a certificate', () => forgeBlob({ key: keys.ed25519, namespace: NS, message: MSG, keyBlob: Buffer.concat([str('ssh-ed25519-cert-v01@openssh.com'), str('x')]) }), /certificate/],
    ['a DSA key', () => forgeBlob({ key: keys.ed25519, namespace: NS, message: MSG, keyBlob: Buffer.concat([str('ssh-dss'), str('x')]) }), /DSA/],
    ['SHA-1 RSA', () => forgeBlob({ key: keys.rsa, namespace: NS, message: MSG, sigAlgorithmName: 'ssh-rsa' }), /SHA-1/],
    ['hash md5', () => Buffer.concat([Buffer.from('SSHSIG'), u32(1), str(keys.ed25519.blob), str(NS), str(''), str('md5'), str(Buffer.concat([str('ssh-ed25519'), str(Buffer.alloc(64))]))]), /md5/],
  ];
  it.each(unsupported)('%s is unsupported, with a fix', (_name, make, why) => {
    const err = thrown(() => parseSshsig(armorBlob(make())));
    expect(err).toBeInstanceOf(SignatureUnsupportedError);
    expect((err as Error).message).toMatch(why);
    expect((err as SignatureUnsupportedError).fix).not.toBe('');
  });

  it('never throws anything but a typed error on random bytes', () => {
    for (let i = 0; i < 300; i++) {
      const blob = good();
      const at = i % blob.length;
      blob[at] = (blob[at] ?? 0) ^ (1 + (i % 255));
      const c = checkSshsig(armorBlob(blob), MSG, NS);
      expect(c.ok).toBe(false);
    }
  });
});

describe('SSH public keys', () => {
  it('parses a key line, checks the type against the blob, and computes fingerprint and tag', () => {
    const { key, comment } = parsePublicKeyLine(`${keys.p384.line} alice@example.com`);
    expect(key.type).toBe('ecdsa-sha2-nistp384');
    expect(key.bits).toBe(384);
    expect(comment).toBe('alice@example.com');
    expect(key.tag).toBe(signerTagOf(keys.p384.blob));
    expect(key.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(() => parsePublicKeyLine(keys.p384.line.replace('ecdsa-sha2-nistp384', 'ssh-ed25519'))).toThrow(/holds a ecdsa-sha2-nistp384 key/);
  });

  it('refuses RSA keys shorter than OpenSSH accepts and ECDSA points off the curve', () => {
    const small = Buffer.concat([str('ssh-rsa'), mpint(Buffer.from([1, 0, 1])), mpint(Buffer.alloc(64, 0xff))]);
    expect(() => parseKeyBlob(small)).toThrow(SignatureUnsupportedError);
    const q = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]);
    expect(() => parseKeyBlob(Buffer.concat([str('ecdsa-sha2-nistp256'), str('nistp256'), str(q)]))).toThrow(SignatureMalformedError);
  });

  it('verifySshsig throws a typed error that a script can branch on', () => {
    const sig = parseSshsig(forge({ key: keys.ed25519, namespace: NS, message: MSG }));
    const err = thrown(() => verifySshsig(sig, MSG, 'gitbus-response@v1'));
    expect(err).toBeInstanceOf(SignatureInvalidError);
    expect((err as SignatureInvalidError).code).toBe('SIGNATURE_INVALID');
    expect((err as SignatureInvalidError).data['reason']).toBe('wrong-namespace');
  });
});
