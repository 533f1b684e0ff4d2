import type { FileProblem } from './errors.js';
import {
  ATTEMPT_RULE,
  InvalidIdError,
  isAttempt,
  isNodeName,
  isTaskId,
  MAX_ATTEMPT,
  NODE_NAME_RE,
  NODE_NAME_RULE,
  parseAttempt,
  TASK_ID_RE,
  TASK_ID_RULE,
} from './ids.js';
import { timestampMs } from './timestamp.js';
import { ENV_PROFILE_RE, ENV_PROFILE_RULE } from './env-paths.js';

/** Where one bus file lives; the file name is the file's identity (PROTOCOL.md §2). */
export type BusPath =
  | { kind: 'settings' }
  | { kind: 'handoff'; id: string }
  | { kind: 'claim'; id: string; attempt: number }
  | { kind: 'release'; id: string; attempt: number }
  | { kind: 'cancel'; id: string }
  | { kind: 'response'; id: string }
  | { kind: 'node'; node: string };

export type BusKind = BusPath['kind'];
export type BusPathOf<K extends BusKind> = Extract<BusPath, { kind: K }>;
/** Kinds that belong to one task and so move to the archive branch with it. */
export type ArchivableKind = 'handoff' | 'claim' | 'release' | 'cancel' | 'response';
export type ArchivablePath = BusPathOf<ArchivableKind>;

export const SETTINGS_PATH = 'gitbus.yaml';
export const LIVE_FOLDERS = ['handoffs', 'claims', 'releases', 'cancels', 'responses', 'nodes'] as const;
export type LiveFolder = (typeof LIVE_FOLDERS)[number];

export const FOLDER_KIND = {
  handoffs: 'handoff',
  claims: 'claim',
  releases: 'release',
  cancels: 'cancel',
  responses: 'response',
  nodes: 'node',
} as const satisfies Record<LiveFolder, Exclude<BusKind, 'settings'>>;

export const KIND_FOLDER = {
  handoff: 'handoffs',
  claim: 'claims',
  release: 'releases',
  cancel: 'cancels',
  response: 'responses',
  node: 'nodes',
} as const satisfies Record<Exclude<BusKind, 'settings'>, LiveFolder>;

/** How each folder names its files, for messages. */
const NAME_PATTERN: Record<LiveFolder, string> = {
  handoffs: '<id>.md',
  claims: '<id>.<attempt>.md',
  releases: '<id>.<attempt>.md',
  cancels: '<id>.md',
  responses: '<id>.md',
  nodes: '<node>.md',
};

export function isLiveFolder(name: string): name is LiveFolder {
  return (LIVE_FOLDERS as readonly string[]).includes(name);
}

export function isFileProblem(value: BusPath | FileProblem | ArchivedPath | SignaturePath | undefined): value is FileProblem {
  return value !== undefined && 'reason' in value;
}

function checkedId(id: string): string {
  if (!isTaskId(id)) throw new InvalidIdError(`${JSON.stringify(id)} is not a task id`, `use ${TASK_ID_RULE}`, { id });
  return id;
}

function checkedAttempt(attempt: number): number {
  if (!isAttempt(attempt)) throw new InvalidIdError(`${attempt} is not an attempt number`, `use ${ATTEMPT_RULE}`, { attempt });
  return attempt;
}

/**
 * The repo-relative path of a bus file. Validates every id first: no path is ever built from unchecked content
 * (PROTOCOL.md §8).
 */
export function pathFor(p: BusPath): string {
  switch (p.kind) {
    case 'settings':
      return SETTINGS_PATH;
    case 'handoff':
    case 'cancel':
    case 'response':
      return `${KIND_FOLDER[p.kind]}/${checkedId(p.id)}.md`;
    case 'claim':
    case 'release':
      return `${KIND_FOLDER[p.kind]}/${checkedId(p.id)}.${checkedAttempt(p.attempt)}.md`;
    case 'node':
      if (!isNodeName(p.node)) {
        throw new InvalidIdError(`${JSON.stringify(p.node)} is not a node name`, `use ${NODE_NAME_RULE}`, { node: p.node });
      }
      return `nodes/${p.node}.md`;
  }
}

