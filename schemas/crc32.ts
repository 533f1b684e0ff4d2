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

/** From this many bytes node:zlib sums them (a summing loop here takes ~15 ns a byte in a process that just started). */
const LARGE = 64 * 1024;

let table: Uint32Array | undefined;

/** The reflected table of the polynomial 0xEDB88320, made on first use (256 entries, microseconds). */
function crcTable(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** crc32 in JavaScript, byte by byte. Exported for the tests, which hold it to node:zlib's. */
export function crc32Here(bytes: Uint8Array): number {
  const t = crcTable();
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
