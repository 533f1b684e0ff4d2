import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TarReadError, readTar } from '../../bus/git/tar-read.js';
import { UploadArchiveError, parseUploadArchiveResponse, uploadArchiveRequest } from '../../bus/git/upload-archive.js';
import { FLUSH_PKT, concatBytes, encodePktLine } from '../../bus/git/pkt-line.js';

/** The tar git archive writes, and the upload-archive framing around it (bus/git/tar-read.ts, upload-archive.ts). */

function gitTar(files: Record<string, string>): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'gitbus-tar-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const git = (args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@x', ...args], { cwd: dir });
    git(['init', '-q']);
    git(['add', '-A']);
    git(['commit', '-qm', 'x']);
    return git(['archive', '--format=tar', 'HEAD']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const band = (n: number, data: Uint8Array | string) => encodePktLine(concatBytes([Uint8Array.of(n), typeof data === 'string' ? Buffer.from(data) : data]));

describe('tar as git archive writes it', () => {
  it('reads files, folders and a name longer than ustar holds (a pax record)', () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}.md`;
    const entries = readTar(gitTar({ 'a/b.md': 'b\n', [long]: 'long\n' }), 'test');
    expect(entries.filter((e) => e.kind === 'file').map((e) => [e.path, e.content.toString()])).toEqual([
      ['a/b.md', 'b\n'],
      [long, 'long\n'],
    ]);
    expect(entries.find((e) => e.path === 'a')?.kind).toBe('directory');
  });

  it('refuses a garbled header and a cut-off stream', () => {
    const tar = gitTar({ 'a.md': 'a\n' });
    const garbled = Buffer.from(tar);
    garbled[512 * 2] = 0x41; // inside the entry's header, after the pax global header
    expect(() => readTar(garbled, 'test')).toThrow(TarReadError);
    expect(() => readTar(tar.subarray(0, 1024 + 512), 'test')).toThrow(TarReadError);
  });
});

describe('the upload-archive exchange', () => {
  it('frames each argument as git archive --remote does', () => {
    expect(Buffer.from(uploadArchiveRequest(['--format=tar', 'refs/heads/archive:ids/ab'])).toString()).toBe('001aargument --format=tar\n0027argument refs/heads/archive:ids/ab\n0000');
  });

  it('takes the tar from band 1 after the ACK, and says why when the archiver died or the service was refused', () => {
    const tar = gitTar({ 'x.md': 'x\n' });
    const ok = concatBytes([encodePktLine('ACK\n'), FLUSH_PKT, band(1, tar.subarray(0, 1000)), band(1, tar.subarray(1000)), FLUSH_PKT]);
    expect(Buffer.from(parseUploadArchiveResponse(ok, 'r')).equals(tar)).toBe(true);
    const died = concatBytes([encodePktLine('ACK\n'), FLUSH_PKT, band(2, "fatal: pathspec 'x.*' did not match any files\n"), band(3, 'git upload-archive: archiver died with error')]);
    const e1 = (() => {
      try {
        parseUploadArchiveResponse(died, 'r');
      } catch (err) {
        return err;
      }
    })() as UploadArchiveError;
    expect(e1).toBeInstanceOf(UploadArchiveError);
    expect(e1.served).toBe(true);
    expect(e1.said).toMatch(/pathspec 'x\.\*' did not match/);
    const refused = () => parseUploadArchiveResponse(new Uint8Array(0), 'r', 'Invalid command\n');
    expect(refused).toThrow(/not served: Invalid command/);
    expect(() => parseUploadArchiveResponse(encodePktLine('NACK unable to spawn subprocess\n'), 'r')).toThrow(/unable to spawn/);
  });
});
