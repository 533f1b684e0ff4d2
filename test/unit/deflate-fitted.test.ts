import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { deflateFitted } from '../../bus/git/deflate-fitted.js';
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

/** A git object's zlib with deflate's window and tables sized to it (bus/git/deflate-fitted.ts). */
describe('deflateFitted', () => {
  it('gives back the input, no larger than zlib with its defaults, with a window that reaches every earlier byte', () => {
    for (const input of inputs(14, 300)) {
      const fitted = deflateFitted(input);
      expect(inflateSync(fitted).equals(input), `${input.length} bytes`).toBe(true);
      expect(fitted.length, `${input.length} bytes`).toBeLessThanOrEqual(deflateSync(input).length);
      // The zlib header's CINFO: log2(window) - 8. At least the input and deflate's 262-byte look-ahead, at most 32 KiB.
      const windowBits = ((fitted[0] as number) >> 4) + 8;
      expect(windowBits).toBeLessThanOrEqual(15);
      expect(windowBits === 15 || 2 ** windowBits >= input.length + 262, `${input.length} bytes in a window of 2^${windowBits}`).toBe(true);
    }
  });

  it('sizes the window down for the small objects a command writes (its state was ~256 KiB for every object)', () => {
    for (const [size, bits] of [[0, 9], [200, 9], [250, 9], [251, 10], [3000, 12], [40_000, 15], [1_000_000, 15]] as const) {
      expect(((deflateFitted(Buffer.alloc(size, 7))[0] as number) >> 4) + 8, `${size} bytes`).toBe(bits);
    }
  });

  describe('objects written with it, as git reads them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gitbus-deflate-fitted-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const git = (args: string[]): Buffer => execFileSync('git', args, { cwd: dir, maxBuffer: 1 << 26 });

    it('git reads every one back byte for byte, and fsck finds nothing wrong', async () => {
      git(['init', '-q', '--bare', '.']);
      const written: { oid: string; content: Buffer }[] = [];
      for (const content of inputs(15, 40)) written.push({ oid: await writeLooseObject(fs, dir, 'blob', content), content });
      for (const { oid, content } of written) {
        // Written by deflateFitted: its header names the fitted window.
        const windowBits = ((readFileSync(objectFile(dir, oid))[0] as number) >> 4) + 8;
        expect(windowBits, `${content.length} bytes`).toBe(Math.min(15, Math.max(9, Math.ceil(Math.log2(content.length + 262)))));
        expect(git(['cat-file', 'blob', oid]).equals(content), `${oid}, ${content.length} bytes`).toBe(true);
      }
      git(['fsck', '--strict', '--no-dangling']);
    });
  });
});
