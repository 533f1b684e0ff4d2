import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, type PathLike, type Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FileProblem } from '../../schemas/errors.js';
import { lintPath } from '../../bus/ops/lint.js';
import { releaseFifo, within } from '../helpers/fifo.js';
import { onCall } from '../helpers/fs-seam.js';

/**
 * `gitbus lint PATH` looks at each file (lstat) and reads it later: whatever takes a file's place in between (a
 * FIFO, whose open would wait for ever; a device; a link to a file outside the checkout) is never read, and is
 * reported as the file's problem while lint goes on with the rest. lint's look and read are one call apart inside
 * lintPath, so the race is made certain by doing the swap inside the look itself: node:fs's lstat is wrapped for
 * the test so that, once it has seen the regular file, the file is replaced before lint gets the answer.
 */
describe('lint reads only regular files, judged by what it opened', () => {
  let root: string;
  const secret = 'the secret outside the checkout\n';
  /** A device node can be made only by root: there the device case runs too. */
  const canMknod = process.getuid?.() === 0;
  const sig = '-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n';

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'gitbus-lint-swap-'));
    writeFileSync(join(root, 'gitbus.yaml'), 'protocol: 1\n');
    mkdirSync(join(root, 'handoffs'));
    writeFileSync(join(root, 'handoffs', 'ok.md'), '---\ntitle: a task\n---\nbody\n');
    // A file with a problem of its own: that it is still reported shows lint went on past the swapped one.
    writeFileSync(join(root, 'handoffs', 'bad.md'), '---\ntitle: odd\nsurprise: 1\n---\n');
    mkdirSync(join(root, 'signatures', 'handoffs'), { recursive: true });
    writeFileSync(join(root, 'signatures', 'handoffs', 'ok.md.sig'), sig);
    writeFileSync(join(root, 'archive-shards'), 'gitbus archive-shards 1\n');
    mkdirSync(join(root, 'env', 'p1', 'files'), { recursive: true });
    writeFileSync(join(root, 'env', 'p1', 'manifest.yaml'), `format: 1\nentries:\n  - source: rc\n    target: ~/.zshrc\nfiles:\n  rc: {sha256: ${createHash('sha256').update('abc').digest('hex')}, size: 3, executable: false}\n`);
    writeFileSync(join(root, 'env', 'p1', 'files', 'rc'), 'abc');
    writeFileSync(join(root, 'outside.txt'), secret);
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  /** What replaces the regular file: each a kind lint must not read. */
  const kinds: { kind: string; make: (path: string) => void; skip?: boolean; says?: { reason: RegExp; fix: string } }[] = [
    { kind: 'a FIFO', make: (p) => execFileSync('mkfifo', [p]) },
    { kind: 'a symbolic link', make: (p) => symlinkSync(join(root, 'outside.txt'), p) },
    // /dev/null's numbers: reading it would not hang, but it is still no file of the checkout.
    { kind: 'a device', make: (p) => execFileSync('mknod', [p, 'c', '1', '3']), skip: !canMknod },
    // Nothing root cannot read either: what is opened is a folder, refused by what the open found.
    { kind: 'a folder', make: (p) => mkdirSync(p) },
    // Removed (an editor saving through a rename, a checkout running): the file's problem, never an internal error.
    { kind: 'nothing', make: () => undefined, says: { reason: /^it is gone: it was removed or renamed after lint looked at it$/, fix: 'lint again' } },
  ];

  /**
   * Each place lint reads a file it looked at: `target` is what is linted, `swapped` the file replaced, `look` at
   * which of lint's lstat calls on it (lint of one sidecar looks at it twice, a signed file is looked at by the
   * checkout's walk and again by its sidecar's check), `whole` whether the rest of the checkout is linted too.
   */
  const places: { place: string; target: string; swapped: string; look: number; whole: boolean }[] = [
    { place: 'a bus file linted alone', target: 'handoffs/ok.md', swapped: 'handoffs/ok.md', look: 1, whole: false },
    { place: 'a bus file of a checkout', target: '.', swapped: 'handoffs/ok.md', look: 1, whole: true },
    { place: 'gitbus.yaml of a checkout', target: '.', swapped: 'gitbus.yaml', look: 1, whole: true },
    { place: 'a sidecar of a checkout', target: '.', swapped: 'signatures/handoffs/ok.md.sig', look: 1, whole: true },
    { place: 'the file a sidecar of a checkout signs', target: '.', swapped: 'handoffs/ok.md', look: 2, whole: true },
    { place: 'a sidecar linted alone', target: 'signatures/handoffs/ok.md.sig', swapped: 'signatures/handoffs/ok.md.sig', look: 2, whole: false },
    { place: 'the file a sidecar linted alone signs', target: 'signatures/handoffs/ok.md.sig', swapped: 'handoffs/ok.md', look: 1, whole: false },
    { place: 'archive-shards linted alone', target: 'archive-shards', swapped: 'archive-shards', look: 1, whole: false },
    // A profile's files are read after the walk of env/ (its one look at each), and must say no more than that: not
    // that their content differs from the manifest, as unread bytes would.
    { place: 'a file of a profile of a checkout', target: '.', swapped: 'env/p1/files/rc', look: 1, whole: true },
    { place: 'a file of a profile linted alone', target: 'env/p1/files/rc', swapped: 'env/p1/files/rc', look: 2, whole: false },
    { place: 'the manifest of a profile of a checkout', target: '.', swapped: 'env/p1/manifest.yaml', look: 1, whole: true },
  ];

  for (const { kind, make, skip, says } of kinds) {
    for (const { place, target, swapped, look, whole } of places) {
      it.skipIf(skip)(`${place}, replaced by ${kind} after lint looked at it, is reported and not read`, async () => {
        const abs = join(root, ...swapped.split('/'));
        const { result: report, swaps } = await swapAfterLook(abs, look, make, () => within(10_000, lintPath(join(root, ...target.split('/'))), () => releaseFifo(abs)));
        expect(swaps, 'the file was replaced in the window').toBe(1);
        expect(report.problems.filter((p: FileProblem) => p.path === swapped)).toEqual([
          { path: swapped, field: '', reason: expect.stringMatching(says?.reason ?? new RegExp(`^it is not a regular file any more: ${kind} took its place`)), fix: expect.stringContaining(says?.fix ?? 'put the regular file back'), severity: 'error' },
        ]);
        expect(JSON.stringify(report), 'the link was not followed').not.toContain('secret');
        if (whole) expect(report.problems.map((p: FileProblem) => p.path)).toContain('handoffs/bad.md');
      });
    }
  }

  /**
   * lint's walks list a folder (readdir) and then look at each entry (lstat): an entry removed in between, or a
   * folder removed or replaced before it is listed, is reported as gone (lint's words for a file gone before its
   * read) while the rest is linted, never an error that ends the command. The removal is made at the call itself.
   */
  const goneEntries: { walk: string; path: string }[] = [
    { walk: 'a live folder', path: 'handoffs/ok.md' },
    { walk: 'signatures/', path: 'signatures/handoffs/ok.md.sig' },
    { walk: 'env/', path: 'env/p1/files/rc' },
    { walk: 'env/', path: 'env/p1/manifest.yaml' },
  ];
  for (const { walk, path } of goneEntries) {
    it(`${path}, listed by the walk of ${walk} and removed before lint looked at it, is reported gone and the rest linted`, async () => {
      const abs = join(root, ...path.split('/'));
      const { result: report, hits } = await onCall('lstat', abs, () => void rmSync(abs), () => lintPath(root));
      expect(hits, 'the entry was removed in the window').toBe(1);
      expect(report.problems.filter((p: FileProblem) => p.path === path)).toEqual([isGone(path)]);
      expect(report.problems.map((p: FileProblem) => p.path)).toContain('handoffs/bad.md');
    });
  }

  /** `by`: what takes the folder's place (a file makes its listing fail with ENOTDIR rather than ENOENT). */
  const goneFolders: { folder: string; target?: string; by?: 'a file' }[] = [
    { folder: 'handoffs' },
    { folder: 'handoffs', by: 'a file' },
    { folder: 'signatures' },
    { folder: 'signatures/handoffs' },
    { folder: 'env' },
    { folder: 'env/p1' },
    { folder: 'env/p1/files' },
    { folder: 'env/p1/files', by: 'a file' },
    { folder: 'env/p1/files', target: 'env/p1/manifest.yaml' },
  ];
  for (const { folder, target, by } of goneFolders) {
    it(`${folder}, ${by ? `replaced by ${by}` : 'removed'} before the walk listed it, is reported gone${target ? ` (lint of ${target})` : ' and the rest linted'}`, async () => {
      const abs = join(root, ...folder.split('/'));
      const swap = (): void => {
        rmSync(abs, { recursive: true });
        if (by) writeFileSync(abs, 'not a folder\n');
      };
      const { result: report, hits } = await onCall('readdir', abs, swap, () => lintPath(join(root, ...(target ?? '.').split('/'))));
      expect(hits, 'the folder was removed in the window').toBe(1);
      expect(report.problems.filter((p: FileProblem) => p.path === folder)).toEqual([isGone(folder)]);
      // What was in it is not known: nothing is said of it (no file the manifest names is "missing").
      expect(report.problems.filter((p: FileProblem) => p.path.startsWith(`${folder}/`))).toEqual([]);
      if (!target && folder !== 'handoffs') expect(report.problems.map((p: FileProblem) => p.path)).toContain('handoffs/bad.md');
    });
  }

  it('a sidecar linted alone, removed after lintPath looked at it and before its own look, is reported gone', async () => {
    const path = 'signatures/handoffs/ok.md.sig';
    const abs = join(root, ...path.split('/'));
    const { result: report, swaps } = await swapAfterLook(abs, 1, () => undefined, () => lintPath(abs));
    expect(swaps).toBe(1);
    expect(report.problems).toEqual([isGone(path)]);
  });

  // Any other failure is lint's to throw, as its reads throw one (readLooked): what it cannot see is not judged. The
  // top-level looks (gitbus.yaml, a live folder, signatures/, env/) too: taken for absent, the folder was left out
  // of a report that then said the checkout was clean, or gitbus.yaml missing.
  const failing: { call: 'lstat' | 'readdir'; path: string; errno: 'EACCES' | 'EIO' }[] = [
    ...(['handoffs/ok.md', 'signatures/handoffs/ok.md.sig', 'env/p1/files/rc'] as const).map((path) => ({ call: 'lstat' as const, path, errno: 'EACCES' as const })),
    ...(['handoffs', 'env/p1/files'] as const).map((path) => ({ call: 'readdir' as const, path, errno: 'EACCES' as const })),
    ...(['gitbus.yaml', 'handoffs', 'signatures', 'env'] as const).flatMap((path) => (['EACCES', 'EIO'] as const).map((errno) => ({ call: 'lstat' as const, path, errno }))),
  ];
  for (const { call, path, errno } of failing) {
    it(`a ${call} of ${path} that fails otherwise (${errno}) ends lint with LINT_UNREADABLE naming it`, async () => {
      const abs = join(root, ...path.split('/'));
      const denied = Object.assign(new Error(`${errno}: ${errno === 'EIO' ? 'i/o error' : 'permission denied'}, ${call} '${abs}'`), { code: errno, path: abs, syscall: call === 'readdir' ? 'scandir' : call });
      const err = await onCall(call, abs, () => denied, () => lintPath(root)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'LINT_UNREADABLE', data: { path: abs, errno } });
      expect((err as Error).message).toContain(errno === 'EIO' ? 'i/o error' : 'permission denied');
      const { fix } = err as { fix: string };
      if (errno === 'EIO') expect(fix).toMatch(/^check the disk .*then lint again$/);
      else expect(fix).toContain(`read access to it and to the folders above it (ls -ld ${abs}), then lint again`);
    });
  }
});

