import { GitbusError } from '../../schemas/errors.js';

/** What lint was doing when a path failed it, by the system call that failed. */
const DOING: Record<string, string> = { lstat: 'look at', stat: 'look at', realpath: 'look at', scandir: 'list', open: 'read', read: 'read', fstat: 'read' };

/**
 * A path of the checkout lint must look at, list or read and cannot, for a reason other than its not being there:
 * lint judges nothing it has not seen, so it stops rather than report the checkout clean (or a file missing) with
 * a folder or a file left out. Its own class, not LOCAL_IO, whose fix speaks of the bus home and write access.
 */
export class LintUnreadableError extends GitbusError {
  readonly code = 'LINT_UNREADABLE';
  constructor(path: string, err: unknown) {
    const e = (typeof err === 'object' && err !== null ? err : {}) as NodeJS.ErrnoException;
    const errno = typeof e.code === 'string' ? e.code : 'EIO';
    const syscall = typeof e.syscall === 'string' ? e.syscall : 'lstat';
    const { cause, fix } = unreadable(errno, typeof e.message === 'string' ? e.message : '', path);
    super(`lint cannot ${DOING[syscall] ?? 'read'} ${path}: ${cause} (${errno}); it stops rather than leave that path out`, fix, { path, syscall, errno });
  }
}

/** The cause of a failed look in words, and its fix: permission is the one a person meets, the rest are rare. */
function unreadable(errno: string, message: string, path: string): { cause: string; fix: string } {
  const again = 'then lint again';
  switch (errno) {
    case 'EACCES':
    case 'EPERM':
      return { cause: 'permission denied', fix: `give the user running lint read access to it and to the folders above it (ls -ld ${path}), ${again}` };
    case 'ELOOP':
      return { cause: 'a symbolic link on its path leads back to itself', fix: `remove or repair the looping link among the folders of ${path} (ls -l each), ${again}` };
    case 'ENAMETOOLONG':
      return { cause: 'its path is longer than this system takes', fix: `lint a checkout at a shorter path (move or clone it nearer /), ${again}` };
    case 'EMFILE':
    case 'ENFILE':
      return { cause: 'too many files are open', fix: `raise the open-file limit (ulimit -n) or close programs holding many files, ${again}` };
    default: {
      // Node's message starts `EIO: i/o error, lstat '…'`: the words between the code and the call are the cause.
      const words = /^[A-Z0-9]+: ([^,]+),/.exec(message)?.[1];
      return { cause: words ?? 'it could not be read', fix: `check the disk and file system holding ${path} (dmesg may say more), ${again}` };
    }
  }
}
