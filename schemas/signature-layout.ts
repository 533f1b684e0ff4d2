import type { FileProblem } from './errors.js';
import { InvalidIdError } from './ids.js';
import { ENV_PROFILE_RE, ENV_PROFILE_RULE } from './env-paths.js';
import { classifyPath, isFileProblem, modeProblem, problem } from './layout.js';

// ----- signatures and the trust root (PROTOCOL.md §11) -----

/** The folder of signature sidecars: `signatures/<path of the signed file>.sig`. */
export const SIGNATURES_FOLDER = 'signatures';
/** The trust root: allowed signers, policy (written by `gitbus trust`, read by every node). */
export const TRUST_FOLDER = 'trust';
export const SIGNATURE_EXT = '.sig';
/**
 * A co-signature (several signers of one trust file) is `signatures/<path>.<tag>.sig`, where the tag is the first
 * 16 hex digits of SHA-256 of the signer's public key blob: lower case, so two never collide on a case-insensitive
 * file system, and derived from the key so that each signer has a name of its own and none can take another's.
 */
export const SIGNER_TAG_RE = /^[0-9a-f]{16}$/;
const TRUST_SEGMENT_RE = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const TRUST_MAX_DEPTH = 3;

/** A signature sidecar's location: the path of the file it signs, and the signer tag of a co-signature. */
export interface SignaturePath {
  /** Repo-relative path of the signed file, e.g. `handoffs/<id>.md` or `trust/policy.yaml`. */
  signed: string;
  /** The signer tag of a co-signature (files of trust/ only); null for the one signature of any other file. */
  signer: string | null;
}

/**
 * Whether `path` names a file of the trust root: `trust/` and one to three lower-case segments of letters,
 * digits, `.`, `_` and `-`, each starting with a letter or digit (so never `..` or a hidden file).
 */
export function isTrustPath(path: string): boolean {
  const parts = path.split('/');
  if (parts[0] !== TRUST_FOLDER || parts.length < 2 || parts.length > TRUST_MAX_DEPTH + 1) return false;
  return parts.slice(1).every((p) => TRUST_SEGMENT_RE.test(p) && !p.endsWith(SIGNATURE_EXT));
}

/** Whether a signed file takes co-signatures (`<path>.<tag>.sig`) rather than one signature (`<path>.sig`). */
export function takesCoSignatures(signedPath: string): boolean {
  return isTrustPath(signedPath);
}

// ----- environment profiles (PROTOCOL.md "env/ profiles") -----

/**
 * A known folder that is not a task folder: `env/<profile>/manifest.yaml` and `env/<profile>/files/…`, read by
 * `gitbus env` (bus/env/), never by the task model, so lint leaves it to `gitbus env`.
 */
export const ENV_FOLDER = 'env';
export const ENV_MANIFEST_NAME = 'manifest.yaml';

/** `env/<profile>/manifest.yaml`; throws InvalidIdError for a name that is not a profile name. */
export function envManifestPath(profile: string): string {
  if (!ENV_PROFILE_RE.test(profile)) throw new InvalidIdError(`${JSON.stringify(profile)} is not a profile name`, `use ${ENV_PROFILE_RULE}`, { profile });
  return `${ENV_FOLDER}/${profile}/${ENV_MANIFEST_NAME}`;
}

/** The profile whose manifest `path` is, or undefined. */
export function envProfileOfManifest(path: string): string | undefined {
  const parts = path.split('/');
  return parts.length === 3 && parts[0] === ENV_FOLDER && parts[2] === ENV_MANIFEST_NAME && ENV_PROFILE_RE.test(parts[1] ?? '') ? parts[1] : undefined;
}

/** Why `signed` cannot carry a signature, or undefined when it can: a live bus file other than gitbus.yaml, a trust file, or a profile's manifest. */
export function whyNotSignable(signed: string): string | undefined {
  if (isTrustPath(signed)) return undefined;
  if (envProfileOfManifest(signed) !== undefined) return undefined;
  if (signed.startsWith(`${ENV_FOLDER}/`)) return `in ${ENV_FOLDER}/ only a profile's manifest is signed: ${ENV_FOLDER}/<profile>/${ENV_MANIFEST_NAME} (it names the SHA-256 of every file)`;
  if (signed.startsWith(`${TRUST_FOLDER}/`)) return `trust files are named trust/<name> with up to ${TRUST_MAX_DEPTH} lower-case segments of letters, digits, ".", "_" and "-"`;
  const where = classifyPath(signed);
  if (where === undefined) return 'it is not in a bus folder';
  if (isFileProblem(where)) return where.reason;
  if (where.kind === 'settings') return 'gitbus.yaml is not signed';
  return undefined;
}

