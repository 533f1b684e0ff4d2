import { nodeZlib } from '../schemas/node-zlib.js';

// crc32 of a cache file's data (~0.5 MB), node:zlib's, loaded for it: a file checked before is not summed again
// (cli/code-cache-store.ts, `.checked`), so a start whose cache was checked once loads no node:zlib.
const crc32 = (data: Uint8Array): number => nodeZlib().crc32(data);

/**
 * The header of a cache file: magic, format, crc32 of the V8 data, its length, and what the run that made it was:
 * FAILED (exit code not 0: it may have stopped before most of the command's code was compiled; the next run that
 * succeeds writes the cache again, once) and OFF_PATH (it took a path off the command's plain one, cli/code-cache.ts,
 * so the cache holds that path's functions and lacks the plain path's; the next plain run that succeeds writes it
 * again, once, and V8 then writes what both compiled). Then four bytes of zeros: V8 copies cached data that does not
 * start on an 8-byte boundary (its AlignedCachedData), and a 20-byte header made it copy the whole ~1 MB at every
 * start, ~250 page faults (issue 14, session 36). The file's buffer starts aligned, so the data does after 24 bytes.
 */
const MAGIC = 0x38564247; // "GBV8" little-endian
const FORMAT = 3;
const HEADER = 24;
const FAILED = 1;
const OFF_PATH = 2;

/** What the run that made a cache was (the header's flags). */
export interface CacheMarks {
  failed: boolean;
  offPath: boolean;
}
/**
 * A cache file's V8 data and what the run that made it was, or undefined when its header or checksum is wrong.
 * `checked`: these bytes were summed against their checksum by an earlier start, and the file has not changed since
 * (cli/code-cache-store.ts): the sum is not done again.
 */
export function unwrapCache(file: Buffer, checked = false): ({ data: Buffer } & CacheMarks) | undefined {
  if (file.length < HEADER || file.readUInt32LE(0) !== MAGIC || file.readUInt32LE(4) !== FORMAT) return undefined;
  const data = file.subarray(HEADER);
  if (file.readUInt32LE(12) !== data.length || (!checked && file.readUInt32LE(8) !== crc32(data))) return undefined;
  const flags = file.readUInt32LE(16);
  if (flags > (FAILED | OFF_PATH) || file.readUInt32LE(20) !== 0) return undefined;
  return { data, failed: (flags & FAILED) !== 0, offPath: (flags & OFF_PATH) !== 0 };
}

export function wrapCache(data: Buffer, marks: Partial<CacheMarks> = {}): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(FORMAT, 4);
  header.writeUInt32LE(crc32(data), 8);
  header.writeUInt32LE(data.length, 12);
  header.writeUInt32LE((marks.failed === true ? FAILED : 0) | (marks.offPath === true ? OFF_PATH : 0), 16);
  return Buffer.concat([header, data]);
}
