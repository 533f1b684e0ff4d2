import type { FileProblem } from '../../schemas/errors.js';
import { isFileProblem } from '../../schemas/layout.js';
import { classifySignaturePath, SIGNATURES_FOLDER } from '../../schemas/signature-layout.js';
import { MAX_FILE_BYTES } from '../../schemas/field-limits.js';
import type { ObjectStore, TreeEntry } from '../store/objects.js';
import { checkFileSignatures } from './file-signatures.js';
import { MAX_SIGNATURE_FILE } from './sshsig.js';

/**
 * Lint of signatures/ (docs/PROTOCOL.md §11): strict like the live folders — only sidecars named after a signable
 * file — and each sidecar must be a signature that verifies for the file it names. A sidecar whose file is not
 * there is not a problem (a task archived by an older gitbus left its sidecars in main), except in a commit that adds
 * it (`orphanIsWarning`).
 */

function problem(path: string, reason: string, fix: string, severity: 'error' | 'warning' = 'error'): FileProblem {
  return { path, field: '', reason, fix, severity };
}

/**
 * The problems of one path under signatures/: its name and mode, and — given its content and the signed file's
 * (undefined: the signed file is not there) — whether it verifies. Pure.
 */
export function sidecarProblems(path: string, mode: string, content: Uint8Array | null, signed: Uint8Array | undefined, orphanIsWarning = false): FileProblem[] {
  const where = classifySignaturePath(path, mode);
  if (where === undefined) return [];
  if (isFileProblem(where)) return [where];
  if (content === null) return [];
  if (content.byteLength > MAX_SIGNATURE_FILE) return [problem(path, `it is more than ${MAX_SIGNATURE_FILE} bytes; a signature is at most ${MAX_SIGNATURE_FILE}`, 'sign the file again with "gitbus sign"')];
  if (signed === undefined) {
    return orphanIsWarning ? [problem(path, `it signs ${where.signed}, which is not in this commit`, `commit ${where.signed} with it, or leave the signature out`, 'warning')] : [];
  }
  const checked = checkFileSignatures(where.signed, signed, [{ path, content }], null).signatures[0];
  if (!checked || checked.ok) return [];
  return [problem(path, `signature of ${where.signed}: ${checked.message ?? checked.reason ?? 'does not verify'}`, checked.fix ?? 'sign the file again with "gitbus sign"', checked.reason === 'unsupported' ? 'warning' : 'error')];
}

/** Every blob under signatures/ of a commit, with its mode, found by walking the tree. */
async function walk(store: ObjectStore, oid: string, prefix: string, out: { path: string; entry: TreeEntry }[], depth: number): Promise<void> {
  for (const e of await store.readTree(oid)) {
    const path = `${prefix}/${e.path}`;
    // Sidecars are at most five levels deep (signatures/trust/a/b/c/x.<tag>.sig); deeper is a problem, not a walk.
    if (e.type === 'tree' && depth < 6) await walk(store, e.oid, path, out, depth + 1);
    else out.push({ path, entry: e });
  }
}

/** The problems of signatures/ in the commit whose root tree is `rootTree`: names, and each sidecar against its file. */
export async function signatureProblemsInTree(store: ObjectStore, rootTree: string): Promise<FileProblem[]> {
  const top = (await store.readTree(rootTree)).find((e) => e.path === SIGNATURES_FOLDER);
  if (!top) return [];
  if (top.type !== 'tree') return [problem(SIGNATURES_FOLDER, 'signatures must be a folder', 'remove the file signatures')];
  const found: { path: string; entry: TreeEntry }[] = [];
  await walk(store, top.oid, SIGNATURES_FOLDER, found, 1);
  const problems: FileProblem[] = [];
  for (const { path, entry } of found) {
    if (entry.type === 'tree') {
      problems.push(problem(path, 'signatures/ is nested deeper than any signed file', 'remove the folder'));
      continue;
    }
    const where = classifySignaturePath(path, entry.mode);
    if (where === undefined || isFileProblem(where)) {
      if (where) problems.push(where);
      continue;
    }
    const signed = await blobAt(store, rootTree, where.signed);
    if (signed === null) continue;
    problems.push(...sidecarProblems(path, entry.mode, await store.readBlob(entry.oid, MAX_SIGNATURE_FILE), signed));
  }
  return problems;
}

/** The content of the blob at `path` in a tree, undefined when there is none, null when it is over the bus file limit. */
async function blobAt(store: ObjectStore, rootTree: string, path: string): Promise<Uint8Array | undefined | null> {
  let entries = await store.readTree(rootTree);
  const parts = path.split('/');
  for (const [i, part] of parts.entries()) {
    const e = entries.find((x) => x.path === part);
    if (!e) return undefined;
    if (i === parts.length - 1) return e.type === 'blob' && e.mode !== '120000' ? readUnlessTooLarge(store, e.oid) : undefined;
    if (e.type !== 'tree') return undefined;
    entries = await store.readTree(e.oid);
  }
  return undefined;
}

/**
 * A blob over the bus file limit is no bus file whatever its sidecar says (lint reports the file itself as too
 * large): its sidecar has nothing to be checked against, and it is not read (one over the object cap would stop lint).
 */
async function readUnlessTooLarge(store: ObjectStore, oid: string): Promise<Uint8Array | null> {
  const read = await store.readBlobUpTo(oid, MAX_FILE_BYTES);
  return typeof read === 'number' ? null : read;
}
