// The promise-returning file functions gitbus uses, made from node:fs's callback functions. node:fs/promises loads
// ~10 of Node's own modules when it loads (its FileHandle, readline's interface, the fs watchers: ~8 M instructions),
// which every `status` and `dispatch` paid at its start for one or two file reads (issue 14, session 36). Each
// function takes what its node:fs/promises namesake takes and settles the same way, with the same errors.
// `open` returns a FileHandle, which only node:fs/promises makes: it loads that module on its first call.
import type * as fsp from 'node:fs/promises';
import { fs } from './node-fs.js';
import { ownRequire } from '../schemas/own-require.js';

type CallbackFunction = (...args: unknown[]) => void;

/** The node:fs function `name` with a callback, as a function that returns a promise. */
function viaCallback<F>(name: 'readFile' | 'writeFile' | 'appendFile' | 'mkdir' | 'rm' | 'rename' | 'readdir' | 'lstat' | 'stat' | 'mkdtemp' | 'link' | 'chmod' | 'readlink'): F {
  const run = (...args: unknown[]): Promise<unknown> =>
    new Promise((resolve, reject) => {
      (fs[name] as CallbackFunction)(...args, (err: NodeJS.ErrnoException | null, value?: unknown) => (err ? reject(err) : resolve(value)));
    });
  return run as F;
}

export const readFile = viaCallback<typeof fsp.readFile>('readFile');
export const writeFile = viaCallback<typeof fsp.writeFile>('writeFile');
export const appendFile = viaCallback<typeof fsp.appendFile>('appendFile');
export const mkdir = viaCallback<typeof fsp.mkdir>('mkdir');
export const rm = viaCallback<typeof fsp.rm>('rm');
export const rename = viaCallback<typeof fsp.rename>('rename');
export const readdir = viaCallback<typeof fsp.readdir>('readdir');
export const lstat = viaCallback<typeof fsp.lstat>('lstat');
export const stat = viaCallback<typeof fsp.stat>('stat');
export const mkdtemp = viaCallback<typeof fsp.mkdtemp>('mkdtemp');
export const link = viaCallback<typeof fsp.link>('link');
export const chmod = viaCallback<typeof fsp.chmod>('chmod');
export const readlink = viaCallback<typeof fsp.readlink>('readlink');
/** The kernel's realpath(3), as node:fs/promises's realpath is: the path the kernel itself names a file by (/proc). */
export const realpath = (path: string): Promise<string> =>
  new Promise((resolve, reject) => {
    fs.realpath.native(path, (err, value) => (err ? reject(err) : resolve(value)));
  });

export const open: typeof fsp.open = (...args) => (ownRequire('node:fs/promises') as typeof fsp).open(...args);
