import type { Stats } from 'node:fs';
import { gone, isUnread, listLooked, lookAt, lookAtCheckout, modeOf, notRegular, readLooked, replaced } from './lint-disk.js';
import type { Checkout, Identity } from './lint-place.js';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { FileProblem } from '../../schemas/errors.js';
import { parseBusFile, parseSettingsFile } from '../../schemas/bus-file.js';
import { classifyPath, isFileProblem, isLiveFolder, LIVE_FOLDERS, modeProblem } from '../../schemas/layout.js';
import { classifySignaturePath, SIGNATURES_FOLDER, signaturePathFor, takesCoSignatures } from '../../schemas/signature-layout.js';
import { InputError } from '../errors.js';
import { indexTree, type LiveTree } from '../model/index-tree.js';
import type { FileRef } from '../model/types.js';
import type { TreeEntry } from '../store/objects.js';
import { checkoutRootOf } from '../trust/checkout-root.js';
import { sidecarProblems } from '../trust/lint-signatures.js';
import { signedKindOf } from '../trust/messages.js';
import { envFilesOnDisk, envFoldersOf, envListingProblems, withSpecialFiles } from '../env/lint-env-files.js';
import { ENV_FOLDER } from '../../schemas/signature-layout.js';
import { SETTINGS_PATH } from '../../schemas/layout.js';
import { ARCHIVE_SHARDS_PATH, archiveShardsProblems, MAX_ARCHIVE_SHARDS_FILE } from '../../schemas/archive-shards.js';
import { MAX_FILE_BYTES } from '../../schemas/field-limits.js';
import { handoffProblems, type LintedHandoff } from './lint-handoff.js';
import { lintCheckoutSignatures, lintSidecarFile } from './lint-checkout-signatures.js';
import { checkoutAgeBound } from '../trust/checkout-age-bound.js';
import { CHAIN_DIR, classifyChainName } from '../trust/chain-files.js';
import { lacksCreated, maxHandoffAgeIn, newestPolicy, refusesUndated, undatedProblem, type AgeBound } from '../trust/undated-handoff.js';

/** Bus files are at most this big (docs/PROTOCOL.md §2); larger ones are reported without being read. */
const MAX_FILE = MAX_FILE_BYTES;

export interface LintReport {
  checked: number;
  problems: FileProblem[];
}

/**
 * Lints bus files on disk: one file (its folder name gives its kind; a file of a profile, its whole profile), or a
 * checkout of a bus (every live folder, gitbus.yaml and env/). Used by `gitbus lint PATH`.
 */
export async function lintPath(path: string): Promise<LintReport> {
  // Only a path that is not there is a wrong argument: one lint may not look at is said as that (lookAt).
  const st = await lookAt(path);
  if (st === undefined) throw new InputError(`${path} does not exist`, 'give a bus file or the folder of a bus checkout');
  if (st.isDirectory()) return lintCheckout(await lookAtCheckout(path));
  if (path.endsWith('.sig') && /(^|[\\/])signatures[\\/]/.test(path)) return lintSidecarFile(path);
  // Its path in the checkout, when it is in one: a file of a profile is judged with the rest of its profile.
  const root = checkoutOf(path);
  const inCheckout = root === null ? null : relative(root, resolve(path)).split(sep).join('/');
  // Read only where it was looked at: in its checkout, or (in none) in its folder (lint-place.ts).
  const co = await lookAtCheckout(root ?? dirname(resolve(path)));
  const at = inCheckout ?? basename(path);
  if (root !== null && inCheckout?.startsWith(`${ENV_FOLDER}/`)) {
    const { files, read, special, replaced } = await envFilesOnDisk(co);
    const profiles = envFoldersOf([inCheckout]);
    return { checked: 1, problems: withSpecialFiles(await envListingProblems(files, profiles, read), special, profiles, replaced) };
  }
  // A link is reported, never followed (§8); a FIFO or a device would be read for ever.
  const shown = inCheckout ?? path;
  if (st.isSymbolicLink()) return { checked: 1, problems: [modeProblem(shown, `${basename(dirname(path))}/`, '120000') ?? notRegular(shown)] };
  if (!st.isFile()) return { checked: 1, problems: [notRegular(shown)] };
  // Main's note of where the archive's shards are: a file gitbus writes, checked for its own format.
  if (inCheckout === ARCHIVE_SHARDS_PATH) {
    const note = await readLooked(co, at, st, MAX_ARCHIVE_SHARDS_FILE);
    if (isUnread(note)) return { checked: 1, problems: [replaced(inCheckout, note)] };
    return { checked: 1, problems: archiveShardsProblems(inCheckout, note.bytes, note.more ? Math.max(st.size, MAX_ARCHIVE_SHARDS_FILE + 1) : note.bytes.byteLength) };
  }
  const rel = `${basename(dirname(path))}/${basename(path)}`;
  const linted = await lintFile({ co, rel: at, st }, basename(path) === 'gitbus.yaml' ? 'gitbus.yaml' : rel);
  const { handoff } = linted;
  // A file that is no bus file is named by its whole path (its folder's name is what made it none).
  const problems = parseBusFileKnows(rel) ? linted.problems : linted.problems.map((p) => (p.path === rel ? { ...p, path: inCheckout ?? path } : p));
  // A file alone names no other task: whether its `after` names a template is the checkout's or the bus's to say.
  if (handoff) problems.push(...handoffProblems(handoff, () => false), ...undatedProblems([handoff], root === null ? null : checkoutAgeBound(root)));
  return { checked: 1, problems };
}

