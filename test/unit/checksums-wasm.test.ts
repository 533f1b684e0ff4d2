import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prng } from '../helpers/seeded-random.js';
import { ROOT } from '../helpers/cli.js';

/** adler32 as node:zlib ends a stream with it. */
const zlibAdler = (bytes: Uint8Array): number => deflateSync(bytes).readUInt32BE(deflateSync(bytes).length - 4);

/**
 * The WebAssembly SHA-1 and adler32 (bus/checksums-wasm.ts, their module written by scripts/checksums-wasm.mjs)
 * against node:crypto and node:zlib, and their absence when they cannot run. Each case in a process of its own: the
 * module is loaded once per process.
 */
describe('SHA-1 and adler32 in WebAssembly (bus/checksums-wasm.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gitbus-checksums-wasm-'));
  const wasm = join(dir, 'checksums.wasm');
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'checksums-wasm.mjs'), wasm]);
  /**
   * Runs `body` (a module's text, with `sha1HexWasm`, `adler32Wasm`, `checksumModule` and the stored streams'
   * `adler32` and `adler32Js` in scope) in a process of its own.
   */
  const inProcess = (body: string, args: string[] = []): string => {
    const file = join(dir, `case-${Math.random().toString(36).slice(2)}.mjs`);
    const imports = [
      `import { sha1HexWasm, adler32Wasm, checksumModule } from ${JSON.stringify(join(ROOT, 'dist', 'bus', 'checksums-wasm.js'))};`,
      `import { adler32, adler32Js } from ${JSON.stringify(join(ROOT, 'dist', 'bus', 'git', 'zlib-stored.js'))};`,
    ];
    writeFileSync(file, `${imports.join('\n')}\n${body}`);
    return execFileSync(process.execPath, [...args, file], { encoding: 'utf8' });
  };

  it('gives what node:crypto gives, for messages in one part or many, across the chunk and padding boundaries', () => {
    const next = prng(55);
    const lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 64_383, 64_384, 64_385, 64_440, 64_448, 128_768, 200_000];
    for (let i = 0; i < 120; i++) lengths.push(Math.floor(next() * 3000));
    const messages = lengths.map((n) => Array.from({ length: n }, () => Math.floor(next() * 256)));
    const out = inProcess(`
      checksumModule(${JSON.stringify(wasm)});
      const messages = ${JSON.stringify(messages)}.map((m) => Uint8Array.from(m));
      const hashes = messages.map((m, i) => {
        // Split into up to four parts at places that depend on i: the parts are one message.
        const cuts = [0, (i * 7) % (m.length + 1), (i * 13) % (m.length + 1), m.length].sort((a, b) => a - b);
        return sha1HexWasm(...cuts.slice(1).map((end, k) => m.subarray(cuts[k], end)));
      });
      process.stdout.write(JSON.stringify(hashes));`);
    const hashes = JSON.parse(out) as string[];
    expect(hashes).toHaveLength(messages.length);
    messages.forEach((m, i) => expect(hashes[i], `${m.length} bytes`).toBe(createHash('sha1').update(Uint8Array.from(m)).digest('hex')));
  });

  it('is undefined with a module that does not hash as SHA-1 does or sum as adler32 does, and past 1 MiB, so the caller hashes as before', () => {
    const str = (t: string) => [t.length, ...Buffer.from(t)];
    const section = (id: number, bytes: number[]) => [id, bytes.length, ...bytes];
    /**
     * A module of the right shape: `blocks` with an empty body, `adler` that answers adler32("abc") (0x024d0127, as
     * a signed LEB128 constant) to anything, one memory of `pages` pages: only the SHA-1 check at the load refuses it.
     */
    const shaped = (pages: number): string => {
      const file = join(dir, `shaped-${pages}.wasm`);
      const adlerBody = [0, 0x41, 0xa7, 0x82, 0xb4, 0x12, 0x0b];
      writeFileSync(
        file,
        Buffer.from([
          0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
          ...section(1, [2, 0x60, 2, 0x7f, 0x7f, 0, 0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f]),
          ...section(3, [2, 0, 1]),
          ...section(5, [1, 0, pages]),
          ...section(7, [3, ...str('blocks'), 0, 0, ...str('adler'), 0, 1, ...str('memory'), 2, 0]),
          ...section(10, [2, 2, 0, 0x0b, adlerBody.length, ...adlerBody]),
        ]),
      );
      return file;
    };
    // The real module with its sum's last step changed (b shifted by 15, not 16): SHA-1 right, adler32 wrong.
    const real = readFileSync(wasm);
    const step = Buffer.from([0x20, 0x04, 0x41, 0x10, 0x74, 0x20, 0x03, 0x72, 0x0b]);
    const at = real.indexOf(step);
    expect(at).toBeGreaterThan(0);
    const wrongSum = Buffer.from(real);
    wrongSum[at + 3] = 0x0f;
    writeFileSync(join(dir, 'wrong-sum.wasm'), wrongSum);
    const both = (file: string) => inProcess(`checksumModule(${JSON.stringify(file)}); process.stdout.write(String(sha1HexWasm(new Uint8Array(3))) + ' ' + String(adler32Wasm(new Uint8Array(3))));`);
    // Held to the checks' purpose: the shaped module's adler answers the check, the changed one hashes right.
    expect(inProcess(`const m = new WebAssembly.Instance(new WebAssembly.Module((await import('node:fs')).readFileSync(${JSON.stringify(shaped(1))}))).exports; process.stdout.write(String(m.adler(0, 3, 1)));`)).toBe(String(0x024d0127));
    for (const file of [shaped(1), shaped(0), join(dir, 'wrong-sum.wasm')]) expect(both(file), file).toBe('undefined undefined');
    expect(both(wasm)).toMatch(/^[0-9a-f]{40} \d+$/);
    expect(inProcess(`checksumModule(${JSON.stringify(wasm)}); process.stdout.write(String(sha1HexWasm(new Uint8Array(1 << 20))) + ' ' + String(sha1HexWasm(new Uint8Array((1 << 20) + 1))));`)).toBe(`${createHash('sha1').update(new Uint8Array(1 << 20)).digest('hex')} undefined`);
  });

  it('is undefined without its module, or without WebAssembly (--jitless), so the caller hashes and sums as before', () => {
    expect(inProcess(`checksumModule(${JSON.stringify(join(dir, 'none.wasm'))}); process.stdout.write(String(sha1HexWasm(new Uint8Array(3))) + ' ' + String(adler32Wasm(new Uint8Array(3))));`)).toBe('undefined undefined');
    expect(inProcess(`checksumModule(${JSON.stringify(wasm)}); process.stdout.write(String(sha1HexWasm(new Uint8Array(3))) + ' ' + String(adler32Wasm(new Uint8Array(3))));`, ['--jitless'])).toBe('undefined undefined');
  });

  it('is found beside the build: dist/checksums.wasm, from the ES module build', () => {
    expect(inProcess(`process.stdout.write(String(sha1HexWasm(new TextEncoder().encode('abc'))) + ' ' + String(adler32Wasm(new TextEncoder().encode('abc'))));`)).toBe(`${createHash('sha1').update('abc').digest('hex')} ${zlibAdler(Buffer.from('abc'))}`);
  });

  it("sums adler32 as node:zlib does, across the sums' reduction every 5,552 bytes and the module's 63 KiB at a time", () => {
    const next = prng(57);
    // 5,552: zlib's NMAX; 64,512: what one call of the module takes (its page less its first KiB).
    const lengths = [0, 1, 2, 3, 5551, 5552, 5553, 11_104, 64_511, 64_512, 64_513, 129_024, 200_000];
    for (let i = 0; i < 40; i++) lengths.push(Math.floor(next() * 20_000));
    const messages = lengths.map((n, i) => (i === 1 ? [255] : Array.from({ length: n }, () => (n > 100_000 ? 255 : Math.floor(next() * 256)))));
    const out = inProcess(`
      checksumModule(${JSON.stringify(wasm)});
      const messages = ${JSON.stringify(messages)}.map((m) => Uint8Array.from(m));
      process.stdout.write(JSON.stringify(messages.map((m) => adler32Wasm(m))));`);
    const sums = JSON.parse(out) as number[];
    expect(sums).toHaveLength(messages.length);
    messages.forEach((m, i) => expect(sums[i], `${m.length} bytes`).toBe(zlibAdler(Uint8Array.from(m))));
  });

  it('is what the stored zlib streams sum with from 2 KiB, and they sum the same in JavaScript where it cannot run', () => {
    const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) & 255);
    /**
     * The stored streams' adler32 of `n` such bytes, and whether they went through the module's memory: its byte
     * 2,000 after its first KiB is theirs (the module's own check at its load writes a block at most there).
     */
    const sum = (n: number, args: string[] = []) =>
      JSON.parse(
        inProcess(
          `const m = Uint8Array.from({ length: ${n} }, (_, i) => (i * 131 + 7) & 255);
          const sum = adler32(m);
          const mod = checksumModule();
          process.stdout.write(JSON.stringify({ sum, js: adler32Js(m), throughModule: mod !== null && new Uint8Array(mod.memory.buffer)[1024 + 2000] === m[2000] }));`,
          args,
        ),
      ) as { sum: number; js: number; throughModule: boolean };
    for (const n of [2047, 2048, 70_000]) {
      const expected = zlibAdler(bytes(n));
      expect(sum(n), `${n} bytes`).toEqual({ sum: expected, js: expected, throughModule: n >= 2048 });
      expect(sum(n, ['--jitless']), `${n} bytes, --jitless`).toEqual({ sum: expected, js: expected, throughModule: false });
    }
  });
});
