import { closeSync, constants, fstatSync, openSync } from 'node:fs';

/**
 * A file opened for reading, with its size; null when there is none, or it is no regular file (a folder, a FIFO, a
 * device such as /dev/zero behind a link). Opened without waiting: a FIFO put where a file is read would block an
 * open for reading until something writes to it. The caller closes it.
 */
export function openRegularFile(path: string): { fd: number; size: number } | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (st.isFile()) return { fd, size: st.size };
  } catch {
    // as if there were none
  }
  closeSync(fd);
  return null;
}
