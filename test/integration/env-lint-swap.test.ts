import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileProblem } from '../../schemas/errors.js';
import { envFilesOnDisk, envFoldersOf, envListingProblems, withSpecialFiles } from '../../bus/env/lint-env-files.js';
import { lintPath } from '../../bus/ops/lint.js';
import { NotRegularFileError, readAtMost } from '../../bus/read-at-most.js';
import { releaseFifo, within } from '../helpers/fifo.js';

/**
 * `gitbus lint` of a profile on disk looks at each file (lstat) and reads it later: whatever takes a file's place
 * in between (a FIFO, whose open would wait for ever; a device; a link to a file outside) is never read. The race
 * is made deterministic here by swapping after the walk and before the read, which is the window itself.
 */
describe('env lint reads only regular files, judged by what it opened', () => {
  let root: string;
  const rc = () => join(root, 'env', 'p1', 'files', 'rc');
  const secret = 'the secret outside the checkout\n';
  /** A device node can be made only by root: there the device case runs too. */
  const canMknod = process.getuid?.() === 0;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'gitbus-env-swap-'));
    writeFileSync(join(root, 'gitbus.yaml'), 'protocol: 1\n');
    mkdirSync(join(root, 'env', 'p1', 'files'), { recursive: true });
    const body = 'abc';
    writeFileSync(join(root, 'env', 'p1', 'manifest.yaml'), `format: 1\nentries:\n  - source: rc\n    target: ~/.zshrc\nfiles:\n  rc: {sha256: ${createHash('sha256').update(body).digest('hex')}, size: 3, executable: false}\n`);
    writeFileSync(rc(), body);
    writeFileSync(join(root, 'outside.txt'), secret);
  });
  afterEach(() => {
    releaseFifo(rc());
    rmSync(root, { recursive: true, force: true });
  });

  /** What replaces the regular file: each a kind lint must not read. */
  const kinds: { kind: string; make: (path: string) => void; skip?: boolean }[] = [
    { kind: 'a FIFO', make: (p) => execFileSync('mkfifo', [p]) },
    { kind: 'a symbolic link', make: (p) => symlinkSync(join(root, 'outside.txt'), p) },
    // /dev/null's numbers: reading it would not hang, but it is still no file of the profile.
    { kind: 'a device', make: (p) => execFileSync('mknod', [p, 'c', '1', '3']), skip: !canMknod },
  ];

  for (const { kind, make, skip } of kinds) {
    it.skipIf(skip)(`a file replaced by ${kind} between the walk and the read is reported, not read`, async () => {
      const env = await envFilesOnDisk(root);
      expect(env.files.map((f) => [f.path, f.mode])).toContainEqual(['env/p1/files/rc', '100644']);
      rmSync(rc());
      make(rc());
      const profiles = envFoldersOf(env.files.map((f) => f.path));
      const seen: Uint8Array[] = [];
      const read = async (oids: string[]) => {
        const got = await env.read(oids);
        seen.push(...got.values());
        return got;
      };
      const problems = await within(10_000, envListingProblems(env.files, profiles, read), () => releaseFifo(rc()));
      expect(seen.some((b) => Buffer.from(b).toString('utf8').includes('secret')), 'the link was not followed').toBe(false);
      expect(env.replaced.map((p) => p.path)).toEqual(['env/p1/files/rc']);
      const all = withSpecialFiles(problems, env.special, profiles, env.replaced);
      expect(all.filter((p) => p.path === 'env/p1/files/rc')).toEqual([expect.objectContaining({ reason: expect.stringContaining('not a regular file any more'), severity: 'error' })]);
    });

    it.skipIf(skip)(`${kind} already in place when lint walks is reported, not read (lint of the checkout and of the file)`, async () => {
      rmSync(rc());
      make(rc());
      for (const target of [root, rc()]) {
        const report = await within(10_000, lintPath(target), () => releaseFifo(rc()));
        const mine = report.problems.filter((p: FileProblem) => p.path === 'env/p1/files/rc');
        expect(mine, target).toContainEqual(expect.objectContaining({ reason: expect.stringMatching(kind === 'a symbolic link' ? /symbolic link/ : /not a regular file/), severity: 'error' }));
        expect(JSON.stringify(report)).not.toContain('secret');
      }
    });
  }

  it('readAtMost with regularOnly opens before it looks: a FIFO, a link or a device is refused with NOT_REGULAR_FILE, a regular file is read to its cap', async () => {
    expect(await readAtMost(rc(), 2, { regularOnly: true })).toEqual({ bytes: Buffer.from('ab'), more: true });
    const fifo = join(root, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const link = join(root, 'link');
    symlinkSync(join(root, 'outside.txt'), link);
    const cases: [string, string][] = [[fifo, 'a FIFO'], [link, 'a symbolic link'], [root, 'a folder']];
    if (canMknod) {
      execFileSync('mknod', [join(root, 'dev'), 'c', '1', '3']);
      cases.push([join(root, 'dev'), 'a device']);
    }
    try {
      for (const [path, what] of cases) {
        const err = await within(10_000, readAtMost(path, 100, { regularOnly: true }).then(() => null, (e: unknown) => e), () => releaseFifo(fifo));
        expect(err, path).toBeInstanceOf(NotRegularFileError);
        expect(err).toMatchObject({ code: 'NOT_REGULAR_FILE', data: { path, what } });
      }
    } finally {
      releaseFifo(fifo);
    }
  });
});
