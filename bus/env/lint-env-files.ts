import { nodeCrypto } from '../../schemas/node-crypto.js';
import type { Stats } from 'node:fs';
import { gone, isUnread, listLooked, lookAt, lookAtCheckout, readLooked, replaced as replacedProblem } from '../ops/lint-disk.js';
import { pathIn, type Checkout } from '../ops/lint-place.js';
import type { FileProblem } from '../../schemas/errors.js';
import { ENV_MAX_DEPTH, ENV_MAX_FILE_BYTES, ENV_MAX_FILES } from '../../schemas/env-paths.js';
import { ENV_FOLDER } from '../../schemas/signature-layout.js';
import type { TreeEntry } from '../store/objects.js';
import { envProblems } from './lint-env.js';
import type { EnvTrees } from './profile.js';

/**
 * env/ checked from a flat listing of files rather than from a commit of main: `gitbus lint PATH` (a checkout on
 * disk) and the pre-commit hook (the index being committed) judge a profile as `gitbus lint` and every node do,
 * a manifest with its files (a file edited by hand no longer has the SHA-256 its manifest names).
 */

/** One file under env/: its repo-relative path, git's mode string, and an id its content is read by. */
export interface EnvListedFile {
  path: string;
  mode: string;
  oid: string;
}

interface Folder {
  files: Map<string, { mode: string; oid: string }>;
  folders: Map<string, Folder>;
}

const newFolder = (): Folder => ({ files: new Map(), folders: new Map() });

/**
 * The problems of the profiles named in `profiles` (folder names under env/, stray ones included), read from
 * `files`; `read` gives the contents of the listed ids.
 */
export async function envListingProblems(files: readonly EnvListedFile[], profiles: ReadonlySet<string>, read: (oids: string[]) => Promise<Map<string, Uint8Array>>): Promise<FileProblem[]> {
  const root = newFolder();
  const wanted: EnvListedFile[] = [];
  for (const f of files) {
    const parts = f.path.split('/');
    if (parts[0] !== ENV_FOLDER || parts.length < 2 || !profiles.has(parts[1] ?? '')) continue;
    let at = root;
    for (const p of parts.slice(0, -1)) {
      let next = at.folders.get(p);
      if (!next) at.folders.set(p, (next = newFolder()));
      at = next;
    }
    at.files.set(parts[parts.length - 1] ?? '', { mode: f.mode, oid: f.oid });
    if (f.mode !== '160000') wanted.push(f);
  }
  if (!root.folders.has(ENV_FOLDER)) return [];
  const blobs = await read([...new Set(wanted.map((f) => f.oid))]);
  // Trees get ids from their entries, so that readProfile's cache (by a profile's tree id) tells contents apart.
  const trees = new Map<string, TreeEntry[]>();
  const store = (folder: Folder): string => {
    const entries: TreeEntry[] = [];
    for (const [name, sub] of folder.folders) entries.push({ path: name, oid: store(sub), mode: '040000', type: 'tree' });
    for (const [name, f] of folder.files) entries.push({ path: name, oid: f.oid, mode: f.mode, type: f.mode === '160000' ? 'commit' : 'blob' });
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const oid = nodeCrypto().createHash('sha1').update(`gitbus-listing-tree\0${entries.map((e) => `${e.mode} ${e.type} ${e.oid} ${e.path}`).join('\0')}`).digest('hex');
    trees.set(oid, entries);
    return oid;
  };
  const rootOid = store(root);
  const listing: EnvTrees = {
    commit: 'listing',
    store: {
      readCommitTree: async () => rootOid,
      readTree: async (oid) => trees.get(oid) ?? [],
      readBlob: async (oid) => {
        const b = blobs.get(oid);
        if (b === undefined) throw new Error(`the content of object ${oid} cannot be read`);
        return b;
      },
      readBlobUpTo: async (oid, max) => {
        const b = blobs.get(oid);
        if (b === undefined) throw new Error(`the content of object ${oid} cannot be read`);
        return b.byteLength > max ? b.byteLength : b;
      },
    },
  };
  return envProblems(listing, profiles);
}

/** How many entries a walk of env/ on disk takes in at most: past that a profile is too large anyway. */
const MAX_WALKED = 20 * ENV_MAX_FILES;

/**
 * Every file under `<root>/env` on disk as a listing (links as links, never followed), with a reader of their
 * contents: a file larger than a profile's may be is not read, a stand-in one byte over the limit is. `replaced`
 * is filled by `read`: the problems of the files that were gone or no regular file any more when they were opened.
 * `at`: the checkout as lint found it at its start (lookAtCheckout), or its root, looked at here.
 */
