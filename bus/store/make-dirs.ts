import type * as NodeFs from 'node:fs';
import { join } from 'node:path';

/**
 * Makes the folders `parts` below `base` (which must exist), one level at a time, never with `recursive`: on a
 * read-only file system Node's recursive mkdir reports ENOENT, as if `base` had vanished, where a plain one reports
 * EROFS, which bus/local-io.ts turns into LOCAL_IO with the path and the fix. A folder already there (EEXIST:
 * another process of the node made it meanwhile) is fine. Returns the deepest folder.
 */
export function makeDirsBelow(fs: Pick<typeof NodeFs, 'mkdirSync'>, base: string, ...parts: string[]): string {
  let dir = base;
  for (const part of parts) {
    dir = join(dir, part);
    try {
      fs.mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return dir;
}
