/**
 * A 32-bit checksum of bytes (a string: its UTF-8 bytes) for what only this machine reads back: the node's cache files
 * (bus/store/header-line.ts) and the code cache's folder and file names (cli/code-cache-store.ts). It finds a file
 * damaged or cut short, which is all it is for. Pure.
 *
 * Why not crc32: zlib's is native but loading node:zlib cost a short command ~1.5 ms, and a crc32 in JavaScript goes
 * a byte (or half of one) at a time, ~0.1-0.2 us a byte in V8's interpreter, where a command that just started runs
 * it: 2 ms for the 12 KB parse cache of a bus of 30 tasks (docs/PERFORMANCE.md "Small objects stored, and a start
 * without node:zlib"). This takes four bytes a step (murmur3's mixing, the length folded in): ~10 times fewer steps.
 * The words are read in the machine's byte order, so a file written on a big-endian machine does not check on a
 * little-endian one; no cache file goes from one machine to another.
 */
export function sum32(data: string | Uint8Array, seed = 0): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const n = bytes.length;
  const words = n >>> 2;
  // Int32Array needs a 4-byte aligned start: a view of a Buffer from Node's pool may not have one (a copy then).
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes);
  const w = new Int32Array(aligned.buffer, aligned.byteOffset, words);
  let h = seed ^ n;
  for (let i = 0; i < words; i++) {
    let k = Math.imul(w[i] as number, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h ^= k;
    h = (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  for (let i = n - 1; i >= words << 2; i--) k = (k << 8) | (aligned[i] as number);
  k = Math.imul(k, 0xcc9e2d51);
  h ^= Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