export async function envFilesOnDisk(at: Checkout | string): Promise<{ files: EnvListedFile[]; read: (oids: string[]) => Promise<Map<string, Uint8Array>>; special: string[]; replaced: FileProblem[] }> {
  const co = typeof at === 'string' ? await lookAtCheckout(at) : at;
  const files: EnvListedFile[] = [];
  /** FIFOs, devices, sockets: git stores none, and an open of a FIFO could wait for ever. Listed apart, never opened. */
  const special: string[] = [];
  /**
   * Regular files when walked, gone or something else when opened: never read, each with lint's problem for it;
   * and the entries and folders the walk itself found gone (listed, or looked at, and not there when it went on).
   */
  const replaced: FileProblem[] = [];
  const paths = new Map<string, { path: string; st: Stats; regular: boolean }>();
  const visit = async (rel: string, looked: Stats, depth: number): Promise<void> => {
    // A folder or an entry removed by another process while the walk runs is reported as gone, in lint's words for
    // a file gone before its read, a folder replaced (by a link out of the checkout) as replaced, and the walk goes
    // on; other failures are thrown (LintUnreadableError), env/ itself included.
    const listed = await listLooked(co, rel, looked, { sorted: true, max: MAX_WALKED });
    if (!Array.isArray(listed)) {
      replaced.push(listed);
      return;
    }
    for (const { name, st } of listed) {
      if (paths.size >= MAX_WALKED) return;
      const child = `${rel}/${name}`;
      if (st === undefined) {
        replaced.push(gone(child));
        continue;
      }
      if (st.isDirectory()) {
        // readProfile refuses folders nested this deep; one level more is enough for it to say so.
        if (depth <= ENV_MAX_DEPTH + 6) await visit(child, st, depth + 1);
        continue;
      }
      if (!st.isFile() && !st.isSymbolicLink()) {
        special.push(child);
        continue;
      }
      const mode = st.isSymbolicLink() ? '120000' : st.mode & 0o111 ? '100755' : '100644';
      const oid = nodeCrypto().createHash('sha1').update(`${child}\0${st.size}\0${st.mtimeMs}\0${st.ino}`).digest('hex');
      files.push({ path: child, mode, oid });
      paths.set(oid, { path: child, st, regular: st.isFile() });
    }
  };
  const st = await lookAt(pathIn(co, ENV_FOLDER));
  if (st?.isDirectory()) await visit(ENV_FOLDER, st, 1);
  const read = async (oids: string[]): Promise<Map<string, Uint8Array>> => {
    const out = new Map<string, Uint8Array>();
    for (const oid of oids) {
      const f = paths.get(oid);
      if (!f) continue;
      // A disk image dropped into env/ is reported too large without being read.
      if (f.st.size > ENV_MAX_FILE_BYTES) out.set(oid, new Uint8Array(ENV_MAX_FILE_BYTES + 1));
      // A link is never followed (the profile check refuses it by its mode): its target's bytes are not the profile's.
      else if (!f.regular) out.set(oid, new Uint8Array());
      else out.set(oid, await readRegular(f.path, f.st));
    }
    return out;
  };
  /**
   * The walk's lstat is only a look: the file can be removed, or a FIFO, a device, a folder or a link take its
   * place, before it is read. It is read as the rest of `gitbus lint` reads what it looked at (readLooked), so that
   * it is reported in the same words; the empty stand-in returned then is never judged, since withSpecialFiles
   * drops what the profile check says of its path (that its content differs from the manifest, which is not known).
   * Any other failure (EACCES, EIO) is thrown as LintUnreadableError, naming the file, as lint's other reads do:
   * unread bytes are no content.
   */
  const readRegular = async (path: string, looked: Stats): Promise<Uint8Array> => {
    const r = await readLooked(co, path, looked, ENV_MAX_FILE_BYTES);
    if (isUnread(r)) {
      replaced.push(replacedProblem(path, r));
      return new Uint8Array();
    }
    return r.more ? new Uint8Array(ENV_MAX_FILE_BYTES + 1) : r.bytes;
  };
  return { files, read, special, replaced };
}

/**
 * A profile's problems with its special files (envFilesOnDisk's `special`) said as what they are: not regular files,
 * skipped. What the profile check says of those paths (a file the manifest names is missing) is left out: the file
 * is there, it is only not one gitbus reads. So for `replaced`, files removed or swapped for a FIFO, a device, a
 * folder or a link by another process while lint read them: what the check says of their (unread) bytes is not
 * about the file, their own problem (envFilesOnDisk's, lint's words) is; and for the folders the walk found gone,
 * what the check says of any path in them.
 */
export function withSpecialFiles(problems: readonly FileProblem[], special: readonly string[], profiles: ReadonlySet<string>, replaced: readonly FileProblem[] = []): FileProblem[] {
  const inProfiles = (path: string) => [...envFoldersOf([path])].some((f) => profiles.has(f));
  const mine = special.filter(inProfiles);
  // env/ itself gone while it was walked: what was in it is unknown, whichever profile is linted.
  const swapped = replaced.filter((p) => (p.path === ENV_FOLDER || inProfiles(p.path)) && !mine.includes(p.path));
  if (mine.length + swapped.length === 0) return [...problems];
  const skipped = [...mine, ...swapped.map((p) => p.path)];
  // A folder found gone: what the check says of the paths in it (files the manifest names missing) is not said.
  const covered = (path: string) => skipped.some((s) => path === s || path.startsWith(`${s}/`));
  return [
    ...problems.filter((p) => !covered(p.path)),
    ...mine.map((path): FileProblem => ({ path, field: '', reason: 'it is not a regular file (a FIFO, a device or a socket): it is skipped, never opened, and git cannot store it', fix: `remove it, or put the regular file the profile holds there ("gitbus env capture ${[...envFoldersOf([path])][0] ?? 'PROFILE'}" writes the profile's files)`, severity: 'error' })),
    ...swapped,
  ];
}

/** The profile folders (and stray entries) of env/ that `paths` (repo-relative) touch. */
export function envFoldersOf(paths: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const p of paths) {
    const parts = p.split('/');
    if (parts[0] === ENV_FOLDER && parts.length >= 2 && parts[1]) out.add(parts[1]);
  }
  return out;
}
