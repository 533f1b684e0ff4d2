import { constants } from 'node:fs';
import { open } from '../../bus/node-fs-async.js';

/** How much of a log is read, from its end: the lines before it are left uncounted. */
export const LOG_LINES_MAX_BYTES = 32 * 1024 * 1024;
/** A line longer than this is skipped whole: no line a tool writes to its own log is this long. */
export const LOG_LINE_MAX_BYTES = 4 * 1024;

/**
 * The lines `keep` accepts of a log that the task could write or replace (the icecc client's compile log): read
 * only when it is a regular file (never a symlink to /dev/urandom, a FIFO that blocks, a device), only its last
 * `maxBytes` as it was when opened, split by hand with lines over `maxLine` bytes skipped, so that neither the
 * time nor the memory it takes depends on what the task wrote. No log, or not a regular file: no lines.
 */
export async function readLogLines(path: string, keep: (line: string) => boolean, maxBytes = LOG_LINES_MAX_BYTES, maxLine = LOG_LINE_MAX_BYTES): Promise<string[]> {
  let fh;
  try {
    // O_NOFOLLOW: a symlink at the path is refused, not followed; O_NONBLOCK: opening a FIFO does not wait for a writer.
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return [];
  }
  try {
    const stat = await fh.stat();
    if (!stat.isFile()) return [];
    const end = stat.size;
    let pos = Math.max(0, end - maxBytes);
    const out: string[] = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    // A window that starts inside the file starts inside a line: that line is skipped like an over-long one.
    let skipping = pos > 0;
    const take = (last: Buffer) => {
      if (!skipping && pendingBytes + last.length <= maxLine) {
        const line = Buffer.concat([...pending, last]).toString('utf8').replace(/\r$/, '');
        if (keep(line)) out.push(line);
      }
    };
    const buf = Buffer.alloc(Math.max(1, Math.min(1024 * 1024, end - pos)));
    while (pos < end) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
      if (bytesRead === 0) break; // truncated while being read
      pos += bytesRead;
      const chunk = buf.subarray(0, bytesRead);
      let from = 0;
      for (let nl = chunk.indexOf(0x0a, from); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
        take(chunk.subarray(from, nl));
        pending = [];
        pendingBytes = 0;
        skipping = false;
        from = nl + 1;
      }
      const rest = chunk.subarray(from);
      if (skipping || rest.length === 0) continue;
      if (pendingBytes + rest.length > maxLine) {
        skipping = true;
        pending = [];
        pendingBytes = 0;
      } else {
        // Copied: the buffer is read into again.
        pending.push(Buffer.from(rest));
        pendingBytes += rest.length;
      }
    }
    if (pendingBytes > 0) take(Buffer.alloc(0));
    return out;
  } finally {
    await fh.close();
  }
}