/** The checkout `path` is in (the nearest folder above with gitbus.yaml), or null. */
function checkoutOf(path: string): string | null {
  try {
    return checkoutRootOf(path);
  } catch {
    return null;
  }
}

/** Whether `rel` (folder/name) is a path bus files may have, so that a problem about it names it as it is. */
function parseBusFileKnows(rel: string): boolean {
  return rel === SETTINGS_PATH || classifyPath(rel) !== undefined;
}

/** `atLeast`: the file grew past the limit after its size was looked at, and only the limit's worth was read. */
function tooBig(rel: string, size: number, atLeast = false): FileProblem[] {
  return [{ path: rel, field: '', reason: `file is ${atLeast ? 'at least ' : ''}${size} bytes; the limit is ${MAX_FILE}`, fix: 'shorten it; put large material in the repository the task works on', severity: 'error' }];
}

/** The problems of one bus file's content, given its repo-relative path, with the handoff when it is one that parses (for the checks of lint-handoff.ts and undated-handoff.ts). */
function lintParsed(rel: string, content: Uint8Array): { problems: FileProblem[]; handoff?: LintedHandoff } {
  if (content.byteLength > MAX_FILE) return { problems: tooBig(rel, content.byteLength) };
  if (rel === 'gitbus.yaml') {
    const r = parseSettingsFile(content);
    return { problems: r.ok ? r.warnings : r.problems };
  }
  const r = parseBusFile(rel, content);
  if (!r.ok) return { problems: r.problems };
  if (r.kind !== 'handoff') return { problems: [...r.warnings] };
  return { problems: [...r.warnings], handoff: { id: r.location.id, path: rel, handoff: r.file.data, body: r.file.body } };
}

/** A file lint looked at: `rel` in the checkout `co`, and its look. */
interface LookedFile {
  co: Checkout;
  rel: string;
  st: Identity & { size: number };
}

/** `rel`: the file's path as problems name it. */
async function lintFile(file: LookedFile, rel: string): Promise<{ problems: FileProblem[]; handoff?: LintedHandoff }> {
  if (file.st.size > MAX_FILE) return { problems: tooBig(rel, file.st.size) };
  const read = await readLooked(file.co, file.rel, file.st, MAX_FILE);
  if (isUnread(read)) return { problems: [replaced(rel, read)] };
  if (read.more) return { problems: tooBig(rel, MAX_FILE + 1, true) };
  return lintParsed(rel, read.bytes);
}

/** One file of a tree given as a flat listing, as `git ls-files --stage` prints it. */
export interface ListedFile {
  /** Repo-relative path, `/`-separated. */
  path: string;
  /** git's mode string: `100644`, `100755`, `120000`, `160000`. */
  mode: string;
  oid: string;
  /** Size in bytes when known: larger files than a bus file may be are reported without being read. */
  size?: number;
}

