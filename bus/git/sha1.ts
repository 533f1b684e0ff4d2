/**
 * SHA-1 in plain TypeScript, where the WebAssembly one (bus/checksums-wasm.ts) cannot run (`--jitless`, the sources run
 * without a build), for the few small objects a command writes before anything has loaded node:crypto:
 * loading it runs ~15 of Node's own modules (~5 ms and ~200 page faults measured alone), which a `dispatch` on a
 * local bus paid to hash ~1.5 KB (a handoff, two or three trees, a commit). Here that costs ~15 µs per 64-byte
 * block, in V8's interpreter and its baseline compiler, and ~40 page faults.
 *
 * Only for a few kilobytes per process (`coldSha1Hex`): after ~85 blocks (Node 20) V8 optimises `compress` with
 * TurboFan, whose compile took 6-20 ms of CPU on a compiler thread here, more than loading node:crypto (so a SHA-1
 * in JavaScript with no such limit made `dispatch` slower, not faster: docs/PERFORMANCE.md "Tried and left out",
 * session 37). Hashing 64 KiB in a process that starts cold took 15-20 ms, against ~6 ms with node:crypto and its
 * load; 4 KiB ~1 ms.
 */

/**
 * The blocks a process hashes with `coldSha1Hex`: 64 (4 KiB, ~1 ms), some way under the ~85 at which V8 optimises
 * `compress` (each object costs its padding block too).
 */
export const COLD_SHA1_BLOCKS = 64;

/**
 * A SHA-1 in JavaScript for the first `blocks` 64-byte blocks it is given, then undefined (the caller asks
 * node:crypto). An input larger than what is left is refused without spending it.
 */
export function sha1WithinBlocks(blocks: number): (...parts: Uint8Array[]) => string | undefined {
  let left = blocks;
  return (...parts) => {
    let total = 0;
    for (const p of parts) total += p.length;
    const need = Math.floor((total + 8) / 64) + 1;
    if (need > left) return undefined;
    left -= need;
    return sha1Hex(...parts);
  };
}

/** This process's SHA-1 in JavaScript, for its first COLD_SHA1_BLOCKS blocks (see above), else undefined. */
export const coldSha1Hex = sha1WithinBlocks(COLD_SHA1_BLOCKS);

/**
 * The SHA-1 of `parts`, hashed as one message in order (a git object's header, then its content), without copying
 * them into one buffer; lowercase hex. For any length; gitbus hashes through `coldSha1Hex` (see above).
 */
export function sha1Hex(...parts: Uint8Array[]): string {
  let total = 0;
  for (const p of parts) total += p.length;
  const state = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0]);
  const w = new Int32Array(80);
  // Whole blocks straight from a part where one lies in it; the rest (a block across two parts, and the last
  // partial block) goes through `tail`, which then takes the padding: 0x80, zeros, and the message's length in
  // bits as 64 big-endian bits, to a whole block (two when the message's last bytes leave fewer than 9 free).
  const tail = new Uint8Array(128);
  let filled = 0;
  for (const p of parts) {
    let i = 0;
    if (filled > 0) {
      i = Math.min(64 - filled, p.length);
      tail.set(p.subarray(0, i), filled);
      filled += i;
      if (filled === 64) {
        compress(state, w, tail, 0);
        filled = 0;
      }
    }
    for (; i + 64 <= p.length; i += 64) compress(state, w, p, i);
    if (i < p.length) {
      tail.set(p.subarray(i), filled);
      filled += p.length - i;
    }
  }
  tail.fill(0, filled);
  tail[filled] = 0x80;
  const end = filled < 56 ? 64 : 128;
  // The length in bits: exact up to 2^53 (a message of 1 PB), its high word by division.
  const high = Math.floor(total / 0x20000000);
  const low = (total * 8) >>> 0;
  tail[end - 8] = high >>> 24;
  tail[end - 7] = high >>> 16;
  tail[end - 6] = high >>> 8;
  tail[end - 5] = high;
  tail[end - 4] = low >>> 24;
  tail[end - 3] = low >>> 16;
  tail[end - 2] = low >>> 8;
  tail[end - 1] = low;
  compress(state, w, tail, 0);
  if (end === 128) compress(state, w, tail, 64);
  let hex = '';
  for (let i = 0; i < 5; i++) hex += ((state[i] as number) >>> 0).toString(16).padStart(8, '0');
  return hex;
}

