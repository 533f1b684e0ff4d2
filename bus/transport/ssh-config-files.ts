/**
 * Reading ssh_config files from disk as OpenSSH does: the permission check on user files, and the paths an
 * `Include` names (relative to ~/.ssh or the system directory, globbed like glob(3)).
 */
import { readFileSync, readdirSync, statSync, type Stats } from 'node:fs';
import { homedir } from '../user-home-dir.js';
import { isAbsolute } from 'node:path';
import { invalid, type SshConfigEntry } from './ssh-config-parse.js';
import { SshConfigError } from './ssh-errors.js';

/** `~` and `~/x` -> the home directory (like OpenSSH's tilde_expand; `~user` is left alone). */
export function expandTilde(path: string, homeDir: string = homedir()): string {
  if (path === '~') return homeDir;
  if (!path.startsWith('~/')) return path;
  return `${homeDir.endsWith('/') ? homeDir : `${homeDir}/`}${path.slice(2).replace(/^\/+/, '')}`;
}

/** The file's text; undefined when it is missing or a directory, as OpenSSH skips those. */
export function readConfigText(file: string, checkPerm: boolean): string | undefined {
  let st: Stats | undefined;
  try {
    st = statSync(file, { throwIfNoEntry: false });
    if (!st || st.isDirectory()) return undefined;
    if (checkPerm) checkPermissions(file, st);
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof SshConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new SshConfigError(file, 0, '', `cannot be read (${code ?? String(err)})`, `make ${file} readable by you (chmod 600 ${file}), or remove it`, { cause: err });
  }
}

/**
 * The file GITBUS_SSH_CONFIG names: it replaces ~/.ssh/config, so like `ssh -F` a missing one is an error, not a
 * silent fall back to no settings at all (another user, port or key than the person meant).
 */
export function checkExplicitConfig(file: string): void {
  const st = statSync(file, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) return;
  throw new SshConfigError(
    file,
    0,
    '',
    `${st ? 'is a directory' : 'does not exist'} (GITBUS_SSH_CONFIG names it)`,
    `point GITBUS_SSH_CONFIG at an ssh config file that exists, or unset it to use ~/.ssh/config`,
  );
}

/** OpenSSH refuses a user config that others could write (it could set ProxyCommand): so do we. */
function checkPermissions(file: string, st: Stats): void {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  if ((st.uid !== 0 && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw new SshConfigError(
      file,
      0,
      '',
      `has bad owner or permissions (mode ${(st.mode & 0o777).toString(8)}, owner uid ${st.uid}); OpenSSH refuses to use it`,
      `make it yours and writable only by you: chown $(id -u) ${file} && chmod 600 ${file}`,
    );
  }
}

/** The files an `Include` line names, in order: relative paths are under ~/.ssh, or under systemDir in the system config. */
export function includePaths(dirs: { home: string; systemDir: string }, e: SshConfigEntry, system: boolean): string[] {
  return e.args.flatMap((arg) => {
    if (arg.startsWith('~') && system) throw invalid(e, `Include ${arg}: ~ is not allowed in the system-wide config`, 'give an absolute path');
    const path = arg.startsWith('~') ? expandTilde(arg, dirs.home) : isAbsolute(arg) ? arg : `${system ? dirs.systemDir : `${dirs.home}/.ssh`}/${arg}`;
    return globPaths(path);
  });
}

/** glob(3) for absolute paths: `*` `?` `[…]` in any component, dotfiles only when the pattern starts with '.', sorted. */
function globPaths(pattern: string): string[] {
  if (!/[*?[]/.test(pattern)) return [pattern];
  let found = [''];
  for (const part of pattern.split('/').slice(1)) {
    if (!/[*?[]/.test(part)) {
      found = found.map((dir) => `${dir}/${part}`);
      continue;
    }
    const re = globComponent(part);
    found = found.flatMap((dir) => listDir(dir || '/').filter((name) => re.test(name) && (part.startsWith('.') || !name.startsWith('.'))).map((name) => `${dir}/${name}`));
  }
  return found.sort();
}

function globComponent(part: string): RegExp {
  let source = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i] ?? '';
    const close = c === '[' ? part.indexOf(']', i + 2) : -1;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (close > 0) {
      source += `[${part.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