// 100664 is what very old git wrote for group-writable files; git still reads it as a regular file.
const GIT_MODE_FILE_RE = /^100(644|755|664)$/;

function problem(path: string, reason: string, fix: string, severity: 'error' | 'warning' = 'error'): FileProblem {
  return { path, field: '', reason, fix, severity };
}

function codePoint(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Why `text` breaks an id-like rule, in words; undefined when it does not. */
export function whyNotId(text: string, re: RegExp, maxChars: number, extraChars = ''): string | undefined {
  if (re.test(text)) return undefined;
  if (text === '') return 'it is empty';
  if (/[A-Z]/.test(text) && re.test(text.toLowerCase())) return 'it has upper-case letters';
  const allowed = new RegExp(`^[a-z0-9_\\-${extraChars.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}]$`);
  for (const ch of text) {
    if (allowed.test(ch)) continue;
    if (ch === '.') return 'it contains "."';
    if (ch === '/') return 'it contains "/"';
    if (/\s/.test(ch)) return `it contains a space or other white space (${codePoint(ch)})`;
    if (/[A-Z]/.test(ch)) return 'it has upper-case letters';
    return /[\x21-\x7e]/.test(ch)
      ? `it contains "${ch}"`
      : `it contains "${ch}" (${codePoint(ch)}), which is not an ASCII letter or digit`;
  }
  if (!/^[a-z0-9]/.test(text)) return `it starts with "${text[0] ?? ''}"; it must start with a letter or digit`;
  return `it is ${[...text].length} characters long, more than ${maxChars}`;
}

function idNameProblem(path: string, folder: LiveFolder, stem: string, name: string): FileProblem | undefined {
  const isNode = folder === 'nodes';
  const why = isNode ? whyNotId(stem, NODE_NAME_RE, 40) : whyNotId(stem, TASK_ID_RE, 64);
  if (why === undefined) return undefined;
  const what = isNode ? 'node name' : 'task id';
  const rule = isNode ? NODE_NAME_RULE : TASK_ID_RULE;
  const lower = name.toLowerCase();
  const fix =
    why === 'it has upper-case letters'
      ? `rename it to ${folder}/${lower}: ids are lower case so that two never collide on a case-insensitive file system`
      : `rename it to ${folder}/${NAME_PATTERN[folder]}, with ${rule}`;
  return problem(path, `the file name "${name}" is not a valid ${what}: ${why}`, fix);
}

function attemptNameProblem(path: string, folder: LiveFolder, id: string, text: string): FileProblem | undefined {
  if (parseAttempt(text) !== undefined) return undefined;
  const example = `${folder}/${id}.1.md`;
  if (text === '') return problem(path, 'the attempt number is missing', `rename it to ${folder}/${NAME_PATTERN[folder]}, for example ${example}`);
  if (/^0+$/.test(text)) return problem(path, `attempt ${text}: attempts start at 1`, `rename it with the real attempt number, for example ${example}`);
  if (/^0[0-9]+$/.test(text)) {
    const canonical = text.replace(/^0+/, '');
    if (parseAttempt(canonical) !== undefined) {
      return problem(path, `the attempt "${text}" has leading zeros`, `rename it to ${folder}/${id}.${canonical}.md`);
    }
  }
  if (/^[0-9]+$/.test(text)) return problem(path, `the attempt ${text} is larger than ${MAX_ATTEMPT}`, `use ${ATTEMPT_RULE}`);
  return problem(path, `the attempt "${text}" is not a whole number ≥ 1`, `rename it to ${folder}/${NAME_PATTERN[folder]}, with ${ATTEMPT_RULE}`);
}

/** A tree entry's git mode is a regular file's (executable or not). */
export const isFileMode = (mode: string): boolean => GIT_MODE_FILE_RE.test(mode);

/** Problems with a tree entry's mode: gitbus reads only regular files and never follows links (PROTOCOL.md §8). */
function modeProblem(path: string, folderText: string, mode: string): FileProblem | undefined {
  if (isFileMode(mode)) return undefined;
  if (mode === '120000') return problem(path, 'it is a symbolic link; gitbus never follows links', 'replace the link with a regular file, or remove it');
  if (mode === '160000') return problem(path, 'it is a submodule; gitbus never follows submodules', `remove the submodule from ${folderText}`);
  if (mode === '040000' || mode === '40000') {
    return problem(path, `it is a folder; ${folderText} holds only files`, `move what it holds out of ${folderText}, or remove it`);
  }
  return problem(path, `it has the unknown git mode ${mode}`, 'replace it with a regular file');
}

/**
 * What one tree entry inside a live folder is: a bus file's location, or the problem with it. `mode` is git's
 * mode string (`100644`, `100755`, `040000`, `120000`, `160000`).
 */
export function classifyEntry(folder: string, name: string, mode: string): BusPath | FileProblem {
  const path = `${folder}/${name}`;
  if (!isLiveFolder(folder)) {
    return problem(path, `"${folder}" is not a gitbus folder`, `gitbus folders are ${LIVE_FOLDERS.join(', ')}`);
  }
  const wrongMode = modeProblem(path, `${folder}/`, mode);
  if (wrongMode) return wrongMode;
  if (name.includes('/')) return problem(path, 'a file name cannot contain "/"', `${folder}/ holds only files named ${NAME_PATTERN[folder]}`);
  if (name === 'README.md' || name === '.gitkeep') {
    // People add these to explain a folder or to keep an empty one in git: harmless, so only a warning.
    return problem(path, `${name} in ${folder}/ is not a bus file and is not read`, 'move it out of the folder: gitbus ignores files outside its folders', 'warning');
  }
  if (!name.endsWith('.md')) {
    return problem(path, `"${name}" is not a .md file; ${folder}/ holds only files named ${NAME_PATTERN[folder]}`, `move it out of ${folder}/, or rename it to ${NAME_PATTERN[folder]}`);
  }
  const stem = name.slice(0, -'.md'.length);
  const kind = FOLDER_KIND[folder];
  if (kind === 'claim' || kind === 'release') {
    const dot = stem.lastIndexOf('.');
    if (dot < 0) {
      return idNameProblem(path, folder, stem, name) ??
        problem(path, `"${name}" has no attempt number`, `rename it to ${folder}/${stem}.<attempt>.md, for example ${folder}/${stem}.1.md`);
    }
    const id = stem.slice(0, dot);
    const badId = idNameProblem(path, folder, id, name);
    if (badId) return badId;
    const attemptText = stem.slice(dot + 1);
    const badAttempt = attemptNameProblem(path, folder, id, attemptText);
    if (badAttempt) return badAttempt;
    return { kind, id, attempt: Number(attemptText) };
  }
  const bad = idNameProblem(path, folder, stem, name);
  if (bad) return bad;
  return kind === 'node' ? { kind, node: stem } : { kind, id: stem };
}

/**
 * What a repo-relative path in `main` is: a bus file, a problem (inside a live folder but breaking its rules), or
 * undefined for paths gitbus ignores (a README at the top, `.gitattributes`, notes).
 */
export function classifyPath(path: string, mode = '100644'): BusPath | FileProblem | undefined {
  if (path === SETTINGS_PATH) return modeProblem(path, 'the repository root', mode) ?? { kind: 'settings' };
  const slash = path.indexOf('/');
  if (slash < 0) return undefined;
  const folder = path.slice(0, slash);
  if (!isLiveFolder(folder)) return undefined;
  const rest = path.slice(slash + 1);
  const inner = rest.indexOf('/');
  if (inner >= 0) {
    // A file deeper down means a subfolder, which a live folder must not have.
    return problem(`${folder}/${rest.slice(0, inner)}`, `it is a folder; ${folder}/ holds only files`, `move what it holds out of ${folder}/, or remove it`);
  }
  return classifyEntry(folder, rest, mode);
}

// ----- archive branch (PROTOCOL.md §7) -----

export const ARCHIVE_MONTH_RE = /^[0-9]{4}-(0[1-9]|1[0-2])$/;

export interface ArchivedPath {
  /** `yyyy-mm`, the month the task ended. */
  month: string;
  location: ArchivablePath;
}

/** `<yyyy-mm>/<id>/handoff.md`, `claim.<n>.md`, `release.<n>.md`, `cancel.md` or `response.md`. */
export function archivePathFor(month: string, p: BusPath): string {
  if (!ARCHIVE_MONTH_RE.test(month)) {
    throw new InvalidIdError(`${JSON.stringify(month)} is not an archive month`, 'use yyyy-mm, for example 2026-11', { month });
  }
  switch (p.kind) {
    case 'handoff':
    case 'cancel':
    case 'response':
      return `${month}/${checkedId(p.id)}/${p.kind}.md`;
    case 'claim':
    case 'release':
      return `${month}/${checkedId(p.id)}/${p.kind}.${checkedAttempt(p.attempt)}.md`;
    case 'settings':
    case 'node':
      throw new InvalidIdError(`a ${p.kind} file is not archived`, 'archive only the files of a finished task', { kind: p.kind });
  }
}

/**
 * Where the signature of an archived file goes on the archive branch: `signatures/<yyyy-mm>/<id>/<name>.sig`,
 * mirroring the file's archive path as main's `signatures/` mirrors main. The signature itself still signs the
 * file's path in main (PROTOCOL.md §11), which `parseArchivePath` gives back.
 */
export function archiveSignaturePathFor(month: string, p: BusPath): string {
  return `${SIGNATURES_FOLDER}/${archivePathFor(month, p)}${SIGNATURE_EXT}`;
}

const ARCHIVE_NAME_RE = /^(handoff|cancel|response)\.md$|^(claim|release)\.([^.]*)\.md$/;

/** The month of an end time, in UTC, which names the archive folder. */
export function archiveMonthOf(time: string | Date): string {
  const ms = typeof time === 'string' ? timestampMs(time) : time.getTime();
  if (ms === undefined || Number.isNaN(ms)) {
    throw new InvalidIdError(`${String(time)} is not a time`, 'pass an RFC 3339 timestamp or a valid Date', { time: String(time) });
  }
  return new Date(ms).toISOString().slice(0, 7);
}

/** Reads a path of the archive branch back into a month and a location, or says what is wrong with it. */
export function parseArchivePath(path: string, mode = '100644'): ArchivedPath | FileProblem {
  const parts = path.split('/');
  const expected = '<yyyy-mm>/<id>/handoff.md, claim.<n>.md, release.<n>.md, cancel.md or response.md';
  if (parts.length !== 3) return problem(path, `"${path}" is not an archive path`, `archive paths are ${expected}`);
  const [month = '', id = '', name = ''] = parts;
  const wrongMode = modeProblem(path, `${month}/${id}/`, mode);
  if (wrongMode) return wrongMode;
  if (!ARCHIVE_MONTH_RE.test(month)) return problem(path, `"${month}" is not an archive month`, `archive folders are named yyyy-mm, for example 2026-11`);
  const whyId = whyNotId(id, TASK_ID_RE, 64);
  if (whyId !== undefined) return problem(path, `"${id}" is not a valid task id: ${whyId}`, `rename the folder to ${TASK_ID_RULE}`);
  const m = ARCHIVE_NAME_RE.exec(name);
  if (!m) return problem(path, `"${name}" is not an archived file name`, `archive paths are ${expected}`);
  const single = m[1] as 'handoff' | 'cancel' | 'response' | undefined;
  if (single !== undefined) return { month, location: { kind: single, id } };
  const kind = m[2] as 'claim' | 'release';
  const attempt = parseAttempt(m[3] ?? '');
  if (attempt === undefined) {
    return problem(path, `"${m[3] ?? ''}" in "${name}" is not an attempt number`, `name it ${kind}.<n>.md, with ${ATTEMPT_RULE}`);
  }
  return { month, location: { kind, id, attempt } };
}

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
