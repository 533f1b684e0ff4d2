/**
 * A 32-bit checksum of bytes (a string: its UTF-8 bytes) for what only this machine reads back: the node's cache files
 * (bus/store/header-line.ts) and the code cache's folder and file names (cli/code-cache-store.ts). It finds a file
 * damaged or cut short, which is all it is for. Pure.
 *
 * Why not crc32: zlib's is native but loading node:zlib cost a short command ~1.5 ms, and a crc32 in JavaScript goes
 * a byte (or half of one) at a time, ~0.1 us a byte in V8's interpreter, where a command that just started runs it:
 * ~1 ms for the 12 KB parse cache of a bus of 30 tasks (docs/PERFORMANCE.md "Small objects stored, and a start
 * without node:zlib"). This takes four bytes a step with a multiply and a shift, the length folded in, and murmur3's
 * finish: 0.2-0.3 ms for 12 KB in a process that just started.
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
  // A multiplier under 2^21 keeps the product exact in a double, so `* | 0` is the 32-bit product without a call to
  // Math.imul, which V8's interpreter makes as a call: a third of the steps of murmur3's mixing, which this was.
  // Each step is a one-to-one map of `h` for a given word, so a change of any one word always changes the sum.
  for (let i = 0; i < words; i++) {
    h = ((h ^ (w[i] as number)) * 0x9e37) | 0;
    h ^= h >>> 15;
  }
  let k = 0;
  for (let i = n - 1; i >= words << 2; i--) k = (k << 8) | (aligned[i] as number);
  h = ((h ^ k) * 0x9e37) | 0;
  return fmix32(h);
}

/** murmur3's finish: every bit of the result depends on every bit of `h`. As an unsigned 32-bit number. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
