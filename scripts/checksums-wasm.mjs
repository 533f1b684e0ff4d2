// Writes dist/checksums.wasm (npm run build): SHA-1's compression function and adler32 as WebAssembly, for
// bus/checksums-wasm.ts. The module exports `blocks(ptr, n)`, which runs the compression function over n 64-byte
// blocks at ptr in its memory; `adler(ptr, len, start)`, adler32 of the len bytes at ptr continued from the sum
// `start` (1 for a new one); and `memory` (one page): the state h0..h4 at bytes 0..20 (little-endian words), the
// schedule W at 64..384, the caller's bytes from 1024. Written here as opcodes, not compiled: the project has no
// WebAssembly toolchain, and the functions are ~250 and ~40 instructions. Checked against node:crypto and node:zlib
// by test/unit/checksums-wasm.test.ts.
import { writeFileSync } from 'node:fs';

const op = { load8U: 0x2d, geU: 0x4f, remU: 0x70, shrU: 0x76, select: 0x1b, get: 0x20, set: 0x21, const: 0x41, load: 0x28, store: 0x36, add: 0x6a, sub: 0x6b, and: 0x71, or: 0x72, xor: 0x73, shl: 0x74, rotl: 0x77, rotr: 0x78, ltU: 0x49, eqz: 0x45, block: 0x02, loop: 0x03, end: 0x0b, br: 0x0c, brIf: 0x0d };
const uleb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n !== 0) b |= 0x80; out.push(b); } while (n !== 0); return out; };
const sleb = (n) => { const out = []; n |= 0; for (;;) { const b = n & 0x7f; n >>= 7; if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return out; } out.push(b | 0x80); } };
// locals: 0 ptr, 1 n, 2 a, 3 b, 4 c, 5 d, 6 e, 7 t, 8 i, 9 f
const [PTR, N, A, B, C, D, E, T, I, F] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const W = 64; // W[i] at 64 + 4i
const code = [];
const emit = (...bytes) => code.push(...bytes.flat());
const get = (l) => emit(op.get, uleb(l));
const set = (l) => emit(op.set, uleb(l));
const c32 = (v) => emit(op.const, sleb(v | 0));
const load = (offset) => emit(op.load, 2, uleb(offset));
const store = (offset) => emit(op.store, 2, uleb(offset));
// address of W[i] (local I): I*4
const wAddr = (l) => { get(l); c32(2); emit(op.shl); };

// outer loop over blocks
emit(op.block, 0x40, op.loop, 0x40);
get(N); emit(op.eqz, op.brIf, 1);
// W[0..15] = bswap(load(ptr + 4i))
c32(0); set(I);
emit(op.loop, 0x40);
  wAddr(I); // dest address (W offset added in store)
  // x = load(ptr + 4i)
  get(PTR); wAddr(I); emit(op.add); load(0); set(T);
  // bswap: rotr(x & 0x00ff00ff, 8) | rotl(x & 0xff00ff00, 8)
  get(T); c32(0x00ff00ff); emit(op.and); c32(8); emit(op.rotr);
  get(T); c32(0xff00ff00); emit(op.and); c32(8); emit(op.rotl);
  emit(op.or);
  store(W);
  get(I); c32(1); emit(op.add); set(I);
  get(I); c32(16); emit(op.ltU, op.brIf, 0);
emit(op.end);
// W[16..79]
emit(op.loop, 0x40);
  wAddr(I);
  wAddr(I); load(W - 12);
  wAddr(I); load(W - 32); emit(op.xor);
  wAddr(I); load(W - 56); emit(op.xor);
  wAddr(I); load(W - 64); emit(op.xor);
  c32(1); emit(op.rotl);
  store(W);
  get(I); c32(1); emit(op.add); set(I);
  get(I); c32(80); emit(op.ltU, op.brIf, 0);
