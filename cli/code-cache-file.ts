import { nodeZlib } from '../schemas/node-zlib.js';

// crc32 of a cache file's data (~0.5 MB), node:zlib's, loaded for it: a file checked before is not summed again
// (cli/code-cache-store.ts, `.checked`), so a start whose cache was checked once loads no node:zlib.
const crc32 = (data: Uint8Array): number => nodeZlib().crc32(data);

/**
 * The header of a cache file: magic, format, crc32 of the V8 data, its length, and whether it is provisional: the
 * run that made it failed (exit code not 0), so it may have stopped before most of the command's code was compiled,
 * or it took a path off the command's plain one (cli/code-cache.ts), so it compiled that path's functions and not
 * the plain path's; the next run that succeeds on the plain path writes the cache again, once (V8 then writes what
 * both compiled). Then four bytes of zeros: V8 copies cached data that does not
 * start on an 8-byte boundary (its AlignedCachedData), and a 20-byte header made it copy the whole ~1 MB at every
 * start, ~250 page faults (issue 14, session 36). The file's buffer starts aligned, so the data does after 24 bytes.
 */
const MAGIC = 0x38564247; // "GBV8" little-endian
const FORMAT = 3;
const HEADER = 24;
/**
 * A cache file's V8 data and whether it is provisional, or undefined when its header or checksum is wrong.
 * `checked`: these bytes were summed against their checksum by an earlier start, and the file has not changed since
 * (cli/code-cache-store.ts): the sum is not done again.
 */
export function unwrapCache(file: Buffer, checked = false): { data: Buffer; provisional: boolean } | undefined {
  if (file.length < HEADER || file.readUInt32LE(0) !== MAGIC || file.readUInt32LE(4) !== FORMAT) return undefined;
  const data = file.subarray(HEADER);
  if (file.readUInt32LE(12) !== data.length || (!checked && file.readUInt32LE(8) !== crc32(data))) return undefined;
  const flags = file.readUInt32LE(16);
  if (flags > 1 || file.readUInt32LE(20) !== 0) return undefined;
  return { data, provisional: flags === 1 };
}

export function wrapCache(data: Buffer, provisional = false): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(FORMAT, 4);
  header.writeUInt32LE(crc32(data), 8);
  header.writeUInt32LE(data.length, 12);
  header.writeUInt32LE(provisional ? 1 : 0, 16);
  return Buffer.concat([header, data]);
}
