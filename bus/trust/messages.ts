import { classifyPath, isFileProblem } from '../../schemas/layout.js';
import { envProfileOfManifest, isTrustPath, signaturePathFor, takesCoSignatures, whyNotSignable } from '../../schemas/signature-layout.js';
import { NotSignableError } from './errors.js';
import type { SshPublicKey } from './ssh-key.js';

/**
 * What gitbus signs (docs/PROTOCOL.md §11): each kind of file in a namespace of its own, so that a signature of one
 * kind never verifies as another, over a domain-separated message that names the file's path, so that a signature
 * copied onto another path (another task id, attempt or node) fails. The id, target and runner are in the bytes.
 */
export const SIGNED_KINDS = ['handoff', 'claim', 'release', 'cancel', 'response', 'delivery', 'node', 'trust', 'env'] as const;
export type SignedKind = (typeof SIGNED_KINDS)[number];

/** The SSHSIG namespace of each kind (`ssh-keygen -Y sign -n <namespace>`). */
export const NAMESPACES: Readonly<Record<SignedKind, string>> = {
  handoff: 'gitbus-handoff@v1',
  claim: 'gitbus-claim@v1',
  release: 'gitbus-release@v1',
  cancel: 'gitbus-cancel@v1',
  response: 'gitbus-response@v1',
  delivery: 'gitbus-delivery@v1',
  node: 'gitbus-node@v1',
  trust: 'gitbus-trust@v1',
  // An environment profile's manifest (env/<profile>/manifest.yaml): it installs hooks that run as the node's user.
  env: 'gitbus-env@v1',
};

export function namespaceOf(kind: SignedKind): string {
  return NAMESPACES[kind];
}

/** The kind of a signable path, or undefined (gitbus.yaml, paths outside the bus folders, bad names). */
export function signedKindOf(path: string): SignedKind | undefined {
  if (isTrustPath(path)) return 'trust';
  if (envProfileOfManifest(path) !== undefined) return 'env';
  const where = classifyPath(path);
  if (where === undefined || isFileProblem(where) || where.kind === 'settings') return undefined;
  return where.kind;
}

export interface SignedMessage {
  kind: SignedKind;
  namespace: string;
  /** `gitbus <kind> v1\n<path>\n` followed by the file's exact bytes. */
  message: Buffer;
}

/** The header line that starts every signed message of a kind; the version is the message format's. */
export function messageHeader(kind: SignedKind, path: string): string {
  return `gitbus ${kind} v1\n${path}\n`;
}

/** The message signed for the file at `path` (repo-relative, `/`-separated) with content `bytes`. */
export function signedMessage(path: string, bytes: Uint8Array): SignedMessage {
  const kind = signedKindOf(path);
  if (kind === undefined) throw new NotSignableError(path, whyNotSignable(path) ?? 'it is not a bus file');
  return { kind, namespace: NAMESPACES[kind], message: Buffer.concat([Buffer.from(messageHeader(kind, path), 'utf8'), Buffer.from(bytes)]) };
}

/**
 * Where the signature of `path` by `signer` goes: `signatures/<path>.sig`, or for a trust file (which may need
 * several admins) `signatures/<path>.<signer tag>.sig`.
 */
export function sidecarPathFor(path: string, signer?: SshPublicKey): string {
  if (signedKindOf(path) === undefined) throw new NotSignableError(path, whyNotSignable(path) ?? 'it is not a bus file');
  return takesCoSignatures(path) ? signaturePathFor(path, signer?.tag ?? '') : signaturePathFor(path);
}