const isGone = (path: string) => ({ path, field: '', reason: 'it is gone: it was removed or renamed after lint looked at it', fix: expect.stringContaining('lint again'), severity: 'error' });

const nodeFs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');

/**
 * Runs `run` with node:fs's lstat wrapped so that the `nth` look at `path` (absolute) replaces the file with what
 * `make` puts there after the look and before its caller is answered; how many swaps were made, so that a test
 * whose window was never reached fails rather than passes for nothing. gitbus takes lstat from node:fs's namespace,
 * which syncBuiltinESMExports brings in line with the module's (writable) exports, and back again.
 */
async function swapAfterLook<T>(path: string, nth: number, make: (path: string) => void, run: () => Promise<T>): Promise<{ result: T; swaps: number }> {
  const real = nodeFs.lstat;
  let looks = 0;
  let swaps = 0;
  const wrapped = (p: PathLike, ...rest: unknown[]): void => {
    const done = rest.pop() as (err: NodeJS.ErrnoException | null, st?: Stats) => void;
    const answer = (err: NodeJS.ErrnoException | null, st?: Stats): void => {
      if (!err && resolve(String(p)) === path && ++looks === nth) {
        rmSync(path);
        make(path);
        swaps++;
      }
      done(err, st);
    };
    (real as (...args: unknown[]) => void)(p, ...rest, answer);
  };
  nodeFs.lstat = wrapped as unknown as typeof nodeFs.lstat;
  syncBuiltinESMExports();
  try {
    return { result: await run(), swaps };
  } finally {
    nodeFs.lstat = real;
    syncBuiltinESMExports();
  }
}

