import { ownRequire } from './own-require.js';

/**
 * node:os, loaded on first use: loading it was ~0.1 ms of every start (issue 14), and what a short command asks of it
 * is mostly the home folder, which $HOME answers.
 */
let loaded: typeof import('node:os') | undefined;

export function nodeOs(): typeof import('node:os') {
  loaded ??= ownRequire('node:os') as typeof import('node:os');
  return loaded;
}

/**
 * os.homedir(), which on POSIX answers $HOME when it is set (libuv's uv_os_homedir) and only otherwise reads the
 * passwd entry: node:os is loaded for that case only. Throws as os.homedir() does when there is neither. (On Windows
 * os.homedir() reads USERPROFILE, not $HOME: node:os answers.)
 */
export function osHomedir(): string {
  const home = process.platform === 'win32' ? undefined : process.env['HOME'];
  return home ? home : nodeOs().homedir();
}

/**
 * os.hostname(): on Linux the kernel's answer for this process's UTS namespace, which gethostname(2) (libuv's
 * uv_os_gethostname) reads as well, here from /proc without loading node:os, which a `dispatch` loaded for its lock
 * file's owner alone (issue 14); elsewhere, or when /proc cannot be read, node:os answers. Asked each time, as
 * os.hostname() is: a watcher runs for months, and a host may be renamed.
 */
export function osHostname(): string {
  if (process.platform === 'linux') {
    try {
      const read = (ownRequire('node:fs') as typeof import('node:fs')).readFileSync('/proc/sys/kernel/hostname', 'utf8');
      const name = read.endsWith('\n') ? read.slice(0, -1) : read;
      if (name !== '') return name;
    } catch {
      // No /proc (a container without it): node:os.
    }
  }
  return nodeOs().hostname();
}
