import { describe, expect, it } from 'vitest';
import { sum32 } from '../../schemas/sum32.js';

/** The checksum of the node's own cache files and the code cache's names (schemas/sum32.ts). */
describe('sum32', () => {
  const bytes = (n: number, seed: number): Buffer => {
    const b = Buffer.alloc(n);
    let s = seed;
    for (let i = 0; i < n; i++) b[i] = (s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0) >>> 24;
    return b;
  };

  it('changes with any one bit flipped, any byte cut off the end and any byte added, for lengths 0 to 300', () => {
    for (let n = 0; n <= 300; n++) {
      const b = bytes(n, n + 1);
      const sum = sum32(b);
      for (let bit = 0; bit < n * 8; bit++) {
        const flipped = Buffer.from(b);
        flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
        expect(sum32(flipped), `${n} bytes, bit ${bit}`).not.toBe(sum);
      }
      for (let cut = 0; cut < n; cut++) expect(sum32(b.subarray(0, cut)), `${n} bytes cut to ${cut}`).not.toBe(sum);
      expect(sum32(Buffer.concat([b, Buffer.alloc(1)])), `${n} bytes and a zero`).not.toBe(sum);
    }
  });

  it('is the same for the same bytes wherever they start in memory, and for a string as for its UTF-8 bytes', () => {
    const b = bytes(1000, 7);
    const room = Buffer.alloc(1010);
    for (let at = 0; at < 8; at++) {
      b.copy(room, at);
      expect(sum32(room.subarray(at, at + 1000)), `at ${at}`).toBe(sum32(b));
    }
    for (const text of ['', 'gitbus', 'caf\u00e9 \u2713 \u{1f680}', 'x'.repeat(257)]) expect(sum32(text), text).toBe(sum32(Buffer.from(text, 'utf8')));
    // A seed makes another sum.
    expect(sum32(b, 1)).not.toBe(sum32(b));
  });

  it('spreads: 20,000 short names give 20,000 sums', () => {
    const sums = new Set<number>();
    for (let i = 0; i < 20_000; i++) sums.add(sum32(`--max-http-header-size=${16_000 + i}`));
    expect(sums.size).toBe(20_000);
  });
});
