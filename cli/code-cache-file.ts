import { createRequire } from 'node:module';

// node:zlib is loaded when a cache is read or written, not by a command the watcher serves (cli/serve/client.ts). Once:
// each createRequire() makes a module and works out its node_modules folders, and a start asked ten times.
let zlibModule: typeof import('node:zlib') | undefined;
const zlib = (): typeof import('node:zlib') => (zlibModule ??= createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib'));
export const crc32 = (data: string | Buffer): number => zlib().crc32(data);
/** Node 20.15+ and 22.2+ have zlib.crc32; an older Node runs the ES module build. */
export const hasCrc32 = (): boolean => typeof (zlib() as { crc32?: unknown }).crc32 === 'function';

/**
 * The header of a cache file: magic, format, crc32 of the V8 data, its length, and whether the run that made it
 * failed (exit code not 0): such a run may have stopped before most of the command's code was compiled, so the
 * next run that succeeds writes the cache again, once. Then four bytes of zeros: V8 copies cached data that does not
 * start on an 8-byte boundary (its AlignedCachedData), and a 20-byte header made it copy the whole ~1 MB at every
 * start, ~250 page faults (issue 14, session 36). The file's buffer starts aligned, so the data does after 24 bytes.
 */
const MAGIC = 0x38564247; // "GBV8" little-endian
const FORMAT = 3;
const HEADER = 24;
/** A cache file's V8 data and whether a failed run made it, or undefined when its header or checksum is wrong. */
export function unwrapCache(file: Buffer): { data: Buffer; failed: boolean } | undefined {
  if (file.length < HEADER || file.readUInt32LE(0) !== MAGIC || file.readUInt32LE(4) !== FORMAT) return undefined;
  const data = file.subarray(HEADER);
  if (file.readUInt32LE(12) !== data.length || file.readUInt32LE(8) !== crc32(data)) return undefined;
  const flags = file.readUInt32LE(16);
  if (flags > 1 || file.readUInt32LE(20) !== 0) return undefined;
  return { data, failed: flags === 1 };
}

export function wrapCache(data: Buffer, failed = false): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(FORMAT, 4);
  header.writeUInt32LE(crc32(data), 8);
  header.writeUInt32LE(data.length, 12);
  header.writeUInt32LE(failed ? 1 : 0, 16);
  return Buffer.concat([header, data]);
}