/**
 * Lints a tree given as a flat listing of its files — for the pre-commit hook, the index being committed — but
 * reports only the problems of the paths in `changed`, so that a commit is judged by what it adds or modifies,
 * not by older problems in the bus. Checks names, modes and folder structure (with the whole listing, so that a
 * response without its handoff is caught) and the content of every changed bus file. `read` returns the
 * contents of the given object ids; a profile under env/ with a changed file is checked whole. Paths outside the
 * bus folders are ignored. `undated: false` leaves out the trust root's want of `created` (undated-handoff.ts), which
 * makes no committed file invalid: a handoff is written once whatever it lacks.
 */
export async function lintListing(files: readonly ListedFile[], changed: ReadonlySet<string>, read: (oids: string[]) => Promise<Map<string, Uint8Array>>, opts: { undated?: boolean } = {}): Promise<LintReport> {
  const live: LiveTree = { commit: '', root: [], folders: new Map() };
  const rootNames = new Set<string>();
  const addRoot = (entry: TreeEntry): void => {
    if (rootNames.has(entry.path)) return;
    rootNames.add(entry.path);
    live.root.push(entry);
  };
  for (const f of files) {
    if (f.path === 'gitbus.yaml') {
      addRoot({ path: f.path, oid: f.oid, mode: f.mode, type: f.mode === '160000' ? 'commit' : 'blob' });
      continue;
    }
    const slash = f.path.indexOf('/');
    if (slash < 0) {
      if (isLiveFolder(f.path)) addRoot({ path: f.path, oid: f.oid, mode: f.mode, type: f.mode === '160000' ? 'commit' : 'blob' });
      continue;
    }
    const folder = f.path.slice(0, slash);
    if (!isLiveFolder(folder)) continue;
    addRoot({ path: folder, oid: '', mode: '040000', type: 'tree' });
    const rest = f.path.slice(slash + 1);
    const inner = rest.indexOf('/');
    let entries = live.folders.get(folder);
    if (!entries) live.folders.set(folder, (entries = []));
    if (inner < 0) entries.push({ path: rest, oid: f.oid, mode: f.mode, type: f.mode === '160000' ? 'commit' : 'blob' });
    else if (!entries.some((e) => e.path === rest.slice(0, inner))) entries.push({ path: rest.slice(0, inner), oid: '', mode: '040000', type: 'tree' });
  }
  // A problem's path is a changed file, or a folder (`handoffs/sub`) that holds one.
  const concerns = (path: string): boolean => changed.has(path) || [...changed].some((c) => c.startsWith(`${path}/`));
  const problems = indexTree(live).problems.filter((p) => concerns(p.path));
  // indexTree keeps a link or folder with a bus file's name as that file (`notAFile`, so that nothing commits over
  // it) rather than as a problem: its path's own problem is added here, once however many files a folder holds.
  const reported = new Set(problems.map(problemKey));
  const toRead: ListedFile[] = [];
  let checked = 0;
  for (const f of files) {
    if (!changed.has(f.path)) continue;
    const where = classifyPath(f.path, f.mode);
    if (where === undefined) continue;
    if (isFileProblem(where)) {
      if (!reported.has(problemKey(where))) problems.push(where);
      reported.add(problemKey(where));
      continue;
    }
    checked++;
    if (f.size !== undefined && f.size > MAX_FILE) problems.push(...tooBig(f.path, f.size));
    else toRead.push(f);
  }
  const contents = toRead.length ? await read([...new Set(toRead.map((f) => f.oid))]) : new Map<string, Uint8Array>();
  const handoffs: LintedHandoff[] = [];
  for (const f of toRead) {
    const content = contents.get(f.oid);
    if (content === undefined) {
      problems.push({ path: f.path, field: '', reason: `its content (object ${f.oid}) cannot be read`, fix: 'stage the file again with git add', severity: 'error' });
      continue;
    }
    const r = lintParsed(f.path, content);
    problems.push(...r.problems);
    if (r.handoff) handoffs.push(r.handoff);
  }
  if (opts.undated !== false && handoffs.some((h) => lacksCreated(h.handoff))) problems.push(...undatedProblems(handoffs, await listedAgeBound(files, read)));
  const sigs = await lintListedSignatures(files, changed, read);
  // A profile a commit touches is checked whole, its manifest against its files (docs/PROTOCOL.md §13).
  const profiles = envFoldersOf(changed);
  if (profiles.size > 0) problems.push(...(await envListingProblems(files, profiles, read)));
  return { checked: checked + sigs.checked + profiles.size, problems: [...problems, ...sigs.problems] };
}

