import { fs } from './node-fs.js';

/**
 * `fs.rmSync(path, { force: true })` for a file: removed, and nothing when it is gone already. rmSync loads Node's
 * rimraf module at its first call, which a short command that removes a lock file or a queue entry paid at every
 * start (issue 14, docs/PERFORMANCE.md "The boot from a code cache the build makes, and what a start compiled at every run"). A folder, or any
 * error but a missing file, throws, as rmSync without `recursive` does.
 */
export function removeFile(path: string): void {
  // On Windows rmSync also clears a read-only file's attribute and tries again: kept there.
  if (process.platform === 'win32') return fs.rmSync(path, { force: true });
  try {
    fs.unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
