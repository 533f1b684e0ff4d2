import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { deflateObject, STORED_MAX, TREE_STORED_MAX } from '../../bus/git/object-deflate.js';
import { inflateStored } from '../../bus/git/zlib-stored.js';
import { writeLooseObject } from '../../bus/git/loose-object.js';
import { objectFile } from '../../bus/git/object-path.js';
import { fs } from '../../bus/node-fs.js';
import { pick, prng } from '../helpers/seeded-random.js';

/** Inputs of every size class a git object has here: empty, a commit, a handoff, a folder's tree, a big result. */
function inputs(seed: number, count: number): Buffer[] {
  const rand = prng(seed);
  const words = ['task', 'handoff', ' ', '\n', 'gitbus', '100644 ', 'd9a1f0', '\0', 'claims/', 'status: done', 'x'];
  const out: Buffer[] = [Buffer.alloc(0), Buffer.from('a')];
  for (let i = 0; i < count; i++) {
    const size = Math.floor(rand() ** 3 * 80_000);
    const kind = i % 3;
    if (kind === 0) out.push(Buffer.from(Array.from({ length: size }, () => Math.floor(rand() * 256))));
    else if (kind === 1) out.push(Buffer.from(Array.from({ length: size }, () => pick(rand, words)).join('').slice(0, size)));
    else out.push(Buffer.alloc(size, i % 251));
  }
  return out;
}

/** A git object's zlib (bus/git/object-deflate.ts): stored up to STORED_MAX bytes, else deflated by node:zlib. */
describe('deflateObject', () => {
  it('gives back the input: up to STORED_MAX bytes stored (the input and 11 bytes), past it no larger than zlib makes it', () => {
    let stored = 0;
    for (const input of inputs(14, 300)) {
      const out = deflateObject(input);
      expect(inflateSync(out).equals(input), `${input.length} bytes`).toBe(true);
      if (input.length <= STORED_MAX) {
        stored++;
        expect(out.length, `${input.length} bytes`).toBe(input.length + 11);
        expect(inflateStored(out)?.data.equals(input)).toBe(true);
      } else {
        // zlib's own stream (which is stored blocks too for random bytes, where deflate gains nothing).
        expect(out.equals(deflateSync(input)), `${input.length} bytes`).toBe(true);
      }
    }
    // Both kinds were there.
    expect(stored).toBeGreaterThan(50);
    expect(stored).toBeLessThan(250);
    expect(inflateStored(deflateObject(Buffer.alloc(STORED_MAX, 97)))).not.toBeNull();
    expect(deflateObject(Buffer.alloc(STORED_MAX + 1, 97)).length).toBeLessThan(1_000);
  });

  it('stores a tree up to TREE_STORED_MAX bytes (a folder of ~1,200 tasks), which a blob of that size is not', () => {
    for (const size of [STORED_MAX + 1, TREE_STORED_MAX]) {
      const input = Buffer.alloc(size, 97);
      // The header and checksum (6 bytes), and 5 for each block of at most 65,535.
      expect(deflateObject(input, 'tree').length, `${size} bytes`).toBe(size + 6 + 5 * Math.ceil(size / 65_535));
      expect(inflateStored(deflateObject(input, 'tree'))?.data.equals(input), `${size} bytes`).toBe(true);
      expect(deflateObject(input, 'blob').length, `${size} bytes`).toBeLessThan(1_000);
    }
    expect(deflateObject(Buffer.alloc(TREE_STORED_MAX + 1, 97), 'tree').length).toBeLessThan(1_000);
  });

  describe('objects written with it, as git reads them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gitbus-object-deflate-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const git = (args: string[]): Buffer => execFileSync('git', args, { cwd: dir, maxBuffer: 1 << 26 });

    it('git reads every one back byte for byte, and fsck finds nothing wrong', async () => {
      git(['init', '-q', '--bare', '.']);
      const written: { oid: string; content: Buffer }[] = [];
      for (const content of inputs(15, 40)) written.push({ oid: await writeLooseObject(fs, dir, 'blob', content), content });
      for (const { oid, content } of written) {
        // Stored when small: git reads a stream it compressed nothing of.
        if (content.length <= STORED_MAX) expect(inflateStored(readFileSync(objectFile(dir, oid))), `${content.length} bytes`).not.toBeNull();
        expect(git(['cat-file', 'blob', oid]).equals(content), `${oid}, ${content.length} bytes`).toBe(true);
      }
      // A tree of 1,100 entries, past STORED_MAX: stored, in two blocks, and git reads it.
      const blob = written[2]?.oid ?? '';
      const entries = Array.from({ length: 1100 }, (_, i) => Buffer.concat([Buffer.from(`100644 20261206-210000-${String(i).padStart(6, '0')}.md\0`), Buffer.from(blob, 'hex')]));
      const tree = await writeLooseObject(fs, dir, 'tree', Buffer.concat(entries));
      expect(Number(git(['cat-file', '-s', tree]).toString())).toBeGreaterThan(STORED_MAX);
      expect(inflateStored(readFileSync(objectFile(dir, tree)))).not.toBeNull();
      expect(git(['ls-tree', tree]).toString().split('\n')).toHaveLength(1101);
      git(['fsck', '--strict', '--no-dangling']);
    });
  });
});