/** Handoffs a node enforcing the trust root would refuse as stale for want of `created` (bus/trust/undated-handoff.ts). */
function undatedProblems(handoffs: readonly LintedHandoff[], bound: AgeBound | null): FileProblem[] {
  if (!refusesUndated(bound)) return [];
  const now = new Date();
  return handoffs.filter((h) => lacksCreated(h.handoff)).map((h) => undatedProblem(h.path, bound, now));
}

/** checkoutAgeBound for a listing (the index being committed): its newest trust policy, read through `read`. */
async function listedAgeBound(files: readonly ListedFile[], read: (oids: string[]) => Promise<Map<string, Uint8Array>>): Promise<AgeBound | null> {
  const chain = new Map(files.filter((f) => f.path.startsWith(`${CHAIN_DIR}/`) && f.mode !== '120000').map((f) => [f.path.slice(CHAIN_DIR.length + 1), f] as const));
  const versions = [...chain.keys()].flatMap((n) => classifyChainName(n)?.version ?? []);
  if (versions.length === 0) return null;
  const newest = newestPolicy(chain.keys());
  const file = newest ? chain.get(newest.name) : undefined;
  if (!newest || !file || (file.size !== undefined && file.size > MAX_FILE)) return { version: Math.max(...versions), maxHandoffAge: undefined };
  return { version: newest.version, maxHandoffAge: maxHandoffAgeIn(newest.version, (await read([file.oid])).get(file.oid)) };
}

const problemKey = (p: FileProblem): string => `${p.path}\0${p.field}\0${p.reason}`;

/**
 * Sidecars under signatures/ (docs/PROTOCOL.md §11) that the commit adds or modifies, or whose signed file it
 * modifies: names, and whether each still verifies for its file.
 */
async function lintListedSignatures(files: readonly ListedFile[], changed: ReadonlySet<string>, read: (oids: string[]) => Promise<Map<string, Uint8Array>>): Promise<LintReport> {
  const byPath = new Map(files.map((f) => [f.path, f] as const));
  const pairs: { sidecar: ListedFile; signed: ListedFile | undefined }[] = [];
  for (const f of files) {
    if (!f.path.startsWith(`${SIGNATURES_FOLDER}/`) && f.path !== SIGNATURES_FOLDER) continue;
    const where = classifySignaturePath(f.path, f.mode);
    const signedPath = where && !isFileProblem(where) ? where.signed : undefined;
    if (!changed.has(f.path) && !(signedPath !== undefined && changed.has(signedPath))) continue;
    pairs.push({ sidecar: f, signed: signedPath === undefined ? undefined : byPath.get(signedPath) });
  }
  if (pairs.length === 0) return { checked: 0, problems: [] };
  const oids = pairs.flatMap((p) => [p.sidecar.oid, ...(p.signed ? [p.signed.oid] : [])]);
  const contents = await read([...new Set(oids)]);
  const problems: FileProblem[] = [];
  for (const { sidecar, signed } of pairs) {
    const content = contents.get(sidecar.oid) ?? null;
    const signedContent = signed ? contents.get(signed.oid) : undefined;
    problems.push(...sidecarProblems(sidecar.path, sidecar.mode, content, signedContent, changed.has(sidecar.path)));
  }
  return { checked: pairs.length, problems };
}

/** Whether a signable path's sidecar exists in `paths` (for the pre-commit hook's reminder). */
export function hasSidecarIn(paths: ReadonlySet<string>, signed: string): boolean {
  if (signedKindOf(signed) === undefined) return false;
  if (!takesCoSignatures(signed)) return paths.has(signaturePathFor(signed));
  const prefix = `${SIGNATURES_FOLDER}/${signed}.`;
  return [...paths].some((p) => p.startsWith(prefix) && p.endsWith('.sig'));
}

