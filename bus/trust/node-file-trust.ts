import type { NodeTrust } from '../../schemas/trust-root.js';
import { nodePrincipal } from '../../schemas/trust-root.js';
import { namespaceOf, signedKindOf, signedMessage } from './messages.js';
import { listsNode, nodesSpokenFor, unlistedNodesOf } from './node-keys.js';
import { unreadSidecarWords, type UnreadSidecar } from './file-signatures.js';
import type { SignatureCheck } from './sshsig.js';
import { checkSshsig } from './sshsig.js';
import type { TrustVersion } from './version-content.js';

/**
 * Whether a claim, release, response or node card counts on a node that enforces trust (docs/PROTOCOL.md §12,
 * "Files a node writes"), pure. Such a file speaks in the name of the node it names (`node:`; a card, the node of
 * its file name): when the accepted version lists a key for that node, it counts only with a sidecar that verifies
 * for its exact bytes at its path, in its kind's namespace, by that node's key. A node the version does not list:
 * its files count when the version says `unlistedNodes: accept` (a bus migrating), and are forged otherwise.
 */

export type NodeFileVerdict =
  | { counts: true; node: string | null; signed: boolean }
  | { counts: false; node: string | null; reason: string; fix: string };

export interface NodeFileInput {
  path: string;
  /** The file's bytes; needed only to check a sidecar that `check` does not already answer for. */
  bytes?: Uint8Array;
  /** The sidecar's content, when there is one. */
  sidecar?: Uint8Array;
  /** The node the file names; null when it does not parse (so it names nobody). */
  node: string | null;
  /** The check of its sidecar, when already made (a cache keyed by the blobs: checks are pure); absent with no sidecar. */
  check?: SignatureCheck;
  /** What holds its sidecar's name without being a file, when it has no sidecar: said rather than "it is not signed". */
  unread?: UnreadSidecar;
  /**
   * For an archived file, its path on the archive branch (`<yyyy-mm>/<id>/<name>`): `path` is still the one on main,
   * which its signature covers, but a fix names where the file is. Nothing signs an archived file after the fact
   * (a node signs its own unsigned files only on main: sign-own-files.ts), so no fix waits for that.
   */
  archivedAt?: string;
}

export function checkNodeFileSignature(path: string, bytes: Uint8Array, sidecar: Uint8Array): SignatureCheck {
  const m = signedMessage(path, bytes);
  return checkSshsig(sidecar, m.message, m.namespace);
}

export function nodeFileVerdict(f: NodeFileInput, v: TrustVersion, trust: NodeTrust, now: Date): NodeFileVerdict {
  const namespace = namespaceOf(signedKindOf(f.path) ?? 'claim');
  const check = f.check ?? (f.sidecar === undefined ? undefined : checkNodeFileSignature(f.path, f.bytes ?? new Uint8Array(), f.sidecar));
  const speaksFor = check?.ok ? nodesSpokenFor(v, check.signer, namespace, trust, now) : [];
  if (f.node !== null && speaksFor.includes(f.node)) return { counts: true, node: f.node, signed: true };
  const where = f.archivedAt === undefined ? f.path : `${f.archivedAt} from the archive branch`;
  const fixFor = (node: string) =>
    f.archivedAt === undefined
      ? `if node ${node} wrote it, it signs its files itself once it runs a gitbus that knows the trust root ("gitbus trust pin" on ${node}); otherwise the file was written by someone else with push access: remove it`
      : `if someone with push access changed or wrote it, put ${f.archivedAt} on the archive branch back as it was, or remove it (git log archive -- ${f.archivedAt} lists the commits that changed it); if node ${node} wrote it unsigned, it stays uncounted: nothing signs an archived file after the fact`;
  if (f.node === null) {
    if (speaksFor.length > 0) return { counts: true, node: speaksFor[0] ?? null, signed: true };
    if (unlistedNodesOf(v) === 'accept') return { counts: true, node: null, signed: false };
    return { counts: false, node: null, reason: `it does not parse, so it names no node, and no listed node signed it`, fix: `remove ${where}` };
  }
  const listed = listsNode(v, f.node);
  // A sidecar that does not verify is lint's problem (a signed file rewritten by an older gitbus): not a reason here.
  if (!listed && unlistedNodesOf(v) === 'accept') return { counts: true, node: f.node, signed: false };
  const unread = check === undefined && f.unread ? unreadSidecarWords(f.unread, f.path, `put node ${f.node}'s signature back as it was, if it wrote the file`) : null;
  const why = (): string => {
    if (unread) return `it is not signed: ${unread.reason}`;
    if (check === undefined) return 'it is not signed';
    if (!check.ok) return `its signature does not verify (${check.reason}: ${check.error.message.split('\n')[0] ?? ''})`;
    if (speaksFor.length > 0) return `it is signed by the key of node ${speaksFor.join(', ')} (${check.signer.fingerprint})`;
    return `it is signed by ${check.signer.fingerprint}, which is not a key of node ${f.node} here`;
  };
  if (!listed) {
    return {
      counts: false,
      node: f.node,
      reason: `forged in the name of node ${f.node}: trust version ${v.version} lists no key for ${f.node} and refuses unlisted nodes (unlistedNodes: refuse), and ${why()}`,
      fix: `an admin lists the node's key ("gitbus trust add node ${f.node}"), or remove ${where}`,
    };
  }
  return { counts: false, node: f.node, reason: `forged in the name of node ${f.node}: ${why()}; trust version ${v.version} lists ${nodePrincipal(f.node)}'s key`, fix: unread && (f.archivedAt === undefined || f.unread?.branch === 'archive') ? unread.fix : fixFor(f.node) };
}
