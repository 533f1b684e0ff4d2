import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPackObjects } from '../../bus/git/pack-read.js';
import { PackReadError } from '../../bus/git/errors.js';

const git = (args: string[], cwd: string, input?: string): Buffer => execFileSync('git', args, { cwd, input, maxBuffer: 1 << 26 });

describe('readPackObjects', () => {
  let repo: string;
  let objects: string[];
  beforeAll(() => {
    repo = mkdtempSync(join(tmpdir(), 'gitbus-pack-read-'));
    git(['init', '-q'], repo);
    // Versions of one growing file, so that git stores most as deltas of each other.
    let text = '';
    for (let i = 0; i < 12; i++) {
      text += `line ${i}: ${'the same words again and again '.repeat(8)}\n`;
      writeFileSync(join(repo, 'a.md'), text);
      writeFileSync(join(repo, `f${i}.md`), `file ${i}\n`);
      git(['add', '-A'], repo);
      git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', `c${i}`], repo);
    }
    objects = git(['rev-list', '--objects', '--all'], repo).toString().split('\n').filter(Boolean).map((l) => l.slice(0, 40)).sort();
  });
  afterAll(() => rmSync(repo, { recursive: true, force: true }));

  const pack = (offsets: boolean): Buffer =>
    git(['pack-objects', '--stdout', '--revs', '--window=50', '--depth=50', ...(offsets ? ['--delta-base-offset'] : [])], repo, 'HEAD\n');

  for (const offsets of [true, false]) {
    it(`reads every object of a pack git made, with ${offsets ? 'ofs' : 'ref'}-deltas, to the bytes git has`, () => {
      const p = pack(offsets);
      const verify = join(repo, 'check.pack');
      writeFileSync(verify, p);
      git(['index-pack', verify], repo);
      // The pack does hold deltas, so the test reaches applyDelta.
      expect(git(['verify-pack', '-v', verify], repo).toString()).toMatch(/chain length = [1-9]/);
      const read = readPackObjects(p, 'test');
      expect(read.map((o) => o.oid).sort()).toEqual(objects);
      // git's own bytes, all in one `cat-file --batch`: "<oid> <type> <size>\n<content>\n" each.
      const batch = git(['cat-file', '--batch'], repo, read.map((o) => o.oid).join('\n') + '\n');
      let at = 0;
      for (const o of read) {
        const nl = batch.indexOf(10, at);
        const [oid, type, size] = batch.toString('latin1', at, nl).split(' ');
        expect([oid, type]).toEqual([o.oid, o.type]);
        expect(o.content.equals(batch.subarray(nl + 1, nl + 1 + Number(size)))).toBe(true);
        at = nl + 1 + Number(size) + 1;
      }
    });
  }

  it('refuses a pack with an object cut short or a count it does not hold', () => {
    const p = pack(true);
    expect(() => readPackObjects(p.subarray(0, p.length - 60), 'cut')).toThrow(PackReadError);
    const more = Buffer.from(p);
    more.writeUInt32BE(more.readUInt32BE(8) + 1, 8);
    expect(() => readPackObjects(more, 'count')).toThrow(/announced/);
    expect(() => readPackObjects(Buffer.from('not a pack at all, not a pack at all'), 'junk')).toThrow(/PACK signature/);
  });
});
