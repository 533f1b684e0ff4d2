import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prng } from '../helpers/seeded-random.js';
import { ROOT } from '../helpers/cli.js';

/**
 * The WebAssembly SHA-1 (bus/sha1-wasm.ts, its module written by scripts/sha1-wasm.mjs) against node:crypto, and its
 * absence when it cannot run. Each case in a process of its own: the module is loaded once per process.
 */
describe('SHA-1 in WebAssembly (bus/sha1-wasm.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gitbus-sha1-wasm-'));
  const wasm = join(dir, 'sha1.wasm');
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'sha1-wasm.mjs'), wasm]);
  /** Runs `body` (a module's text, with `sha1HexWasm` and `sha1Module` in scope) in a process of its own. */
  const inProcess = (body: string, args: string[] = []): string => {
    const file = join(dir, `case-${Math.random().toString(36).slice(2)}.mjs`);
    writeFileSync(file, `import { sha1HexWasm, sha1Module } from ${JSON.stringify(join(ROOT, 'dist', 'bus', 'sha1-wasm.js'))};\n${body}`);
    return execFileSync(process.execPath, [...args, file], { encoding: 'utf8' });
  };

  it('gives what node:crypto gives, for messages in one part or many, across the chunk and padding boundaries', () => {
    const next = prng(55);
    const lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 64_383, 64_384, 64_385, 64_440, 64_448, 128_768, 200_000];
    for (let i = 0; i < 120; i++) lengths.push(Math.floor(next() * 3000));
    const messages = lengths.map((n) => Array.from({ length: n }, () => Math.floor(next() * 256)));
    const out = inProcess(`
      sha1Module(${JSON.stringify(wasm)});
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

  it('is undefined with a module that does not hash as SHA-1 does, and past 1 MiB, so the caller hashes as before', () => {
    /** A module of the right shape: `blocks` with an empty body, one memory of `pages` pages. */
    const shaped = (pages: number): string => {
      const file = join(dir, `shaped-${pages}.wasm`);
      const str = (t: string) => [t.length, ...Buffer.from(t)];
      const section = (id: number, bytes: number[]) => [id, bytes.length, ...bytes];
      writeFileSync(file, Buffer.from([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 0]), ...section(3, [1, 0]), ...section(5, [1, 0, pages]), ...section(7, [2, ...str('blocks'), 0, 0, ...str('memory'), 2, 0]), ...section(10, [1, 2, 0, 0x0b])]));
      return file;
    };
    for (const file of [shaped(1), shaped(0)]) expect(inProcess(`sha1Module(${JSON.stringify(file)}); process.stdout.write(String(sha1HexWasm(new Uint8Array(3))));`), file).toBe('undefined');
    expect(inProcess(`sha1Module(${JSON.stringify(wasm)}); process.stdout.write(String(sha1HexWasm(new Uint8Array(1 << 20))) + ' ' + String(sha1HexWasm(new Uint8Array((1 << 20) + 1))));`)).toBe(`${createHash('sha1').update(new Uint8Array(1 << 20)).digest('hex')} undefined`);
  });

  it('is undefined without its module, or without WebAssembly (--jitless), so the caller hashes as before', () => {
    expect(inProcess(`sha1Module(${JSON.stringify(join(dir, 'none.wasm'))}); process.stdout.write(String(sha1HexWasm(new Uint8Array(3))));`)).toBe('undefined');
    expect(inProcess(`sha1Module(${JSON.stringify(wasm)}); process.stdout.write(String(sha1HexWasm(new Uint8Array(3))));`, ['--jitless'])).toBe('undefined');
  });

  it('is found beside the build: dist/sha1.wasm, from the ES module build', () => {
    expect(inProcess(`process.stdout.write(String(sha1HexWasm(new TextEncoder().encode('abc'))));`)).toBe(createHash('sha1').update('abc').digest('hex'));
  });
});
