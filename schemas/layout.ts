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

/** Where one bus file lives; the file name is the file's identity (PROTOCOL.md §2). */
export type BusPath =
  | { kind: 'settings' }
  | { kind: 'handoff'; id: string }
  | { kind: 'claim'; id: string; attempt: number }
  | { kind: 'release'; id: string; attempt: number }
  | { kind: 'cancel'; id: string }
  | { kind: 'response'; id: string }
  | { kind: 'delivery'; id: string; attempt: number }
  | { kind: 'node'; node: string };

export type BusKind = BusPath['kind'];
export type BusPathOf<K extends BusKind> = Extract<BusPath, { kind: K }>;
/** Kinds that belong to one task and so move to the archive branch with it. */
export type ArchivableKind = 'handoff' | 'claim' | 'release' | 'cancel' | 'response' | 'delivery';
export type ArchivablePath = BusPathOf<ArchivableKind>;

export const SETTINGS_PATH = 'gitbus.yaml';
export const LIVE_FOLDERS = ['handoffs', 'claims', 'releases', 'cancels', 'responses', 'deliveries', 'nodes'] as const;
export type LiveFolder = (typeof LIVE_FOLDERS)[number];

export const FOLDER_KIND = {
  handoffs: 'handoff',
  claims: 'claim',
  releases: 'release',
  cancels: 'cancel',
  responses: 'response',
  deliveries: 'delivery',
  nodes: 'node',
} as const satisfies Record<LiveFolder, Exclude<BusKind, 'settings'>>;

export const KIND_FOLDER = {
  handoff: 'handoffs',
  claim: 'claims',
  release: 'releases',
  cancel: 'cancels',
  response: 'responses',
  delivery: 'deliveries',
  node: 'nodes',
} as const satisfies Record<Exclude<BusKind, 'settings'>, LiveFolder>;

/** How each folder names its files, for messages. */
const NAME_PATTERN: Record<LiveFolder, string> = {
  handoffs: '<id>.md',
  claims: '<id>.<attempt>.md',
  releases: '<id>.<attempt>.md',
  cancels: '<id>.md',
  responses: '<id>.md',
  deliveries: '<id>.<attempt>.md',
  nodes: '<node>.md',
};

export function isLiveFolder(name: string): name is LiveFolder {
  return (LIVE_FOLDERS as readonly string[]).includes(name);
}

/** Whether a classification (of a live, archived or signature path) is a problem rather than a location. */
export function isFileProblem<T extends object>(value: T | FileProblem | undefined): value is FileProblem {
  return value !== undefined && 'reason' in value;
}

export function checkedId(id: string): string {
  if (!isTaskId(id)) throw new InvalidIdError(`${JSON.stringify(id)} is not a task id`, `use ${TASK_ID_RULE}`, { id });
  return id;
}

export function checkedAttempt(attempt: number): number {
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
    case 'delivery':
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

export function problem(path: string, reason: string, fix: string, severity: 'error' | 'warning' = 'error'): FileProblem {
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
export function modeProblem(path: string, folderText: string, mode: string): FileProblem | undefined {
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
  if (kind === 'claim' || kind === 'release' || kind === 'delivery') {
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
