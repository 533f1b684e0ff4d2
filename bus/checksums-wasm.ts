import { readFileSync } from 'node:fs';

/**
 * SHA-1 and adler32 in WebAssembly (dist/checksums.wasm, made by scripts/checksums-wasm.mjs at build).
 *
 * SHA-1 through the module's compression function: a cold
 * process takes ~250 µs for its first hash (the module ~110 µs, its instance ~30 µs, the first call's compile ~80 µs),
 * where the JavaScript SHA-1 (bus/git/sha1.ts) takes ~0.45 ms for a dispatch's four objects in V8's interpreter and
 * 2-5 ms for an 11 KB tree, and node:crypto ~2.1 ms to load (docs/PERFORMANCE.md, session 55). Undefined where it
 * cannot run (no file: the ES module build run from the sources; WebAssembly off, as under --jitless; any failure):
 * the caller then hashes as before.
 *
 * adler32, the checksum that ends a zlib stream, for the stored streams gitbus reads and writes
 * (bus/git/zlib-stored.ts): in JavaScript a cold process sums ~40 ns a byte in V8's interpreter, ~0.4 ms for a
 * folder's tree of 200 live tasks (11 KB), read once and written once by a dispatch; here ~10 µs.
 */

/** The part of the WebAssembly global used here: the project's TypeScript libraries declare none of it. */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => { buffer: ArrayBuffer };
}

interface ChecksumModule {
  blocks: (ptr: number, n: number) => void;
  adler: (ptr: number, len: number, start: number) => number;
  memory: { buffer: ArrayBuffer };
}

/**
 * Where the caller's bytes go in the module's memory (one page), and how many whole blocks are hashed in one call:
 * two blocks fewer than fit, so that the last chunk's padding always has its room.
 */
const INPUT = 1024;
const CHUNK_BLOCKS = (65536 - INPUT) / 64 - 2;

/**
 * The largest message hashed here: past ~1 MB node:crypto is faster, its ~2.1 ms load included (~340 MB/s here
 * against ~1.7 GB/s, measured on 640 MiB).
 */
const MAX_BYTES = 1 << 20;

/** SHA-1("abc"), FIPS 180's first example: the module must give it before anything is hashed with it. */
const ABC = 'a9993e364706816aba3e25717850c26c9cd0d89d';
/** adler32("abc"), checked likewise. */
const ABC_ADLER = 0x024d0127;

let loaded: ChecksumModule | null | undefined;

/**
 * The module at `file`, instantiated once per process. Two folders below the package root, as bus/version.ts: this
 * module's folder is dist/bus/ in the ES module build and dist/cli/ in the bundles, so `..` is dist/ in both.
 * `import.meta.dirname`, not `url`: the bundles make their url at its first read (~0.25 ms, scripts/import-meta.mjs).
 */
export function checksumModule(file = `${import.meta.dirname}/../checksums.wasm`): ChecksumModule | null {
  if (loaded !== undefined) return loaded;
  try {
    // Absent under --jitless.
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (wasm === undefined) return (loaded = null);
    const { blocks, adler, memory } = new wasm.Instance(new wasm.Module(readFileSync(file))).exports;
    const m =
      typeof blocks === 'function' && typeof adler === 'function' && memory instanceof wasm.Memory && memory.buffer.byteLength >= 65536
        ? { blocks: blocks as ChecksumModule['blocks'], adler: adler as ChecksumModule['adler'], memory }
        : null;
    // A damaged or replaced file could sum wrongly, and a wrong id is a damaged object on the bus: one block's check
    // of each.
    const abc = new Uint8Array([0x61, 0x62, 0x63]);
    loaded = m !== null && hashWith(m, [abc]) === ABC && sumWith(m, abc) === ABC_ADLER ? m : null;
  } catch {
    loaded = null;
  }
  return loaded;
}

/**
 * The SHA-1 of `parts` as one message, in lowercase hex; undefined when the module cannot run (see above), fails, or
 * the message is past MAX_BYTES: the caller then hashes as before.
 */
export function sha1HexWasm(...parts: Uint8Array[]): string | undefined {
  let total = 0;
  for (const p of parts) total += p.length;
  return total > MAX_BYTES ? undefined : withModule((m) => hashWith(m, parts));
}

/** adler32 of `bytes`; undefined when the module cannot run or fails: the caller then sums in JavaScript. */
export function adler32Wasm(bytes: Uint8Array): number | undefined {
  return withModule((m) => sumWith(m, bytes));
}

/** `run` with the module; undefined when it cannot run, or fails. */
function withModule<T>(run: (m: ChecksumModule) => T): T | undefined {
  const m = checksumModule();
  if (m === null) return undefined;
  try {
    return run(m);
  } catch {
    return undefined;
  }
}

/** The bytes go through the module's memory after its first KiB, a page less that at a time, each sum continuing the last. */
function sumWith(m: ChecksumModule, bytes: Uint8Array): number {
  const mem = new Uint8Array(m.memory.buffer);
  const room = 65536 - INPUT;
  let sum = 1;
  for (let at = 0; at < bytes.length; at += room) {
    const part = bytes.subarray(at, at + room);
    mem.set(part, INPUT);
    sum = m.adler(INPUT, part.length, sum) >>> 0;
  }
  return sum;
}

function hashWith(m: ChecksumModule, parts: readonly Uint8Array[]): string {
  const mem = new Uint8Array(m.memory.buffer);
  const words = new DataView(m.memory.buffer);
  const start = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  for (let i = 0; i < 5; i++) words.setUint32(i * 4, start[i] as number, true);
  let total = 0;
  let filled = 0;
  for (const p of parts) {
    total += p.length;
    let at = 0;
    while (at < p.length) {
      const n = Math.min(p.length - at, CHUNK_BLOCKS * 64 - filled);
      mem.set(p.subarray(at, at + n), INPUT + filled);
      filled += n;
      at += n;
      if (filled === CHUNK_BLOCKS * 64) {
        m.blocks(INPUT, CHUNK_BLOCKS);
        filled = 0;
      }
    }
  }
  // The padding: 0x80, zeros, the message's length in bits as 64 big-endian bits, to a whole block (two when the
  // last bytes leave fewer than 9 free). A chunk is whole blocks, so `filled` is under a chunk and the padding fits.
  const end = Math.floor((filled + 8) / 64 + 1) * 64;
  mem.fill(0, INPUT + filled, INPUT + end);
  mem[INPUT + filled] = 0x80;
  const bits = total * 8;
  words.setUint32(INPUT + end - 8, Math.floor(bits / 2 ** 32), false);
  words.setUint32(INPUT + end - 4, bits >>> 0, false);
  m.blocks(INPUT, end / 64);
  let hex = '';
  for (let i = 0; i < 5; i++) hex += words.getUint32(i * 4, true).toString(16).padStart(8, '0');
  return hex;
}
