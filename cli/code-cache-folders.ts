import { accessSync, constants, lstatSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { osHomedir } from '../schemas/node-os.js';
import { dirname, isAbsolute, join } from 'node:path';

/**
 * Where the code cache lives and whether this user may run code from there (cli/code-cache.ts): bytecode from a
 * file is code that runs, so only folders this user owns and nobody else may write to are used, and gitbus makes
 * its folders only inside one of the user's own or a shared sticky one.
 */

/** Why the code cache cannot be used, with what to do about it (the loader's report, `gitbus doctor`). */
export interface CacheProblem {
  state: 'unsafe' | 'unavailable';
  reason: string;
  fix: string;
}

export interface CacheFolders {
  /** $XDG_CACHE_HOME or ~/.cache: the user's, made by gitbus only when its parent is the user's own. */
  base: string;
  /** base/gitbus: the first folder of gitbus's own. */
  root: string;
  /** root/code-cache: one folder per bundle and Node version below it. */
  keys: string;
}

/** The cache folders for this environment, or why there are none. */
export function cacheFolders(env: NodeJS.ProcessEnv): CacheFolders | { problem: CacheProblem } {
  let base = env['XDG_CACHE_HOME'];
  // The XDG spec: a relative path is invalid and ignored.
  if (!base || !isAbsolute(base)) {
    try {
      base = join(osHomedir(), '.cache');
    } catch {
      return { problem: { state: 'unavailable', reason: 'this user has no home folder (no $HOME and no entry in the passwd file)', fix: 'set HOME, or XDG_CACHE_HOME to a folder of your own' } };
    }
  }
  const root = join(base, 'gitbus');
  return { base, root, keys: join(root, 'code-cache') };
}

const uid = (): number | undefined => (typeof process.getuid === 'function' ? process.getuid() : undefined);

/**
 * Why a folder of gitbus's cannot hold code that this process will run, or undefined when it can: it must be a
 * real folder (no symbolic link), owned by this user, and writable by nobody else.
 */
export function notPrivate(dir: string, st: Stats): CacheProblem | undefined {
  const me = uid();
  if (!st.isDirectory()) return { state: 'unsafe', reason: `${dir} is not a folder (a symbolic link or a file)`, fix: `remove ${dir}; gitbus makes it again` };
  if (me !== undefined && st.uid !== me) return { state: 'unsafe', reason: `${dir} belongs to uid ${st.uid}, not to this user (uid ${me})`, fix: me === 0 ? 'set XDG_CACHE_HOME to a folder of root\'s (sudo -H, or HOME of root)' : `sudo chown -R ${me} ${dir}, or remove it` };
  if ((st.mode & 0o022) !== 0) return { state: 'unsafe', reason: `${dir} may be written by its group or others (mode ${(st.mode & 0o777).toString(8)})`, fix: `chmod 700 ${dir} (after checking that nothing in it is someone else's)` };
  return undefined;
}

/**
 * Checks gitbus's folders `dirs` (each inside the one before, the first inside `base` or gitbus's root), and makes
 * those missing, private to the user: undefined when they can hold the cache, else why not. A folder is made only
 * inside one that is this user's own or a shared sticky one such as /tmp: root running with another user's HOME
 * (sudo) leaves no root-owned folders there, which would stop that user's cache.
 */
export function readyFolders(folders: CacheFolders, dirs: readonly string[], make = true): CacheProblem | undefined {
  for (const [i, dir] of dirs.entries()) {
    let st: Stats;
    try {
      st = lstatSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return cannot(dir, err);
      return makeFolders(folders, dirs.slice(i), make);
    }
    const problem = notPrivate(dir, st);
    if (problem) return problem;
  }
  return undefined;
}

function makeFolders(folders: CacheFolders, dirs: readonly string[], make: boolean): CacheProblem | undefined {
  const first = dirs[0] as string;
  const parent = dirname(first);
  if (parent === folders.root || parent === folders.keys) {
    // Inside gitbus's own folders, which were checked. Still writable (a read-only file system, chmod 500)?
    try {
      accessSync(parent, constants.W_OK);
    } catch (err) {
      return cannot(first, err);
    }
  } else {
    // gitbus's root, in the base: the base is made too when missing, in a parent of the user's own.
    const missingBase = !isDirectoryOrLink(folders.base);
    const container = missingBase ? dirname(folders.base) : folders.base;
    const mine = ownedOrSticky(container);
    if (mine !== true) {
      const me = uid();
      const fix =
        me === 0
          ? "set XDG_CACHE_HOME to a folder of root's (sudo -H runs with root's own HOME)"
          : missingBase
            ? `make ${folders.base} as this user, or set XDG_CACHE_HOME to a folder of this user's`
            : `sudo chown ${me} ${container} (a folder left by a command run with sudo?), or set XDG_CACHE_HOME to a folder of this user's`;
      return { state: 'unavailable', reason: `${missingBase ? folders.base : first} does not exist, and ${container} ${mine}`, fix };
    }
    try {
      accessSync(container, constants.W_OK);
    } catch (err) {
      return cannot(missingBase ? folders.base : first, err);
    }
    if (!make) return undefined;
    if (missingBase) dirs = [folders.base, ...dirs];
  }
  if (!make) return undefined;
  for (const dir of dirs) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      // Made by another gitbus at the same moment: checked below like any other.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return cannot(dir, err);
    }
  }
  return readyFolders(folders, dirs.filter((d) => d !== folders.base), false);
}

function isDirectoryOrLink(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** True when `dir` is this user's or a shared sticky folder (/tmp), else what it is. */
function ownedOrSticky(dir: string): true | string {
  let st: Stats;
  try {
    st = statSync(dir);
  } catch (err) {
    return `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  const me = uid();
  if (me === undefined || st.uid === me || (st.mode & 0o1002) === 0o1002) return true;
  return `belongs to uid ${st.uid}, not to this user (uid ${me})`;
}

export function cannot(dir: string, err: unknown): CacheProblem {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  const parent = dirname(dir);
  const fix =
    code === 'EROFS'
      ? 'set XDG_CACHE_HOME to a folder on a writable file system'
      : code === 'EACCES' || code === 'EPERM'
        ? `make ${parent} this user's and writable (sudo chown ${uid() ?? '$(id -u)'} ${parent}; chmod u+w ${parent}), or set XDG_CACHE_HOME to a folder of this user's`
        : `check ${dir}, or set XDG_CACHE_HOME to a folder of this user's`;
  return { state: 'unavailable', reason: `${dir} cannot be made or written (${code})`, fix };
}

/** Why the code cache cannot be used in this environment, or undefined when it can; makes nothing (gitbus doctor). */
export function codeCacheProblem(env: NodeJS.ProcessEnv = process.env): CacheProblem | undefined {
  const folders = cacheFolders(env);
  if ('problem' in folders) return folders.problem;
  const problem = readyFolders(folders, [folders.root, folders.keys], false);
  if (problem) return problem;
  // The key folders are made at a command's first run; gitbus's own folder must take them.
  for (const dir of [folders.root, folders.keys]) {
    try {
      accessSync(dir, constants.W_OK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return cannot(dir, err);
    }
  }
  return undefined;
}