emit(op.end);
// a..e = state
[A, B, C, D, E].forEach((l, k) => { c32(0); load(4 * k); set(l); });
c32(0); set(I);
const groups = [
  [20, 0x5a827999, () => { get(B); get(C); emit(op.and); get(B); c32(-1); emit(op.xor); get(D); emit(op.and); emit(op.or); }],
  [40, 0x6ed9eba1, () => { get(B); get(C); emit(op.xor); get(D); emit(op.xor); }],
  [60, 0x8f1bbcdc, () => { get(B); get(C); emit(op.and); get(B); get(D); emit(op.and); emit(op.or); get(C); get(D); emit(op.and); emit(op.or); }],
  [80, 0xca62c1d6, () => { get(B); get(C); emit(op.xor); get(D); emit(op.xor); }],
];
for (const [until, k, f] of groups) {
  emit(op.loop, 0x40);
    get(A); c32(5); emit(op.rotl);
    f(); emit(op.add);
    get(E); emit(op.add);
    c32(k); emit(op.add);
    wAddr(I); load(W); emit(op.add);
    set(T);
    get(D); set(E);
    get(C); set(D);
    get(B); c32(30); emit(op.rotl); set(C);
    get(A); set(B);
    get(T); set(A);
    get(I); c32(1); emit(op.add); set(I);
    get(I); c32(until); emit(op.ltU, op.brIf, 0);
  emit(op.end);
}
// state += a..e
[A, B, C, D, E].forEach((l, k) => { c32(0); c32(0); load(4 * k); get(l); emit(op.add); store(4 * k); });
// next block
get(PTR); c32(64); emit(op.add); set(PTR);
get(N); c32(1); emit(op.sub); set(N);
emit(op.br, 0);
emit(op.end, op.end); // loop, block
emit(op.end); // function

const body = [...uleb(1), ...uleb(8), 0x7f, ...code]; // one local group: 8 i32 locals (a-e, t, i, f)

// adler(ptr, len, start) -> sum. locals: 0 ptr, 1 len, 2 start, 3 a, 4 b, 5 end, 6 stop. The sums are reduced every
// 5,552 bytes, zlib's NMAX: the most after which b still fits in 32 bits.
code.length = 0;
const [APTR, ALEN, ASTART, SA, SB, END, STOP] = [0, 1, 2, 3, 4, 5, 6];
const NMAX = 5552;
get(ASTART); c32(0xffff); emit(op.and); set(SA);
get(ASTART); c32(16); emit(op.shrU); set(SB);
get(APTR); get(ALEN); emit(op.add); set(END);
emit(op.block, 0x40, op.loop, 0x40);
  get(APTR); get(END); emit(op.geU, op.brIf, 1);
  // stop = min(ptr + NMAX, end)
  get(APTR); c32(NMAX); emit(op.add); get(END);
  get(APTR); c32(NMAX); emit(op.add); get(END); emit(op.ltU);
  emit(op.select); set(STOP);
  emit(op.loop, 0x40);
    get(SA); get(APTR); emit(op.load8U, 0, 0); emit(op.add); set(SA);
    get(SB); get(SA); emit(op.add); set(SB);
    get(APTR); c32(1); emit(op.add); set(APTR);
    get(APTR); get(STOP); emit(op.ltU, op.brIf, 0);
  emit(op.end);
  get(SA); c32(65521); emit(op.remU); set(SA);
  get(SB); c32(65521); emit(op.remU); set(SB);
  emit(op.br, 0);
emit(op.end, op.end); // loop, block
get(SB); c32(16); emit(op.shl); get(SA); emit(op.or);
emit(op.end); // function
const adler = [...uleb(1), ...uleb(4), 0x7f, ...code]; // one local group: 4 i32 locals (a, b, end, stop)

const section = (id, bytes) => [id, ...uleb(bytes.length), ...bytes];
const str = (s) => [...uleb(s.length), ...Buffer.from(s)];
const bytes = [
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  // types: 0 (i32, i32) -> (), 1 (i32, i32, i32) -> i32
  ...section(1, [2, 0x60, 2, 0x7f, 0x7f, 0, 0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f]),
  ...section(3, [2, 0, 1]),
  ...section(5, [1, 0x00, 1]),
  ...section(7, [3, ...str('blocks'), 0x00, 0, ...str('adler'), 0x00, 1, ...str('memory'), 0x02, 0]),
  ...section(10, [2, ...uleb(body.length), ...body, ...uleb(adler.length), ...adler]),
];
writeFileSync(process.argv[2] ?? 'dist/checksums.wasm', Buffer.from(bytes));