/** One 64-byte block of `m` at `at` into `h` (the five state words); `w` is the message schedule's room. */
function compress(h: Int32Array, w: Int32Array, m: Uint8Array, at: number): void {
  // `as number`: the indexes are in range by construction (noUncheckedIndexedAccess cannot see it).
  for (let t = 0, j = at; t < 16; t++, j += 4) w[t] = ((m[j] as number) << 24) | ((m[j + 1] as number) << 16) | ((m[j + 2] as number) << 8) | (m[j + 3] as number);
  for (let t = 16; t < 80; t++) {
    const x = (w[t - 3] as number) ^ (w[t - 8] as number) ^ (w[t - 14] as number) ^ (w[t - 16] as number);
    w[t] = (x << 1) | (x >>> 31);
  }
  let a = h[0] as number;
  let b = h[1] as number;
  let c = h[2] as number;
  let d = h[3] as number;
  let e = h[4] as number;
  // The four rounds of twenty as four loops of five rounds each: no test of the round in a loop, and each round
  // names the five words in turn (a round's new first word goes where its last one was) rather than moving four
  // of them, which the interpreter, running this in a command that starts cold, pays by the bytecode.
  let t = 0;
  for (; t < 20; t += 5) {
    e = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + (w[t] as number)) | 0;
    b = (b << 30) | (b >>> 2);
    d = (((e << 5) | (e >>> 27)) + ((a & b) | (~a & c)) + d + 0x5a827999 + (w[t + 1] as number)) | 0;
    a = (a << 30) | (a >>> 2);
    c = (((d << 5) | (d >>> 27)) + ((e & a) | (~e & b)) + c + 0x5a827999 + (w[t + 2] as number)) | 0;
    e = (e << 30) | (e >>> 2);
    b = (((c << 5) | (c >>> 27)) + ((d & e) | (~d & a)) + b + 0x5a827999 + (w[t + 3] as number)) | 0;
    d = (d << 30) | (d >>> 2);
    a = (((b << 5) | (b >>> 27)) + ((c & d) | (~c & e)) + a + 0x5a827999 + (w[t + 4] as number)) | 0;
    c = (c << 30) | (c >>> 2);
  }
  for (; t < 40; t += 5) {
    e = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + (w[t] as number)) | 0;
    b = (b << 30) | (b >>> 2);
    d = (((e << 5) | (e >>> 27)) + (a ^ b ^ c) + d + 0x6ed9eba1 + (w[t + 1] as number)) | 0;
    a = (a << 30) | (a >>> 2);
    c = (((d << 5) | (d >>> 27)) + (e ^ a ^ b) + c + 0x6ed9eba1 + (w[t + 2] as number)) | 0;
    e = (e << 30) | (e >>> 2);
    b = (((c << 5) | (c >>> 27)) + (d ^ e ^ a) + b + 0x6ed9eba1 + (w[t + 3] as number)) | 0;
    d = (d << 30) | (d >>> 2);
    a = (((b << 5) | (b >>> 27)) + (c ^ d ^ e) + a + 0x6ed9eba1 + (w[t + 4] as number)) | 0;
    c = (c << 30) | (c >>> 2);
  }
  for (; t < 60; t += 5) {
    e = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + -0x70e44324 + (w[t] as number)) | 0;
    b = (b << 30) | (b >>> 2);
    d = (((e << 5) | (e >>> 27)) + ((a & b) | (a & c) | (b & c)) + d + -0x70e44324 + (w[t + 1] as number)) | 0;
    a = (a << 30) | (a >>> 2);
    c = (((d << 5) | (d >>> 27)) + ((e & a) | (e & b) | (a & b)) + c + -0x70e44324 + (w[t + 2] as number)) | 0;
    e = (e << 30) | (e >>> 2);
    b = (((c << 5) | (c >>> 27)) + ((d & e) | (d & a) | (e & a)) + b + -0x70e44324 + (w[t + 3] as number)) | 0;
    d = (d << 30) | (d >>> 2);
    a = (((b << 5) | (b >>> 27)) + ((c & d) | (c & e) | (d & e)) + a + -0x70e44324 + (w[t + 4] as number)) | 0;
    c = (c << 30) | (c >>> 2);
  }
  for (; t < 80; t += 5) {
    e = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + -0x359d3e2a + (w[t] as number)) | 0;
    b = (b << 30) | (b >>> 2);
    d = (((e << 5) | (e >>> 27)) + (a ^ b ^ c) + d + -0x359d3e2a + (w[t + 1] as number)) | 0;
    a = (a << 30) | (a >>> 2);
    c = (((d << 5) | (d >>> 27)) + (e ^ a ^ b) + c + -0x359d3e2a + (w[t + 2] as number)) | 0;
    e = (e << 30) | (e >>> 2);
    b = (((c << 5) | (c >>> 27)) + (d ^ e ^ a) + b + -0x359d3e2a + (w[t + 3] as number)) | 0;
    d = (d << 30) | (d >>> 2);
    a = (((b << 5) | (b >>> 27)) + (c ^ d ^ e) + a + -0x359d3e2a + (w[t + 4] as number)) | 0;
    c = (c << 30) | (c >>> 2);
  }
  h[0] = ((h[0] as number) + a) | 0;
  h[1] = ((h[1] as number) + b) | 0;
  h[2] = ((h[2] as number) + c) | 0;
  h[3] = ((h[3] as number) + d) | 0;
  h[4] = ((h[4] as number) + e) | 0;
}
