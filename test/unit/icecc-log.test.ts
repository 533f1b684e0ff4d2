import { describe, it, expect } from 'vitest';
import { countIceccLog, parseScheduler } from '../../watcher/runners/icecc.js';
import { iceccLine, responseBody } from '../../bus/ops/respond.js';
import { readLogLines } from '../../watcher/runners/log-lines.js';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli.js';

// Lines as icecc 1.4 writes them with ICECC_DEBUG=debug and ICECC_LOGFILE (several clients append to one file).
const log = (lines: [number, string][]) => lines.map(([pid, text]) => `ICECC[${pid}] 2026-11-21 05:54:03: ${text}`);

describe('countIceccLog', () => {
  it('counts compiles sent to another daemon as remote, and a link not at all', () => {
    const counts = countIceccLog(
      log([
        [100, 'invoked as: icecc gcc -O2 -c main.c -o main.o'],
        [101, 'invoked as: icecc gcc -O2 -c add.c -o add.o'],
        [100, 'Have to use host 10.0.0.7:10245 - Job ID: 1 - env: x86_64 - has env: false - match j: 0'],
        [555, 'preparing source to send: /usr/bin/gcc -O2 -E main.c -fdirectives-only'],
        [101, 'Have to use host 10.0.0.8:10245 - Job ID: 2 - env: x86_64 - has env: true - match j: 0'],
        [102, 'invoked as: icecc gcc -o hello main.o add.o'],
        [102, 'neither -c nor -S argument, building locally'],
        [102, '<building_local>'],
        [102, 'invoking: /usr/bin/gcc main.o add.o -o hello'],
      ]),
    );
    expect(counts).toEqual({ compiles: 2, remote: 2, local: 0 });
  });

  it('counts a compile the scheduler gave to this machine, or retried here after a remote failure, as local', () => {
    const counts = countIceccLog(
      log([
        [200, 'invoked as: icecc gcc -c a.c -o a.o'],
        [200, 'building myself, but telling localhost'],
        [200, 'invoking: /usr/bin/gcc -c a.c -o a.o'],
        [201, 'invoked as: icecc gcc -c b.c -o b.o'],
        [201, 'Have to use host 10.0.0.7:10245 - Job ID: 4 - env: x86_64 - has env: true - match j: 0'],
        [201, 'got exception Error 2 - no server found at 10.0.0.7 (10.0.0.7) '],
        [201, '<building_local>'],
        [201, 'invoking: /usr/bin/gcc -c b.c -o b.o'],
        [202, 'invoked as: icecc g++ -S c.cpp'],
        [202, 'no local daemon found'],
        [202, 'invoking: /usr/bin/g++ -S c.cpp'],
      ]),
    );
    expect(counts).toEqual({ compiles: 3, remote: 0, local: 3 });
  });

  it('a local attempt retried remotely is remote; a reused pid starts a new compile; a response file is read expanded', () => {
    const counts = countIceccLog(
      log([
        [300, 'invoked as: icecc gcc -c x.c -o x.o'],
        [300, 'building myself, but telling localhost'],
        [300, 'invoking: /usr/bin/gcc -c x.c -o x.o'],
        [300, 'write of job failed'],
        [300, 'Have to use host 127.0.0.1:20246 - Job ID: 1 - env: x86_64 - has env: false - match j: 0'],
        [300, 'invoked as: icecc gcc -c y.c -o y.o'],
        [301, 'invoked as: icecc gcc @args.rsp'],
        [301, 'expanded as: icecc gcc -c z.c -o z.o'],
        [301, 'Have to use host 10.0.0.9:10245 - Job ID: 2 - env: x86_64 - has env: true - match j: 0'],
      ]),
    );
    // y.c never reached a decision (killed, say): a compile, neither remote nor local.
    expect(counts).toEqual({ compiles: 3, remote: 2, local: 0 });
  });

  it('ignores lines that are not the client log', () => {
    expect(countIceccLog(['', 'garbage', '[123] 2026-11-21 05:49:24: scheduler ready'])).toEqual({ compiles: 0, remote: 0, local: 0 });
  });
});

describe('parseScheduler', () => {
  it('reads host, host:port and [v6]:port; the port defaults to 8765', () => {
    expect(parseScheduler('arch-orchestrator')).toEqual({ host: 'arch-orchestrator', port: 8765 });
    expect(parseScheduler('10.0.0.5:18765')).toEqual({ host: '10.0.0.5', port: 18765 });
    expect(parseScheduler('[::1]:8765')).toEqual({ host: '::1', port: 8765 });
    expect(parseScheduler('host:notaport')).toBeNull();
    expect(parseScheduler('host:70000')).toBeNull();
  });
});

describe('the icecc line of a response', () => {
  it('says how many compiles were distributed, and says so plainly when none was', () => {
    expect(iceccLine({ compiles: 12, remote: 9, local: 3, scheduler: '10.0.0.5' })).toBe('icecc: 12 compiles, 9 remote, 3 local via scheduler 10.0.0.5');
    expect(iceccLine({ compiles: 2, remote: 0, local: 2, scheduler: null })).toBe('icecc: 2 compiles, 0 remote, 2 local via the scheduler iceccd found — none was distributed');
    expect(iceccLine({ compiles: 0, remote: 0, local: 0, scheduler: 'x' })).toContain('no compiles went through icecc');
  });

  it('goes into the Results section, after any results the run gave', () => {
    const icecc = { compiles: 1, remote: 1, local: 0, scheduler: 's' };
    expect(responseBody({ summary: 'ok', output: 'out', icecc })).toBe('## Summary\n\nok\n\n## Results\n\nicecc: 1 compile, 1 remote, 0 local via scheduler s\n\n## Output\n\n```\nout\n```\n');
    expect(responseBody({ results: 'built', icecc })).toBe('## Results\n\nbuilt\n\nicecc: 1 compile, 1 remote, 0 local via scheduler s\n');
    expect(responseBody({ summary: 'ok' })).toBe('## Summary\n\nok\n');
  });
});

describe('readLogLines', () => {
  it('reads the end of a regular file only, split by hand, skipping the cut first line and lines over the cap', async () => {
    const dir = await tempDir();
    try {
      const path = join(dir.path, 'c.icecc.log');
      const all = () => true;
      writeFileSync(path, `${'y'.repeat(50)}\nkept one\r\n${'z'.repeat(30)}\nkept two\n${'w'.repeat(25)}`);
      // The window starts inside the y line; the z and w lines are over 20 bytes.
      expect(await readLogLines(path, all, 100, 20)).toEqual(['kept one', 'kept two']);
      expect(await readLogLines(path, (l) => l.endsWith('two'), 1000, 20)).toEqual(['kept two']);
      expect(await readLogLines(path, all, 1000, 100)).toEqual(['y'.repeat(50), 'kept one', 'z'.repeat(30), 'kept two', 'w'.repeat(25)]);
      // A line longer than the read buffer (1 MiB), then a short one.
      writeFileSync(path, `${'x'.repeat(3 * 1024 * 1024)}\nafter\n`);
      expect(await readLogLines(path, all)).toEqual(['after']);
      // What a task may put at the path instead: neither followed nor read.
      const link = join(dir.path, 'link.log');
      symlinkSync('/dev/urandom', link);
      expect(await readLogLines(link, all)).toEqual([]);
      expect(await readLogLines(dir.path, all)).toEqual([]);
      expect(await readLogLines(join(dir.path, 'none'), all)).toEqual([]);
    } finally {
      await dir.cleanup();
    }
  });
});
