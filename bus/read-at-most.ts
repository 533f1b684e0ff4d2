import { constants } from 'node:fs';
import { open } from './node-fs-async.js';
import { GitbusError } from '../schemas/errors.js';

const CHUNK = 1024 * 1024;

/**
 * A path read with `regularOnly` that was not a regular file when it was opened: a FIFO, a device, a socket, a
 * folder, or a symbolic link, none of which is read (nor, for a link, followed).
 */
export class NotRegularFileError extends GitbusError {
  readonly code = 'NOT_REGULAR_FILE';
  /** What was there instead ('a FIFO', 'a symbolic link', …), for a caller that reports it in its own words. */
  readonly what: string;
  constructor(path: string, what: string) {
    super(`${path} is ${what}, not a regular file: it was not read`, `put a regular file at ${path}, or remove what is there`, { path, what });
    this.what = what;
  }
}

/** How a file is opened by readAtMost: as given, or refusing all but a regular file. */
export interface ReadAtMostOptions {
  /**
   * Read only a regular file: the path is opened first (a FIFO without waiting for a writer, a link in its last part
   * refused rather than followed) and what was opened is checked, so nothing swapped in between a caller's look at
   * the path and the read is ever read. Otherwise anything that can be read is (`<(yes)`, a link).
   */
  regularOnly?: boolean;
}

/**
 * A file's first `limit` bytes, and whether it has more: read in chunks, never more than `limit + 1` bytes, and
 * asynchronously. A pipe, a FIFO or a device (`<(yes)`, `/dev/zero`) has no size to look at first and may never
 * end; a synchronous read of one would also hold the event loop, so that no signal (Ctrl-C, timeout's SIGTERM, one
 * a served command's client forwards) is ever handled. Throws what opening or reading throws, and
 * NotRegularFileError for what `regularOnly` refuses.
 */
export async function readAtMost(path: string, limit: number, opts: ReadAtMostOptions = {}): Promise<{ bytes: Buffer; more: boolean }> {
  const fh = opts.regularOnly ? await openRegular(path) : await open(path, 'r');
  try {
    return await readOpened(fh, limit);
  } finally {
    await fh.close();
  }
}

/**
 * What readAtMost reads of a file already opened, for a caller that checks what it opened before any byte of it is
 * read (lint, which reads only files of the checkout it walks: lint-disk.ts). The handle is the caller's to close.
 */
export async function readOpened(fh: Handle, limit: number): Promise<{ bytes: Buffer; more: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  while (size <= limit) {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, limit + 1 - size));
    const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
    if (bytesRead === 0) break;
    chunks.push(chunk.subarray(0, bytesRead));
    size += bytesRead;
  }
  return size > limit ? { bytes: Buffer.concat(chunks).subarray(0, limit), more: true } : { bytes: Buffer.concat(chunks), more: false };
}

export type Handle = Awaited<ReturnType<typeof open>>;

/**
 * Opened before it is looked at, and judged by what was opened (fstat), so that no check of the path can be
 * outrun: O_NONBLOCK lets the open of a FIFO return at once instead of waiting for a writer, O_NOFOLLOW refuses a
 * link in the last part of the path (ELOOP). A link in a folder of the path is followed: a caller that must stay
 * inside a folder checks where the file it opened is (lint-disk.ts). Throws NotRegularFileError for what it refuses.
 */
export async function openRegular(path: string): Promise<Handle> {
  let fh: Handle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new NotRegularFileError(path, 'a symbolic link');
    // What cannot be opened for reading at all: a socket, a device without its driver.
    if (code === 'ENXIO') throw new NotRegularFileError(path, 'a socket or a device');
    throw err;
  }
  try {
    const st = await fh.stat();
    if (st.isFile()) return fh;
    throw new NotRegularFileError(path, st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : st.isDirectory() ? 'a folder' : 'something else');
  } catch (err) {
    await fh.close();
    throw err;
  }
}
