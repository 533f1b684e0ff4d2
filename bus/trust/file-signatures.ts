import { isFileProblem } from '../../schemas/layout.js';
import { classifySignaturePath, SIGNATURES_FOLDER, SIGNER_TAG_RE, SIGNATURE_EXT, takesCoSignatures } from '../../schemas/signature-layout.js';
import type { FileRef } from '../model/types.js';
import { listFolder, type ObjectStore, type TreeEntry } from '../store/objects.js';
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
  return (await sidecarEntries(store, rootTree, signed)).refs;
}

/** The sidecars of `signed` (as sidecarRefs), and the entries named as its sidecars that are not files. One listing. */
export async function sidecarEntries(store: ObjectStore, rootTree: string, signed: string): Promise<{ refs: FileRef[]; unread: UnreadSidecar[] }> {
  if (signedKindOf(signed) === undefined) return { refs: [], unread: [] };
  const slash = signed.lastIndexOf('/');
  const dir = `${SIGNATURES_FOLDER}/${signed.slice(0, slash)}`;
  const base = signed.slice(slash + 1);
  const co = takesCoSignatures(signed);
  const refs: FileRef[] = [];
  const unread: UnreadSidecar[] = [];
  for (const e of await listFolder(store, rootTree, dir)) {
    if (!isSidecarName(e.path, base, co)) continue;
    const is = notAFile(e);
    if (is) unread.push({ path: `${dir}/${e.path}`, is });
    else refs.push({ path: `${dir}/${e.path}`, oid: e.oid });
  }
  return { refs, unread };
}

/** Reads the sidecars of `signed` from a commit. */
export async function readSidecars(store: ObjectStore, rootTree: string, signed: string): Promise<Sidecar[]> {
  return (await readSidecarsOf(store, rootTree, signed)).sidecars;
}

/** Reads the sidecars of `signed` from a commit, and names what holds a sidecar's name without being a file (unread). */
export async function readSidecarsOf(store: ObjectStore, rootTree: string, signed: string): Promise<{ sidecars: Sidecar[]; unread: UnreadSidecar[] }> {
  const { refs, unread } = await sidecarEntries(store, rootTree, signed);
  const sidecars: Sidecar[] = [];
  // Capped: an oversized sidecar is refused as too large (sshsig.ts) without being inflated whole.
  for (const ref of refs) sidecars.push({ path: ref.path, content: await store.readBlob(ref.oid, MAX_SIGNATURE_FILE) });
  return { sidecars, unread };
}

/**
 * An entry at a sidecar's path that is not a file: a folder, a symbolic link or a submodule. gitbus never follows or
 * reads one (lint reports it, docs/PROTOCOL.md §11), so the file it would sign reads as unsigned; a verdict says
 * which it is rather than that the file has no signature, since the fix differs: remove it, then sign again.
 */
export interface UnreadSidecar {
  path: string;
  is: 'folder' | 'link' | 'submodule';
  /** Set for an archived task's sidecar (`path` on the archive branch), which a fix names as such. */
  branch?: 'archive';
}

/** What a tree entry is when it is not a file, or null for a file (a blob that is not a link). */
export function notAFile(e: Pick<TreeEntry, 'type' | 'mode'>): UnreadSidecar['is'] | null {
  if (e.type === 'tree') return 'folder';
  if (e.type === 'commit') return 'submodule';
  return e.mode === '120000' ? 'link' : null;
}

/**
 * Why `signed` counts as unsigned although something holds its sidecar's name, and the fix. `signAgain`: how the
 * file gets a signature again once the entry is gone (a person signs a handoff; a node's own file is put back). On
 * the archive branch nothing signs a file after the fact: the signature it was archived with is put back, if any.
 */
export function unreadSidecarWords(u: UnreadSidecar, signed: string, signAgain: string): { reason: string; fix: string } {
  const what = u.is === 'folder' ? 'a folder' : u.is === 'link' ? 'a symbolic link' : 'a submodule';
  if (u.branch === 'archive') {
    return {
      reason: `${u.path} on the archive branch is ${what}, not a signature file: gitbus never reads one, so the archived ${signed} has no signature it can check`,
      fix: `remove it from the archive branch ("git rm -r ${u.path}" in a checkout of it; "git log archive -- ${u.path}" shows who pushed it), then put back the signature the file was archived with, if it had one: nothing signs an archived file after the fact`,
    };
  }
  return {
    reason: `${u.path} is ${what}, not a signature file: gitbus never reads one, so ${signed} has no signature it can check`,
    fix: `remove it ("git rm -r ${u.path}"; "git log -- ${u.path}" shows who pushed it), then ${signAgain}`,
  };
}

/**
 * How a bus file gets its signature again: a person signs in a checkout of the bus (docs/PROTOCOL.md §11); a file a
 * node writes in its own name only that node's key signs, so its signature is put back (§12, "Files a node writes").
 */
export function signAgainWords(signed: string): string {
  const kind = signedKindOf(signed);
  if (kind === 'claim' || kind === 'release' || kind === 'response' || kind === 'delivery' || kind === 'node') return `put back the signature the node that wrote ${signed} made, from the commit before the one that replaced it: only that node's key signs it`;
  return `sign ${signed} again ("gitbus sign ${signed}" in a checkout of the bus)`;
}

/** The folders of main whose files belong to one task and move to the archive with it (PROTOCOL.md §7). */
const TASK_FOLDERS = ['handoffs', 'claims', 'releases', 'cancels', 'responses', 'deliveries'] as const;

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
