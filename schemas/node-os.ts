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
