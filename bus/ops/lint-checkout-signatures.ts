import type { Stats } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import type { FileProblem } from '../../schemas/errors.js';
import { isFileProblem } from '../../schemas/layout.js';
import { classifySignaturePath, SIGNATURES_FOLDER } from '../../schemas/signature-layout.js';
import { checkoutRootOf } from '../trust/checkout-root.js';
import { sidecarProblems } from '../trust/lint-signatures.js';
import { gone, isSpecial, isUnread, listLooked, lookAt, lookAtCheckout, modeOf, notRegular, regularBytes, replaced, sidecarBytes } from './lint-disk.js';
import { pathIn, type Checkout } from './lint-place.js';
import type { LintReport } from './lint.js';

/*
 * `gitbus lint`'s signatures on disk (lint.ts): a sidecar named alone, and every sidecar of a checkout against the
 * file it signs, each read as lint reads what it looked at (lint-disk.ts).
 */

/** `gitbus lint signatures/<path>.sig`: the one sidecar, against its file in the same checkout. */
export async function lintSidecarFile(path: string): Promise<LintReport> {
  const root = checkoutRootOf(path);
  const rel = relative(root, resolve(path)).split(sep).join('/');
  const co = await lookAtCheckout(root);
  // Looked at once by lintPath already: removed since, it is reported as any file lint found gone.
  const st = await lookAt(path);
  if (st === undefined) return { checked: 1, problems: [gone(rel)] };
  if (isSpecial(st)) return { checked: 1, problems: [notRegular(rel)] };
  const where = classifySignaturePath(rel, modeOf(st));
  const signedRel = where && !isFileProblem(where) ? where.signed : undefined;
  const signed = signedRel === undefined ? undefined : await regularBytes(co, signedRel);
  // The file it signs is a link, a FIFO or a device: that is its problem, and nothing is read through or from it.
  if (signed === null && signedRel !== undefined) return { checked: 1, problems: [notRegular(signedRel)] };
  if (isUnread(signed) && signedRel !== undefined) return { checked: 1, problems: [replaced(signedRel, signed)] };
  const content = st.isFile() ? await sidecarBytes(co, rel, st) : null;
  if (isUnread(content)) return { checked: 1, problems: [replaced(rel, content)] };
  return { checked: 1, problems: sidecarProblems(rel, modeOf(st), content, signed instanceof Uint8Array ? signed : undefined, true) };
}

/**
 * A path under signatures/ as walkSignatures found it: its mode and look, or the problem it had when the walk came to
 * it (gone, or a folder replaced while it was listed).
 */
type WalkedSignaturePath = { rel: string; mode: string; special: boolean; st: Stats; problem?: undefined } | { rel: string; problem: FileProblem };

/**
 * Every path under `<root>/signatures`, with its mode, walked on disk without following links. An entry or a folder
 * removed (or a folder replaced) by another process while the walk ran is listed with its problem, and the walk goes on.
 */
async function walkSignatures(co: Checkout): Promise<WalkedSignaturePath[]> {
  const out: WalkedSignaturePath[] = [];
  const visit = async (rel: string, looked: Stats, depth: number): Promise<void> => {
    const entries = await listLooked(co, rel, looked);
    if (!Array.isArray(entries)) {
      out.push({ rel, problem: entries });
      return;
    }
    for (const { name, st } of entries) {
      const child = `${rel}/${name}`;
      if (st === undefined) out.push({ rel: child, problem: gone(child) });
      else if (st.isDirectory() && depth < 6) await visit(child, st, depth + 1);
      else out.push({ rel: child, mode: modeOf(st), special: isSpecial(st), st });
    }
  };
  const st = await lookAt(pathIn(co, SIGNATURES_FOLDER));
  if (st?.isDirectory()) await visit(SIGNATURES_FOLDER, st, 1);
  else if (st) out.push({ rel: SIGNATURES_FOLDER, mode: modeOf(st), special: isSpecial(st), st });
  return out;
}

/** The sidecars of a checkout: names, and each against the file it signs. */
export async function lintCheckoutSignatures(co: Checkout): Promise<LintReport> {
  const problems: FileProblem[] = [];
  let checked = 0;
  for (const walked of await walkSignatures(co)) {
    checked++;
    if (walked.problem) {
      problems.push(walked.problem);
      continue;
    }
    const { rel, mode, special, st } = walked;
    if (special) {
      problems.push(notRegular(rel));
      continue;
    }
    if (mode === '040000') {
      problems.push({ path: rel, field: '', reason: 'signatures/ is nested deeper than any signed file', fix: 'remove the folder', severity: 'error' });
      continue;
    }
    const where = classifySignaturePath(rel, mode);
    const isSidecar = where !== undefined && !isFileProblem(where);
    const content = isSidecar ? await sidecarBytes(co, rel, st) : null;
    if (isUnread(content)) {
      problems.push(replaced(rel, content));
      continue;
    }
    const signed = isSidecar ? await regularBytes(co, where.signed) : undefined;
    // A signed file that is a link or a FIFO is reported where the checkout's folders are walked, never read here.
    if (signed === null) continue;
    // The walk found it a regular file: that it is no longer one is said here, where it was to be read.
    if (isUnread(signed)) {
      if (isSidecar) problems.push(replaced(where.signed, signed));
      continue;
    }
    problems.push(...sidecarProblems(rel, mode, content, signed));
  }
  return { checked, problems };
}
