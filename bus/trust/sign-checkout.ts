import { lstat, mkdir, readFile } from '../node-fs-async.js';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../local-io.js';
import { git } from '../project/git.js';
import { AlreadySignedError, HandoffUndatedError, NotSignableError } from './errors.js';
import { parseBusFile } from '../../schemas/bus-file.js';
import { checkoutAgeBound } from './checkout-age-bound.js';
import { lacksCreated, refusesUndated, undatedFix, undatedReason } from './undated-handoff.js';
import { checkFileSignatures } from './file-signatures.js';
import { sidecarPathFor, signedKindOf, signedMessage, type SignedKind } from './messages.js';
import { signBusFile, type SignOptions } from './sign.js';
import { resolveSigningKey, type SigningKeyOptions } from './signing-key.js';
import { checkoutRootOf } from './checkout-root.js';
import { MAX_SIGNATURE_FILE } from './sshsig.js';

/** Bus files are at most this big (docs/PROTOCOL.md §2). */
const MAX_FILE = 256 * 1024;

export interface SignPathResult {
  /** The checkout's top folder (where gitbus.yaml is). */
  root: string;
  /** The signed file's path in the bus, as the message names it. */
  path: string;
  kind: SignedKind;
  namespace: string;
  /** The sidecar's path in the bus, and on disk. */
  sidecar: string;
  sidecarFile: string;
  signer: { key: string; fingerprint: string };
  /** `signed`: a new sidecar; `already-signed`: a sidecar by this key already verifies, left as it is; `replaced`: a stale one (the file changed since) was replaced. */
  outcome: 'signed' | 'already-signed' | 'replaced';
  /** Where the key was configured. */
  keySource: string;
}

/**
 * git may commit other bytes than the work tree holds (core.autocrlf, eol or filter attributes): then a
 * signature of the file would not verify on the bus. Outside a git work tree there is nothing to compare.
 */
async function checkNoConversion(root: string, rel: string): Promise<void> {
  const hash = async (args: string[]): Promise<string | null> => {
    const r = await git(['hash-object', ...args, '--', rel], { cwd: root, okCodes: [128], timeoutMs: 10_000 }).catch(() => null);
    return r && r.code === 0 ? r.stdout.trim() : null;
  };
  const raw = await hash(['--no-filters']);
  const committed = await hash([]);
  if (raw !== null && committed !== null && raw !== committed) {
    throw new InputError(
      `git would commit ${rel} with other bytes than the file holds (line-ending conversion or a filter for this path), so its signature would not verify on the bus`,
      'turn conversion off in the bus: add the line "* -text" to .gitattributes at its top (or run "git config core.autocrlf false" in it), then sign again',
      { path: rel },
    );
  }
}

/**
 * Refuses a symbolic link at any folder between the checkout's top and `rel`: a link pushed into the bus (anyone with
 * push access can make signatures/handoffs one) would have gitbus read the file it signs, or write its sidecar,
 * outside the checkout. Folders not made yet are fine: gitbus makes them.
 */
async function refuseLinkedFolders(root: string, rel: string): Promise<void> {
  const parts = rel.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    const st = await lstat(join(root, ...parts.slice(0, i))).catch(() => null);
    if (!st) return;
    if (st.isSymbolicLink()) {
      throw new InputError(
        `${dir} in the checkout ${root} is a symbolic link; gitbus never follows links, so it neither reads nor writes ${rel} through it`,
        `remove the link and check the folder out again ("git rm ${dir}", then restore it from a commit before the link); "git log -- ${dir}" shows who pushed the link`,
        { path: rel, link: dir },
      );
    }
  }
}

/**
 * A handoff without `created`, on a bus whose trust root bounds handoff age, is not signed: every node that enforces
 * the root would refuse it as stale (undated-handoff.ts). One that does not parse is lint's to report.
 */