/**
 * The sidecar of a signed file: `signatures/<signed>.sig`, or `signatures/<signed>.<tag>.sig` for a co-signature of a
 * trust file. Throws InvalidIdError for a path that cannot carry one, so no path is built from unchecked text.
 */
export function signaturePathFor(signed: string, signerTag?: string): string {
  const why = whyNotSignable(signed);
  if (why !== undefined) throw new InvalidIdError(`${JSON.stringify(signed)} cannot carry a signature: ${why}`, 'sign a bus file or a trust file by its path in the bus', { path: signed });
  if (takesCoSignatures(signed)) {
    if (signerTag === undefined || !SIGNER_TAG_RE.test(signerTag)) {
      throw new InvalidIdError(`a signature of ${signed} needs the signer's tag (16 lower-case hex digits)`, 'name it signatures/<path>.<tag>.sig', { path: signed, tag: signerTag ?? null });
    }
    return `${SIGNATURES_FOLDER}/${signed}.${signerTag}${SIGNATURE_EXT}`;
  }
  if (signerTag !== undefined) throw new InvalidIdError(`${signed} carries one signature, without a signer tag`, `name it signatures/${signed}.sig`, { path: signed, tag: signerTag });
  return `${SIGNATURES_FOLDER}/${signed}${SIGNATURE_EXT}`;
}

/**
 * What a path under signatures/ is: the sidecar of a signable file, or the problem with it (a folder or name that
 * mirrors no signable path, a link, a missing or surplus signer tag). Undefined for paths outside signatures/.
 * Strict like the live folders: signatures/ holds nothing but sidecars.
 */
export function classifySignaturePath(path: string, mode = '100644'): SignaturePath | FileProblem | undefined {
  if (!path.startsWith(`${SIGNATURES_FOLDER}/`)) return path === SIGNATURES_FOLDER ? problem(path, 'signatures must be a folder', 'remove the file signatures') : undefined;
  const wrongMode = modeProblem(path, `${SIGNATURES_FOLDER}/`, mode);
  if (wrongMode) return wrongMode;
  const rest = path.slice(SIGNATURES_FOLDER.length + 1);
  const expected = 'signatures/<path of a bus file>.sig, e.g. signatures/handoffs/<id>.md.sig or signatures/env/<profile>/manifest.yaml.sig (trust files: signatures/trust/<name>.<signer tag>.sig)';
  if (!rest.endsWith(SIGNATURE_EXT)) return problem(path, `"${path}" is not a .sig file; signatures/ holds only signatures`, `move it out of signatures/; sidecars are named ${expected}`);
  const stem = rest.slice(0, -SIGNATURE_EXT.length);
  if (stem.startsWith(`${TRUST_FOLDER}/`)) {
    const dot = stem.lastIndexOf('.');
    const tag = dot < 0 ? '' : stem.slice(dot + 1);
    const signed = dot < 0 ? stem : stem.slice(0, dot);
    if (!SIGNER_TAG_RE.test(tag)) {
      return problem(path, `a signature of a trust file must name its signer: signatures/<path>.<signer tag>.sig, with 16 lower-case hex digits`, 'sign the trust file with "gitbus sign", which names the file for you');
    }
    const why = whyNotSignable(signed);
    if (why !== undefined) return problem(path, `it signs ${signed}, which cannot carry a signature: ${why}`, `remove it; sidecars are named ${expected}`);
    return { signed, signer: tag };
  }
  const why = whyNotSignable(stem);
  if (why !== undefined) return problem(path, `it would sign ${stem}, which cannot carry a signature: ${why}`, `remove it, or rename it to ${expected}`);
  return { signed: stem, signer: null };
}
