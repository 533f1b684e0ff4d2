import { describe, expect, it } from 'vitest';
import { constants, deflateRawSync, deflateSync, inflateSync } from 'node:zlib';
import { adler32, deflateStored, inflateStored, STORED_READ_MAX } from '../../bus/git/zlib-stored.js';
import { prng } from '../helpers/seeded-random.js';

function bytesOf(next: () => number, n: number, text: boolean): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = text ? 97 + Math.floor(next() * 6) : Math.floor(next() * 256);
  return b;
}

/** `bytes` as a zlib stream of stored blocks of `size` bytes each (deflateStored makes them as large as they go). */
function storedBlocks(bytes: Buffer, size: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0x78, 0x01])];
  for (let at = 0; at < bytes.length || at === 0; at += size) {
    const block = bytes.subarray(at, at + size);
    const head = Buffer.alloc(5);
    head[0] = at + size >= bytes.length ? 1 : 0;
    head.writeUInt16LE(block.length, 1);
    head.writeUInt16LE(~block.length & 0xffff, 3);
    parts.push(head, block);
    if (bytes.length === 0) break;
  }
  const sum = Buffer.alloc(4);
  sum.writeUInt32BE(adler32(bytes));
  return Buffer.concat([...parts, sum]);
}

/** zlib's verdict: what it inflates `raw` to and how many bytes it took, or the error it gives. */
function zlibWhole(raw: Buffer): { data: Buffer; used: number } | Error {
  try {
    const out = inflateSync(raw, { info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    return { data: out.buffer, used: out.engine.bytesWritten };
  } catch (err) {
    return err as Error;
  }
}

function zlibPrefix(raw: Buffer): Buffer | Error {
  try {
    return inflateSync(raw, { finishFlush: constants.Z_SYNC_FLUSH });
  } catch (err) {
    return err as Error;
  }
}

/** zlib streams of stored blocks without node:zlib (bus/git/zlib-stored.ts), held to node:zlib on every input. */
describe('stored zlib streams', () => {
  it('writes streams node:zlib inflates to the same bytes, one block up to 65,535 bytes and more blocks past it', () => {
    const next = prng(1);
    for (const n of [0, 1, 2, 100, 5552, 5553, 65_535, 65_536, 200_000]) {
      const bytes = bytesOf(next, n, n % 2 === 0);
      const stored = deflateStored(bytes);
      expect(inflateSync(stored).equals(bytes), `${n} bytes`).toBe(true);
      expect(stored.length).toBe(2 + Math.max(1, Math.ceil(n / 65_535)) * 5 + n + 4);
      // And reads them back itself, to the byte where the stream ends, up to the length it reads (zlib reads more).
      expect(inflateStored(stored), `${n} bytes`).toEqual(stored.length <= STORED_READ_MAX ? { data: bytes, used: stored.length } : null);
    }
  });

  it('leaves a stream longer than it reads to node:zlib', () => {
    const stored = storedBlocks(Buffer.alloc(STORED_READ_MAX, 97), 1000);
    expect(stored.length).toBeGreaterThan(STORED_READ_MAX);
    expect(inflateStored(stored)).toBeNull();
    expect(inflateStored(stored, true)).toBeNull();
    // All but the framing: the header and each 1,000-byte block's 5 bytes.
    expect(inflateStored(stored.subarray(0, STORED_READ_MAX), true)?.data.length).toBeGreaterThan(STORED_READ_MAX - 2 - 5 * Math.ceil(STORED_READ_MAX / 1000) - 1000);
  });

  it("adler32 is zlib's", () => {
    const next = prng(2);
    for (const n of [0, 1, 5551, 5552, 5553, 11_104, 70_000]) {
      const bytes = bytesOf(next, n, false).fill(255, 0, Math.floor(n / 2));
      const z = deflateSync(bytes, { level: 0 });
      expect(adler32(bytes), `${n} bytes`).toBe(z.readUInt32BE(z.length - 4));
    }
  });

  it("reads zlib's own stored streams, and leaves compressed ones to zlib (null)", () => {
    const next = prng(3);
    const bytes = bytesOf(next, 3_000, true);
    const level0 = deflateSync(bytes, { level: 0 });
    expect(inflateStored(level0)?.data.equals(bytes)).toBe(true);
    expect(inflateStored(deflateSync(bytes))).toBeNull();
    expect(inflateStored(deflateSync(bytes), true)).toBeNull();
    // A raw deflate stream, a gzip one and nothing at all are not zlib streams.
    expect(inflateStored(deflateRawSync(bytes, { level: 0 }))).toBeNull();
    expect(inflateStored(Buffer.from([0x1f, 0x8b, 8, 0]))).toBeNull();
    expect(inflateStored(Buffer.alloc(0))).toBeNull();
  });

  it('reads a stream of many blocks, and a stream cut short gives, as a prefix, the bytes node:zlib gives with Z_SYNC_FLUSH (the loose-object header read)', () => {
    const next = prng(4);
    const bytes = bytesOf(next, 16_000, true);
    const stored = storedBlocks(bytes, 1000);
    expect(inflateStored(stored)).toEqual({ data: bytes, used: stored.length });
    for (const cut of [2, 3, 6, 7, 8, 1006, 1007, 1008, 1012, 1013, 1024, stored.length - 4, stored.length - 1, stored.length]) {
      const prefix = stored.subarray(0, cut);
      const mine = inflateStored(prefix, true);
      const z = zlibPrefix(prefix);
      expect(z instanceof Error, `cut at ${cut}`).toBe(false);
      expect(mine?.data.equals(z as Buffer), `cut at ${cut}`).toBe(true);
      // As a whole stream it is refused: zlib says it ended too soon.
      if (cut < stored.length) {
        expect(inflateStored(prefix)).toBeNull();
        expect(zlibWhole(prefix)).toBeInstanceOf(Error);
      }
    }
  });

  it('on 20,000 streams, most of them damaged, whenever it answers node:zlib gives the same answer, and it answers for every whole one', () => {
    const next = prng(5);
    let answered = 0;
    let answeredPrefix = 0;
    let whole = 0;
    for (let i = 0; i < 20_000; i++) {
      const n = Math.floor(next() * 300);
      const bytes = bytesOf(next, n, next() < 0.5);
      const kind = next();
      const raw = Buffer.from(kind < 0.2 ? deflateSync(bytes, { level: 0 }) : kind < 0.4 ? storedBlocks(bytes, 1 + Math.floor(next() * 100)) : deflateStored(bytes));
      // None (a quarter of them), or one to three of: a byte changed, the stream cut, bytes after it.
      const edits = Math.floor(next() * 4);
      if (edits === 0) whole++;
      let damaged = raw;
      for (let e = 0; e < edits; e++) {
        const what = next();
        if (what < 0.5 && damaged.length > 0) {
          const at = Math.floor(next() * damaged.length);
          damaged = Buffer.from(damaged);
          damaged[at] = next() < 0.5 ? (damaged[at] as number) ^ (1 << Math.floor(next() * 8)) : Math.floor(next() * 256);
        } else if (what < 0.8) {
          damaged = damaged.subarray(0, Math.floor(next() * (damaged.length + 1)));
        } else {
          damaged = Buffer.concat([damaged, bytesOf(next, 1 + Math.floor(next() * 4), false)]);
        }
      }
      const mine = inflateStored(damaged);
      if (edits === 0) expect(mine?.data.equals(bytes), `stream ${i}`).toBe(true);
      if (mine) {
        answered++;
        const z = zlibWhole(damaged);
        expect(z instanceof Error ? z.message : z, `stream ${i}: ${damaged.toString('hex')}`).toEqual(mine);
      }
      const minePrefix = inflateStored(damaged, true);
      if (minePrefix) {
        answeredPrefix++;
        const z = zlibPrefix(damaged);
        expect(z instanceof Error ? z.message : z.toString('hex'), `prefix ${i}: ${damaged.toString('hex')}`).toBe(minePrefix.data.toString('hex'));
      }
    }
    // Damage that leaves a valid stream (a changed padding bit of a block's first byte, an edit undone by a cut) is
    // read here too; and a prefix answers for more.
    expect(answered).toBeGreaterThan(whole);
    expect(answeredPrefix).toBeGreaterThan(answered);
  });
});
