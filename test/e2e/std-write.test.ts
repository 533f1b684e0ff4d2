import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/cli.js';
import { writeAll } from '../../cli/std-write.js';

const STD_WRITE = pathToFileURL(join(ROOT, 'dist', 'cli', 'std-write.js')).href;

/** A child that writes `lines` numbered lines through writeStd, then says which of Node's stream modules it loaded. */
const writer = (lines: number): string => `
import(${JSON.stringify(STD_WRITE)}).then(({ writeStd, wroteToDescriptorsOnly }) => {
  for (let i = 0; i < ${lines}; i++) writeStd('stdout', 'line ' + i + ' ' + 'x'.repeat(60) + '\\n');
  writeStd('stderr', JSON.stringify({ loaded: process.moduleLoadList.filter((m) => /^NativeModule (net|tty)$/.test(m)), only: wroteToDescriptorsOnly() }));
});`;

const run = (script: string, stdout: 'pipe' | number): Promise<{ code: number | null; stdout: Buffer; stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', stdout, 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });

const numbered = (text: string): number[] => text.split('\n').filter((l) => l !== '').map((l) => Number(l.split(' ')[1]));
const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Output written to the file descriptor, without process.stdout's stream (cli/std-write.ts, issue 14 session 42). */
describe.skipIf(process.platform === 'win32')('writeStd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gitbus-std-write-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes everything to a pipe, in order, without making the stream (no node:net): nothing is left pending', async () => {
    const r = await run(writer(5_000), 'pipe');
    expect(r.code, r.stderr).toBe(0);
    expect(numbered(r.stdout.toString())).toEqual(upTo(5_000));
    // Nothing queued in a stream: a served command's client may end at once (cli/serve/client.ts).
    expect(JSON.parse(r.stderr)).toEqual({ loaded: [], only: true });
  });

  it('a pipe that cannot take more now (non-blocking, EAGAIN) gets the rest through the stream, in order, all of it', async () => {
    // Node's child_process makes a child's standard output blocking; a parent that left it non-blocking is made
    // here by the child itself (libuv opens a pipe handle on it non-blocking). A getter named as Node's (writeStd
    // takes only Node's own as a file descriptor to write to) says when the stream is made.
    const script = `
      new (require('node:net').Socket)({ fd: 1, readable: false, writable: true });
      const own = Object.getOwnPropertyDescriptor(process, 'stdout');
      let made = false;
      Object.defineProperty(process, 'stdout', { ...own, get: { getStdout() { if (!made) require('node:fs').writeSync(2, 'stream made\\n'); made = true; return own.get.call(process); } }.getStdout });
      import(${JSON.stringify(STD_WRITE)}).then(({ writeStd, wroteToDescriptorsOnly }) => {
        for (let i = 0; i < 20000; i++) writeStd('stdout', 'line ' + i + ' ' + 'x'.repeat(60) + '\\n');
        process.stderr.write(JSON.stringify({ made, lines: 20000, only: wroteToDescriptorsOnly() }));
      });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const got: Buffer[] = [];
    let err = '';
    // Nothing read until the child made the stream: the pipe holds 64 KiB of the ~1.3 MB, so a write finds it full,
    // and only then does it make the stream (which waits for the reader). Bounded by the test's timeout.
    child.stdout.pause();
    child.stdout.on('data', (b: Buffer) => got.push(b));
    const made = new Promise<void>((resolve) =>
      child.stderr.on('data', (b: Buffer) => {
        err += b.toString();
        if (err.includes('stream made')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await Promise.race([made, exited]);
    child.stdout.resume();
    const code = await exited;
    expect(code, err).toBe(0);
    expect(numbered(Buffer.concat(got).toString())).toEqual(upTo(20_000));
    // The stream may hold writes not made yet: a served command's client then waits for them (cli/serve/client.ts).
    expect(err.split('\n')).toEqual(['stream made', JSON.stringify({ made: true, lines: 20_000, only: false })]);
  });

  it('writeAll says how much it wrote before EAGAIN, and EPIPE when the reader is gone', () => {
    const fifo = join(dir, 'full');
    execFileSync('mkfifo', [fifo]);
    const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    try {
      const r = writeAll(fd, Buffer.alloc(1 << 20, 1));
      expect(r.error).toBe('EAGAIN');
      expect(r.written).toBeGreaterThan(0);
      expect(r.written).toBeLessThan(1 << 20);
    } finally {
      closeSync(fd);
    }
    const gone = join(dir, 'gone');
    execFileSync('mkfifo', [gone]);
    const rd = openSync(gone, constants.O_RDONLY | constants.O_NONBLOCK);
    const wr = openSync(gone, constants.O_WRONLY | constants.O_NONBLOCK);
    closeSync(rd);
    try {
      expect(writeAll(wr, Buffer.from('x'))).toEqual({ written: 0, error: 'EPIPE' });
    } finally {
      closeSync(wr);
    }
  });
});
