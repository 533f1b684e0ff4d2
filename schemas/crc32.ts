import { nodeZlib } from './node-zlib.js';

/**
 * crc32 (zlib's, the same number for the same bytes) of a string's UTF-8 bytes or of bytes. Small inputs are summed
 * here, so that a command whose cache files and objects are small never loads node:zlib (schemas/node-zlib.ts);
 * from LARGE bytes on node:zlib's crc32 is faster than the load it costs, and it is used when this Node has it
 * (20.15+, 22.2+).
 */
export function crc32(data: string | Uint8Array): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (bytes.length >= LARGE) {
    const zlib = nodeZlib() as { crc32?: (b: Uint8Array) => number };
    if (typeof zlib.crc32 === 'function') return zlib.crc32(bytes);
  }
  return crc32Here(bytes);
}

/** From this many bytes node:zlib sums them (the loop here takes ~0.1 us a byte in a process that just started). */
const LARGE = 64 * 1024;

/**
 * The reflected table of the polynomial 0xEDB88320 for four bits at a time, written out: the usual 256 entries made at
 * run time were 2,048 steps of V8's interpreter, ~0.1 ms of a start, as much as the few small sums they are for.
 */
const NIBBLES: readonly number[] = [
  0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
  0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
];

/** crc32 in JavaScript, half a byte at a time. Exported for the tests, which hold it to node:zlib's. */
export function crc32Here(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    c = (NIBBLES[(c ^ b) & 0x0f] as number) ^ (c >>> 4);
    c = (NIBBLES[(c ^ (b >>> 4)) & 0x0f] as number) ^ (c >>> 4);
  }
  return (c ^ 0xffffffff) >>> 0;
}