function refuseUndated(root: string, rel: string, bytes: Uint8Array): void {
  const parsed = parseBusFile(rel, bytes);
  if (!parsed.ok || parsed.kind !== 'handoff' || !lacksCreated(parsed.file.data)) return;
  const bound = checkoutAgeBound(root);
  if (refusesUndated(bound)) throw new HandoffUndatedError(rel, undatedReason(bound), undatedFix(rel, new Date()));
}

/**
 * `gitbus sign PATH`: signs a file of a bus checkout and writes its sidecar under signatures/ (docs/PROTOCOL.md
 * §11). The message names the file's path relative to the checkout's top. A sidecar by the same key that still
 * verifies is left alone; one that no longer verifies (the file was edited after signing) is replaced.
 */
export async function signPath(file: string, opts: SigningKeyOptions & SignOptions = {}): Promise<SignPathResult> {
  const abs = resolve(file);
  const root = checkoutRootOf(abs);
  const rel = relative(root, abs).split(sep).join('/');
  await refuseLinkedFolders(root, rel);
  const st = await lstat(abs).catch(() => null);
  if (!st) throw new InputError(`${file} does not exist`, 'give the path of a bus file, e.g. handoffs/<id>.md');
  if (!st.isFile()) throw new NotSignableError(rel, st.isSymbolicLink() ? 'it is a symbolic link; gitbus never follows links' : 'it is not a regular file');
  if (st.size > MAX_FILE) throw new NotSignableError(rel, `it is ${st.size} bytes; bus files are at most ${MAX_FILE}`);
  const kind = signedKindOf(rel);
  if (kind === undefined) signedMessage(rel, new Uint8Array()); // throws NotSignableError with the reason
  await checkNoConversion(root, rel);
  const bytes = await readFile(abs);
  if (kind === 'handoff') refuseUndated(root, rel, bytes);
  const key = await resolveSigningKey({ ...opts, cwd: opts.cwd ?? root });
  const sidecar = sidecarPathFor(rel, key.parsed.key);
  const sidecarFile = join(root, ...sidecar.split('/'));
  await refuseLinkedFolders(root, sidecar);
  let outcome: SignPathResult['outcome'] = 'signed';
  const side = await lstat(sidecarFile).catch(() => null);
  if (side && !side.isFile()) {
    // Read through, a link pushed by anyone would have sign read /dev/zero or a file outside the checkout.
    throw new InputError(
      `${sidecar} in the checkout ${root} is ${side.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'} where the signature of ${rel} goes; gitbus never reads or writes through it`,
      `remove it ("git rm -r ${sidecar}"), then sign again; "git log -- ${sidecar}" shows who pushed it`,
      { path: rel, sidecar },
    );
  }
  if (side) {
    // Larger than any signature: not one, so it is replaced unread.
    const content = side.size > MAX_SIGNATURE_FILE ? new Uint8Array() : await readFile(sidecarFile);
    const existing = checkFileSignatures(rel, bytes, [{ path: sidecar, content }], null).signatures[0];
    if (existing?.ok && existing.signer) {
      const base = { root, path: rel, kind: kind as SignedKind, namespace: signedMessage(rel, bytes).namespace, sidecar, sidecarFile, keySource: key.source };
      if (existing.signer.key === key.parsed.key.line) return { ...base, signer: existing.signer, outcome: 'already-signed' };
      throw new AlreadySignedError(rel, sidecar, existing.signer.fingerprint);
    }
    outcome = 'replaced';
  }
  const signed = await signBusFile(rel, bytes, key, opts);
  await mkdir(dirname(sidecarFile), { recursive: true });
  await writeFileAtomic(sidecarFile, signed.armored);
  return {
    root,
    path: rel,
    kind: signed.kind,
    namespace: signed.namespace,
    sidecar: signed.sidecar,
    sidecarFile,
    signer: { key: signed.signer.line, fingerprint: signed.signer.fingerprint },
    outcome,
    keySource: key.source,
  };
}
