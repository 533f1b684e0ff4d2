import { nodeCrypto } from '../../schemas/node-crypto.js';
import type { KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { signaturePathFor } from '../../schemas/signature-layout.js';
import { SigningKeyInvalidError } from './errors.js';
import { signedMessage } from './messages.js';
import { armor, signedData } from './sshsig.js';
import { parseKeyBlob, type SshPublicKey } from './ssh-key.js';
import { WireReader, wireString } from './ssh-wire.js';

/**
 * Signing with the node's own key in-process (docs/PROTOCOL.md §11, "Keys"). A node signs every claim, release,
 * response and card it writes, many a minute on a busy node; a process per file (ssh-keygen) would cost more than
 * the write. The node key is an unencrypted ed25519 key gitbus made itself (node-key.ts), so reading it needs no
 * agent and no passphrase; the SSHSIG it writes is byte for byte what `ssh-keygen -Y sign` would (ed25519 is
 * deterministic), and `ssh-keygen -Y verify` accepts it (test/integration/node-signer.test.ts).
 */

const OPENSSH_BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const OPENSSH_END = '-----END OPENSSH PRIVATE KEY-----';
const OPENSSH_MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
const SSHSIG_MAGIC = Buffer.from('SSHSIG', 'latin1');

export interface InProcessKey {
  key: SshPublicKey;
  privateKey: KeyObject;
}

/** Reads an unencrypted OpenSSH ed25519 private key file (PROTOCOL.key); anything else is refused. */
export function readEd25519Key(text: string, path: string): InProcessKey {
  const bad = (why: string) => new SigningKeyInvalidError(path, why, `remove ${path} and its .pub; gitbus makes the node's key again (gitbus doctor)`);
  const a = text.indexOf(OPENSSH_BEGIN);
  const b = text.indexOf(OPENSSH_END);
  if (a < 0 || b < a) throw bad('it is not an OpenSSH private key');
  const body = Buffer.from(text.slice(a + OPENSSH_BEGIN.length, b).replace(/\s+/g, ''), 'base64');
  if (!body.subarray(0, OPENSSH_MAGIC.length).equals(OPENSSH_MAGIC)) throw bad('the OpenSSH private key is damaged');
  try {
    const r = new WireReader(body.subarray(OPENSSH_MAGIC.length), 'the node key');
    if (r.text('the cipher name') !== 'none') throw bad('it is protected by a passphrase; a node key must not be');
    r.string('the KDF name');
    r.string('the KDF options');
    if (r.u32('the number of keys') !== 1) throw bad('it holds more than one key');
    const key = parseKeyBlob(Buffer.from(r.string('the public key')), `the key in ${path}`);
    if (key.type !== 'ssh-ed25519') throw bad(`it is a ${key.type} key; a node key is ed25519`);
    const p = new WireReader(Buffer.from(r.string('the private section')), 'the private section');
    if (p.u32('check 1') !== p.u32('check 2')) throw bad('its check numbers differ (a damaged or encrypted key)');
    if (p.text('the key type') !== 'ssh-ed25519') throw bad('the private section is not ed25519');
    const pub = p.string('the public half');
    const secret = p.string('the secret');
    if (pub.length !== 32 || secret.length !== 64 || !secret.subarray(32).equals(pub)) throw bad('the ed25519 key is damaged');
    const privateKey = nodeCrypto().createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: secret.subarray(0, 32).toString('base64url'), x: pub.toString('base64url') }, format: 'jwk' });
    return { key, privateKey };
  } catch (err) {
    if (err instanceof SigningKeyInvalidError) throw err;
    throw bad(`it cannot be read (${(err as Error).message.split('\n')[0] ?? ''})`);
  }
}

const loaded = new Map<string, { file: string; key: InProcessKey }>();

/**
 * The key at `path`, read again only when the file changed (a stat per signature, against a read and a parse): a
 * watcher that runs for weeks signs with the key the node has now, after a person rotated it (README "Node keys"),
 * not with the one it read at its start, which the trust root no longer lists.
 */
export function loadEd25519Key(path: string): InProcessKey {
  const st = statSync(path);
  const file = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  const known = loaded.get(path);
  if (known?.file === file) return known.key;
  const key = readEd25519Key(readFileSync(path, 'utf8'), path);
  loaded.set(path, { file, key });
  return key;
}

/** An armored SSHSIG of `message` in `namespace` by `k`, hash sha512 as ssh-keygen uses. */
export function signInProcess(k: InProcessKey, message: Uint8Array, namespace: string): string {
  const data = signedData(namespace, 'sha512', message);
  const sig = nodeCrypto().sign(null, data, k.privateKey);
  const blob = Buffer.concat([
    SSHSIG_MAGIC,
    Buffer.from([0, 0, 0, 1]),
    wireString(k.key.blob),
    wireString(namespace),
    wireString(''),
    wireString('sha512'),
    wireString(Buffer.concat([wireString('ssh-ed25519'), wireString(sig)])),
  ]);
  return armor(blob);
}

/** The sidecar of the bus file at `path` with content `text`, signed by `k`: what goes into the same commit. */
export function signBusFileInProcess(k: InProcessKey, path: string, text: string | Uint8Array): { path: string; content: string } {
  const m = signedMessage(path, typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  return { path: signaturePathFor(path), content: signInProcess(k, m.message, m.namespace) };
}
