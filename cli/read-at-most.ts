import { open } from '../bus/node-fs-async.js';

const CHUNK = 1024 * 1024;

/**
 * A file's first `limit` bytes, and whether it has more: read in chunks, never more than `limit + 1` bytes, and
 * asynchronously. A pipe, a FIFO or a device (`<(yes)`, `/dev/zero`) has no size to look at first and may never
 * end; a synchronous read of one would also hold the event loop, so that no signal (Ctrl-C, timeout's SIGTERM, one
 * a served command's client forwards) is ever handled. Throws what opening or reading throws.
 */
export async function readAtMost(path: string, limit: number): Promise<{ bytes: Buffer; more: boolean }> {
  const fh = await open(path, 'r');
  try {
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
  } finally {
    await fh.close();
  }
}
