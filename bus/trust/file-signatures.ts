import { isFileProblem } from '../../schemas/layout.js';
import { classifySignaturePath, SIGNATURES_FOLDER, SIGNER_TAG_RE, SIGNATURE_EXT, takesCoSignatures } from '../../schemas/signature-layout.js';
import type { FileRef } from '../model/types.js';
import { listFolder, type ObjectStore } from '../store/objects.js';
import { principalsFor, type AllowedSigners } from './allowed-signers.js';
import { SignatureInvalidError, type SignatureFailure } from './errors.js';
import { signedKindOf, signedMessage, type SignedKind } from './messages.js';
import { checkSshsig, MAX_SIGNATURE_FILE } from './sshsig.js';

/**
 * The signatures of one file, checked: does each sidecar verify for this file's exact bytes, its path and its
 * kind's namespace, and who is its signer according to trust/allowed_signers. Pure over bytes: the readers below
 * find the sidecars in a commit. No trust decision is made here (the policy comes later): `judge` is the seam.
 */

export interface SignatureReport {
  /** The sidecar's path, `signatures/<path>.sig`. */
  sidecar: string;
  ok: boolean;
  /** Why it does not count, when !ok. */
  reason: SignatureFailure | null;
  message: string | null;
  fix: string | null;
  /** The key in the signature, when it could be read: `ssh-ed25519 AAAA...` and `SHA256:...`. */
  signer: { key: string; fingerprint: string } | null;
  /**
   * The principals trust/allowed_signers gives this key for this kind now (patterns, as written); [] when it
   * lists none; null when there is no allowed_signers to ask.
   */
  principals: string[] | null;
  /** Lines of allowed_signers that list the key but do not count for this kind now, and why. */
  refused: { line: number; principals: string[]; reason: string }[];
}

export type FileSignatureStatus = 'verified' | 'unsigned' | 'invalid';

export interface FileSignatures {
  path: string;
  kind: SignedKind;
  namespace: string;
  /** `verified`: every sidecar verifies (at least one); `invalid`: some sidecar does not; `unsigned`: none. */
  status: FileSignatureStatus;
  signatures: SignatureReport[];
}

export interface Sidecar {
  path: string;
  content: Uint8Array;
}

/** Checks every sidecar of the file at `path` with content `bytes`. `allowed` null: no trust/allowed_signers. */
export function checkFileSignatures(path: string, bytes: Uint8Array, sidecars: readonly Sidecar[], allowed: AllowedSigners | null, now: Date = new Date()): FileSignatures {
  const m = signedMessage(path, bytes);
  const signatures: SignatureReport[] = [];
  for (const s of sidecars) {
    const check = checkSshsig(s.content, m.message, m.namespace);
    const signer = check.signer;
    const report: SignatureReport = {
      sidecar: s.path,
      ok: check.ok,
      reason: check.ok ? null : check.reason,
      message: check.ok ? null : (check.error.message.split('\n')[0] ?? ''),
      fix: check.ok ? null : check.error.fix,
      signer: signer ? { key: signer.line, fingerprint: signer.fingerprint } : null,
      principals: null,
      refused: [],
    };
    const where = classifySignaturePath(s.path);
    if (report.ok && signer && where && !isFileProblem(where) && where.signer !== null && where.signer !== signer.tag) {
      const err = new SignatureInvalidError('misnamed', `${s.path} is named for the signer ${where.signer} but was signed by ${signer.fingerprint} (tag ${signer.tag})`, `rename it to ${s.path.slice(0, -(where.signer.length + SIGNATURE_EXT.length))}${signer.tag}${SIGNATURE_EXT}, or sign again with "gitbus sign"`);
      Object.assign(report, { ok: false, reason: err.reason, message: err.message.split('\n')[0] ?? '', fix: err.fix });
    }
    if (signer && allowed) {
      const found = principalsFor(allowed, signer, m.namespace, now);
      report.principals = found.principals;
      report.refused = found.refused;
    }
    signatures.push(report);
  }
  const status: FileSignatureStatus = signatures.length === 0 ? 'unsigned' : signatures.every((s) => s.ok) ? 'verified' : 'invalid';
  return { path, kind: m.kind, namespace: m.namespace, status, signatures };
}

/** Whether a sidecar file name in `signatures/<dir>/` belongs to the signed file named `base`. */
export function isSidecarName(name: string, base: string, coSigned: boolean): boolean {
  if (!name.startsWith(`${base}.`) || !name.endsWith(SIGNATURE_EXT)) return false;
  const middle = name.slice(base.length + 1, -SIGNATURE_EXT.length);
  return coSigned ? SIGNER_TAG_RE.test(middle) : middle === '';
}

/**
 * The sidecars of `signed` in the commit whose root tree is `rootTree`: blobs named `signatures/<signed>.sig`, or
 * for a trust file `signatures/<signed>.<tag>.sig`. Lists one folder (trees are cached by oid in the store).
 */
export async function sidecarRefs(store: ObjectStore, rootTree: string, signed: string): Promise<FileRef[]> {
  if (signedKindOf(signed) === undefined) return [];
  const slash = signed.lastIndexOf('/');
  const dir = `${SIGNATURES_FOLDER}/${signed.slice(0, slash)}`;
  const base = signed.slice(slash + 1);
  const co = takesCoSignatures(signed);
  const entries = await listFolder(store, rootTree, dir);
  return entries.filter((e) => e.type === 'blob' && e.mode !== '120000' && isSidecarName(e.path, base, co)).map((e) => ({ path: `${dir}/${e.path}`, oid: e.oid }));
}

/** Reads the sidecars of `signed` from a commit. */
export async function readSidecars(store: ObjectStore, rootTree: string, signed: string): Promise<Sidecar[]> {
  const out: Sidecar[] = [];
  // Capped: an oversized sidecar is refused as too large (sshsig.ts) without being inflated whole.
  for (const ref of await sidecarRefs(store, rootTree, signed)) out.push({ path: ref.path, content: await store.readBlob(ref.oid, MAX_SIGNATURE_FILE) });
  return out;
}

/** The folders of main whose files belong to one task and move to the archive with it (PROTOCOL.md §7). */
const TASK_FOLDERS = ['handoffs', 'claims', 'releases', 'cancels', 'responses'] as const;

/**
 * The sidecar of every task file (`signatures/<folder>/<name>.sig`) in the commit whose root tree is `rootTree`, by
 * the path of the file it signs: one listing per folder, so that archiving a thousand tasks reads five trees.
 * Names only; whether a sidecar verifies is not asked here.
 */
export async function taskSidecars(store: ObjectStore, rootTree: string): Promise<Map<string, FileRef>> {
  const out = new Map<string, FileRef>();
  for (const folder of TASK_FOLDERS) {
    const dir = `${SIGNATURES_FOLDER}/${folder}`;
    for (const e of await listFolder(store, rootTree, dir)) {
      if (e.type !== 'blob' || e.mode === '120000' || !e.path.endsWith(`.md${SIGNATURE_EXT}`)) continue;
      out.set(`${folder}/${e.path.slice(0, -SIGNATURE_EXT.length)}`, { path: `${dir}/${e.path}`, oid: e.oid });
    }
  }
  return out;
}
