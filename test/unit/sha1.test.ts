import { afterAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitObjectId, type GitObjectType } from '../../bus/git/loose-object.js';
import { COLD_SHA1_BLOCKS, sha1Hex, sha1WithinBlocks } from '../../bus/git/sha1.js';

const nodeSha1 = (...parts: Uint8Array[]): string => {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

/** `bytes` cut into parts at `cuts` (positions, in order). */
const cut = (bytes: Uint8Array, cuts: number[]): Uint8Array[] => {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    parts.push(bytes.subarray(at, c));
    at = c;
  }
  return parts;
};

describe('SHA-1 in JavaScript (bus/git/sha1.ts)', () => {
  it('gives the known digests', () => {
    expect(sha1Hex()).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    expect(sha1Hex(new Uint8Array(0))).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    expect(sha1Hex(Buffer.from('abc'))).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(sha1Hex(Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe('84983e441c3bd26ebaae4aa1f95129e5e54670f1');
    expect(sha1Hex(Buffer.alloc(1_000_000, 'a'))).toBe('34aa973cd4c4daa4f61eeb2bdbad27316534016f');
  });

  it('agrees with node:crypto at every length around the padding boundaries', () => {
    const bytes = randomBytes(300);
    for (let n = 0; n <= 300; n++) {
      const b = bytes.subarray(0, n);
      expect(sha1Hex(b), `${n} bytes`).toBe(nodeSha1(b));
    }
    for (const n of [55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129]) {
      for (const fill of [0x00, 0x80, 0xff]) {
        const b = Buffer.alloc(n, fill);
        expect(sha1Hex(b), `${n} bytes of ${fill}`).toBe(nodeSha1(b));
      }
    }
  });

  it('agrees with node:crypto on binary inputs of random lengths up to a few hundred KB', () => {
    for (let i = 0; i < 40; i++) {
      const n = i < 20 ? Math.floor(Math.random() * 4096) : Math.floor(Math.random() * 400 * 1024);
      const b = randomBytes(n);
      expect(sha1Hex(b), `${n} bytes`).toBe(nodeSha1(b));
    }
  });

  it('hashes parts as one message, wherever they are cut', () => {
    const bytes = randomBytes(1000);
    for (const n of [0, 1, 55, 56, 63, 64, 65, 128, 200, 1000]) {
      const b = bytes.subarray(0, n);
      const whole = nodeSha1(b);
      for (let c = 0; c <= n; c += n > 200 ? 37 : 1) expect(sha1Hex(...cut(b, [c])), `${n} bytes cut at ${c}`).toBe(whole);
      // Many small parts, empty ones among them, none on a block's edge.
      const cuts = Array.from({ length: Math.floor(n / 7) }, (_, i) => i * 7).concat(n).sort((x, y) => x - y);
      expect(sha1Hex(...cut(b, cuts)), `${n} bytes in parts of 7`).toBe(whole);
    }
  });

  it('hashes a buffer that is a view into a larger one', () => {
    const big = randomBytes(4096);
    const view = big.subarray(13, 13 + 1000);
    expect(sha1Hex(view)).toBe(nodeSha1(view));
    expect(sha1Hex(new Uint8Array(big.buffer, big.byteOffset + 100, 200))).toBe(nodeSha1(big.subarray(100, 300)));
  });
});

describe('SHA-1 within a budget of blocks', () => {
  it('hashes while the blocks last, counting each input with its padding, then answers undefined', () => {
    const hash = sha1WithinBlocks(5);
    // 55 bytes and the padding fit one block; 56 need two.
    expect(hash(Buffer.alloc(55))).toBe(nodeSha1(Buffer.alloc(55)));
    expect(hash(Buffer.alloc(20), Buffer.alloc(36))).toBe(nodeSha1(Buffer.alloc(56)));
    // Three blocks would be needed, two are left: refused, and nothing spent.
    expect(hash(Buffer.alloc(130))).toBeUndefined();
    expect(hash(Buffer.alloc(119))).toBe(nodeSha1(Buffer.alloc(119)));
    expect(hash(new Uint8Array(0))).toBeUndefined();
  });

  it("a process's budget is 4 KiB, under the ~85 blocks at which V8 optimises the hash", () => {
    expect(COLD_SHA1_BLOCKS).toBe(64);
    const hash = sha1WithinBlocks(COLD_SHA1_BLOCKS);
    const hashed = Array.from({ length: 64 }, (_, i) => hash(Buffer.alloc(55, i)));
    expect(hashed.every((h) => typeof h === 'string')).toBe(true);
    expect(hash(Buffer.alloc(1))).toBeUndefined();
  });
});

describe('git object ids', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gitbus-sha1-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const git = (args: string[], input?: Buffer): Buffer => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@x', ...args], { cwd: dir, input, maxBuffer: 1 << 26 });
  git(['init', '-q']);

  it("are git's for blobs, trees and a commit, hashed in JavaScript or with node:crypto", () => {
    const blobs: Record<string, Buffer> = {
      empty: Buffer.alloc(0),
      'handoff.md': Buffer.from('---\nid: 20260101-000000-abcdef\ntitle: probe\n---\n\nDo the thing.\n'),
      binary: randomBytes(777),
      // Over a process's budget: node:crypto hashes it.
      large: randomBytes(200 * 1024),
    };
    for (const [name, content] of Object.entries(blobs)) {
      writeFileSync(join(dir, name), content);
      const oid = git(['hash-object', name]).toString().trim();
      expect(gitObjectId('blob', content), name).toBe(oid);
      expect(sha1Hex(Buffer.from(`blob ${content.length}\0`, 'latin1'), content), name).toBe(oid);
    }
    git(['add', '.']);
    git(['commit', '-q', '-m', 'objects']);
    const objects: [GitObjectType, string][] = [
      ['tree', git(['rev-parse', 'HEAD^{tree}']).toString().trim()],
      ['commit', git(['rev-parse', 'HEAD']).toString().trim()],
    ];
    for (const [type, oid] of objects) {
      const content = git(['cat-file', type, oid]);
      expect(gitObjectId(type, content), type).toBe(oid);
      expect(sha1Hex(Buffer.from(`${type} ${content.length}\0`, 'latin1'), content), type).toBe(oid);
    }
  });
});
