import { adler32Wasm } from '../checksums-wasm.js';

/**
 * zlib streams of stored (uncompressed) deflate blocks, written and read without node:zlib. Pure, but for the
 * checksum module a longer stream's adler32 is summed in (bus/checksums-wasm.ts, read once per process).
 *
 * Why: loading node:zlib (and the stream modules it pulls in) and its first call cost a short command ~2.5 ms of its
 * ~35 (issue 14, docs/PERFORMANCE.md "Small objects stored, and a start without node:zlib"). A git object of a few
 * KiB barely compresses (a tree is mostly object ids), and a stored stream is a valid zlib stream that every reader,
 * git's included, inflates: git itself writes them under `core.compression 0`. So gitbus writes its small objects
 * stored, and reads a stored stream here. Anything else (a stream git compressed, a damaged one) is left to node:zlib,
 * which gives the answer: `inflateStored` answers only for a stream whose every byte it has checked, so both give the
 * same result for any input.
 */

/** The stream header gitbus writes: deflate, a 32 KiB window, "fastest" (stored), no dictionary. */
const HEADER = [0x78, 0x01] as const;
/** The most one stored block holds (its LEN is 16 bits). */
const BLOCK_MAX = 0xffff;
/**
 * The longest stream read here: what gitbus stores (bus/git/object-deflate.ts TREE_STORED_MAX, the object's header
 * included) and the stream's framing (two blocks: 16 bytes), with room to spare. A longer one (git's under
 * `core.compression 0`, or a hostile file) goes to node:zlib, whose native adler32 over megabytes beats this one's,
 * and which stops at a caller's limit without reading the rest.
 */
export const STORED_READ_MAX = 64 * 1024 + 128;
/** adler32's modulus, and how many bytes may be summed before its sums must be reduced (zlib's NMAX). */
const ADLER_MOD = 65521;
const ADLER_NMAX = 5552;

/**
 * From how many bytes adler32 is summed in WebAssembly: loading the module, where nothing has yet, costs ~0.15 ms, what
 * V8's interpreter takes for ~3.5 KB. A dispatch has loaded it for its first object id by then.
 */
export const ADLER_WASM_MIN = 2048;

/** adler32 of `bytes` (what a zlib stream ends with): in WebAssembly from ADLER_WASM_MIN bytes, where it can run. */
export function adler32(bytes: Uint8Array): number {
  return (bytes.length >= ADLER_WASM_MIN ? adler32Wasm(bytes) : undefined) ?? adler32Js(bytes);
}

/** adler32 in JavaScript. Pure. */
export function adler32Js(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  let i = 0;
  while (i < bytes.length) {
    const end = Math.min(bytes.length, i + ADLER_NMAX);
    for (; i < end; i++) {
      a += bytes[i] as number;
      b += a;
    }
    a %= ADLER_MOD;
    b %= ADLER_MOD;
  }
  return ((b << 16) | a) >>> 0;
}

/** `bytes` as a zlib stream of stored blocks. */
export function deflateStored(bytes: Uint8Array): Buffer {
  const blocks = Math.max(1, Math.ceil(bytes.length / BLOCK_MAX));
  const out = Buffer.allocUnsafe(HEADER.length + blocks * 5 + bytes.length + 4);
  out[0] = HEADER[0];
  out[1] = HEADER[1];
  let at = HEADER.length;
  for (let i = 0; i < blocks; i++) {
    const start = i * BLOCK_MAX;
    const len = Math.min(BLOCK_MAX, bytes.length - start);
    out[at] = i === blocks - 1 ? 1 : 0; // BFINAL on the last, BTYPE 00 (stored)
    out.writeUInt16LE(len, at + 1);
    out.writeUInt16LE(~len & 0xffff, at + 3);
    at += 5;
    out.set(bytes.subarray(start, start + len), at);
    at += len;
  }
  out.writeUInt32BE(adler32(bytes), at);
  return out;
}

/**
 * What a zlib stream of stored blocks inflates to, or null when this cannot say for sure: the stream is not stored
 * blocks only, or anything in it is wrong (the header, a block's length, the checksum, an end too soon). Then node:zlib
 * must read it, and it says what is wrong, as it did before.
 *
 * Only for a stream of at most STORED_READ_MAX bytes.
 *
 * `prefix`: `raw` is the start of a stream (the first KiB of a loose object, for its header): the blocks' bytes that
 * are there, as node:zlib gives them with Z_SYNC_FLUSH, the checksum checked when the stream ends in it. Otherwise
 * the stream must end, with its checksum, within `raw`. `used`: how many bytes of `raw` the stream took; bytes after
 * it are not read, as node:zlib does not read them (a caller that refuses them compares `used` with the length).
 */
export function inflateStored(raw: Uint8Array, prefix = false): { data: Buffer; used: number } | null {
  if (raw.length < 2 || raw.length > STORED_READ_MAX) return null;
  const cmf = raw[0] as number;
  const flg = raw[1] as number;
  // deflate, a window of at most 32 KiB, the header's check, no preset dictionary.
  if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0 || (flg & 0x20) !== 0) return null;
  const parts: Uint8Array[] = [];
  let at = 2;
  for (;;) {
    if (at >= raw.length) return prefix ? done(parts, at) : null;
    const head = raw[at] as number;
    // Stored blocks only (BTYPE 00); the rest of their first byte is padding, which zlib does not check either.
    if ((head & 0x06) !== 0) return null;
    if (at + 5 > raw.length) return prefix ? done(parts, at) : null;
    const len = (raw[at + 1] as number) | ((raw[at + 2] as number) << 8);
    const nlen = (raw[at + 3] as number) | ((raw[at + 4] as number) << 8);
    if ((len ^ 0xffff) !== nlen) return null;
    at += 5;
    if (at + len > raw.length) {
      if (!prefix) return null;
      parts.push(raw.subarray(at));
      return done(parts, raw.length);
    }
    parts.push(raw.subarray(at, at + len));
    at += len;
    if ((head & 1) === 1) break;
  }
  const data = Buffer.concat(parts);
  if (at + 4 > raw.length) return prefix ? { data, used: raw.length } : null;
  const sum = (((raw[at] as number) << 24) | ((raw[at + 1] as number) << 16) | ((raw[at + 2] as number) << 8) | (raw[at + 3] as number)) >>> 0;
  if (sum !== adler32(data)) return null;
  return { data, used: at + 4 };
}

function done(parts: Uint8Array[], used: number): { data: Buffer; used: number } {
  return { data: Buffer.concat(parts), used };
}