async function lintCheckout(co: Checkout): Promise<LintReport> {
  const { root } = co;
  const live: LiveTree = { commit: '', root: [], folders: new Map() };
  /** Each path's look, by which its read is judged (readLooked). */
  const looks = new Map<string, Stats>();
  /** Problems of what the walk found on disk, apart from indexTree's: FIFOs and devices, and paths gone while it ran. */
  const special: FileProblem[] = [];
  for (const name of ['gitbus.yaml', ...LIVE_FOLDERS]) {
    // Taken for absent, a folder lint may not look at would be left out of a report that then says the checkout is
    // clean (or, for gitbus.yaml, that it is missing): lookAt throws for it instead.
    const st = await lookAt(join(root, name));
    if (!st) continue;
    if (!st.isFile() && !st.isDirectory() && !st.isSymbolicLink()) {
      special.push(notRegular(name));
      continue;
    }
    live.root.push({ path: name, oid: name, mode: modeOf(st), type: st.isDirectory() ? 'tree' : 'blob' });
    looks.set(name, st);
  }
  if (live.root.length === 0) throw new InputError(`${root} is not a bus checkout (no gitbus.yaml or bus folders)`, 'give the root folder of a clone of the bus, or one bus file');
  for (const folder of LIVE_FOLDERS) {
    const at = live.root.findIndex((e) => e.path === folder && e.type === 'tree');
    if (at < 0) continue;
    // The checkout may change under lint (another process, a git checkout): a folder or an entry gone since it was
    // looked at or listed is reported as gone, as a file gone before its read is, a folder replaced (by a link out
    // of the checkout) as replaced, and the rest is linted.
    const listed = await listLooked(co, folder, looks.get(folder));
    if (!Array.isArray(listed)) {
      live.root.splice(at, 1);
      special.push(listed);
      continue;
    }
    const entries: TreeEntry[] = [];
    for (const { name, st } of listed) {
      const rel = `${folder}/${name}`;
      if (st === undefined) {
        special.push(gone(rel));
        continue;
      }
      if (!st.isFile() && !st.isDirectory() && !st.isSymbolicLink()) {
        special.push(notRegular(rel));
        continue;
      }
      looks.set(rel, st);
      entries.push({ path: name, oid: rel, mode: modeOf(st), type: st.isDirectory() ? 'tree' : 'blob' });
    }
    live.folders.set(folder, entries);
  }
  const index = indexTree(live);
  const problems = [...special, ...index.problems];
  let checked = 0;
  const files: string[] = [];
  if (index.settings) files.push('gitbus.yaml');
  // A link or folder with a bus file's name is reported, never read: a link's target is not the file (§8).
  const add = (r: FileRef | undefined): void => {
    if (r?.notAFile) problems.push(r.notAFile);
    else if (r) files.push(r.path);
  };
  for (const t of index.tasks.values()) for (const r of [t.handoff, ...t.claims.values(), ...t.releases.values(), t.cancel, t.response, ...(t.deliveries?.values() ?? [])]) add(r);
  for (const r of index.nodes.values()) add(r);
  const handoffs: LintedHandoff[] = [];
  for (const rel of files) {
    checked++;
    // Every file the index lists is one the walk looked at; its read is judged by that look.
    const st = looks.get(rel);
    if (!st) continue;
    const r = await lintFile({ co, rel, st }, rel);
    problems.push(...r.problems);
    if (r.handoff) handoffs.push(r.handoff);
  }
  const templates = new Set(handoffs.filter((h) => h.handoff.schedule !== undefined).map((h) => h.id));
  const bound = checkoutAgeBound(root);
  for (const h of handoffs) {
    // A task that has ended (a response, or a cancel) is done with, until it is archived.
    const files = index.tasks.get(h.id);
    if (!files?.response && !files?.cancel) problems.push(...handoffProblems(h, (d) => templates.has(d)), ...undatedProblems([h], bound));
  }
  const sigs = await lintCheckoutSignatures(co);
  const env = await envFilesOnDisk(co);
  // A profile whose folder (or a file) the walk found gone is reported, with that problem rather than the check's.
  const profiles = envFoldersOf([...env.files.map((f) => f.path), ...env.special, ...env.replaced.map((p) => p.path)]);
  problems.push(...withSpecialFiles(await envListingProblems(env.files, profiles, env.read), env.special, profiles, env.replaced));
  // A signed file found moved by the walk's read is found so again by its sidecar's check: said once.
  const said = new Set(problems.map(problemKey));
  return { checked: checked + sigs.checked + profiles.size, problems: [...problems, ...sigs.problems.filter((p) => !said.has(problemKey(p)))] };
}
