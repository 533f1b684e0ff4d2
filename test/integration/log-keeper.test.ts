import { describe, it, expect, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Handoff } from '../../schemas/handoff.js';
import { addLoss, keeperArgv, keepLog, logCapOf, pipeKeeperScript, readKept } from '../../watcher/runners/log-keeper.js';
import { runShellCommand } from '../../watcher/runners/shell.js';
import { until } from '../helpers/wait.js';

/**
 * A task log's keepers with real processes and real pipes, with the smallest cap node.yaml allows: 64KiB, of which
 * the last 16 KiB of the output are kept past it and 1 KiB is room for the notes. The watcher's own keeper
 * (log-keeper.ts keepLog) reads a process's pipe; tmux's (pipe-log-keeper.ts) is the script the build puts in
 * dist/watcher/runners/, run as pipe-pane runs it.
 */
const cap = logCapOf({ maxLogSize: '64KiB' });
const FITS = cap.bytes - 1024; // what the log takes whole: no note
const dir = mkdtempSync(join(tmpdir(), 'gitbus-log-keeper-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const newLog = () => join(dir, `t${++n}.1.log`);

/** `chunks` written through a real process's pipe (cat's), which the watcher's keeper of `log` reads: what it says it lost. */
async function keep(log: string, chunks: (string | Buffer)[]) {
  const keeper = keepLog(log, cap);
  const cat = spawn('cat', [], { stdio: ['pipe', 'pipe', 'inherit'] });
  keeper.follow(cat.stdout);
  for (const c of chunks) cat.stdin.write(c);
  cat.stdin.end();
  return keeper.finish(20_000);
}

const lines = (from: number, count: number) => Array.from({ length: count }, (_, i) => `line ${from + i}\n`).join('');
const DROPPED_RE = /\ngitbus: (\d+) bytes of output were dropped here, past the cap on this task's log \(64KiB, maxLogSize in node\.yaml\); its last (\d+) bytes follow\n/;

describe("the watcher's keeper of a task log", () => {
  it('keeps output that fits byte for byte, with no note, and says it lost nothing', async () => {
    const log = newLog();
    const out = 'x'.repeat(FITS - 6) + '\nlast\n';
    expect(out.length).toBe(FITS);
    // In pieces, as a pipe delivers them.
    expect(await keep(log, [out.slice(0, 1000), out.slice(1000, 50_000), out.slice(50_000)])).toBeNull();
    expect(readFileSync(log, 'utf8')).toBe(out);
  });

  it('one byte past what fits: the start, a note where it stopped, the count, and the end from a line start, within the cap', async () => {
    const log = newLog();
    const out = lines(1, 20_000);
    const loss = await keep(log, [out]);
    const text = readFileSync(log, 'utf8');
    expect(statSync(log).size).toBeLessThanOrEqual(cap.bytes);
    const m = DROPPED_RE.exec(text);
    expect(m).not.toBeNull();
    expect(loss).toEqual({ dropped: Number(m?.[1]), unwritten: 0 });
    const reached = text.indexOf("gitbus: the output reached the cap on this task's log (64KiB, maxLogSize in node.yaml): what follows is dropped");
    // The start is the output's, cut inside a line: the note starts a line of its own.
    const head = text.slice(0, reached - 1);
    expect(out.startsWith(head)).toBe(true);
    expect(head.endsWith('\n')).toBe(false);
    const end = text.slice((m?.index ?? 0) + (m?.[0].length ?? 0));
    expect(end.length).toBe(Number(m?.[2]));
    expect(end.length).toBeGreaterThan(cap.end - 20);
    expect(end).toMatch(/^line \d+\n/);
    expect(out.endsWith(end)).toBe(true);
    expect(head.length + Number(m?.[1]) + end.length).toBe(out.length);
  });

  it('the start and the end of output that is one endless line are whole characters', async () => {
    const log = newLog();
    // 3-byte characters, so that the cut falls inside one.
    const out = Buffer.from('€'.repeat(100_000));
    const loss = await keep(log, [out]);
    const bytes = readFileSync(log);
    expect(bytes.length).toBeLessThanOrEqual(cap.bytes);
    const text = bytes.toString('utf8');
    expect(text).not.toContain('\ufffd');
    const m = DROPPED_RE.exec(text);
    const end = text.slice((m?.index ?? 0) + (m?.[0].length ?? 0));
    expect(end).toMatch(/^€+$/);
    expect(Buffer.byteLength(end)).toBe(Number(m?.[2]));
    expect(Buffer.byteLength(text.slice(0, text.indexOf('\ngitbus: ')))).toBe(out.length - (loss?.dropped ?? 0) - Buffer.byteLength(end));
  });

  it('two keepers of one log (a project setup, then the task) share its cap', async () => {
    const log = newLog();
    expect(await keep(log, [lines(1, 6_000)])).toBeNull();
    const first = statSync(log).size;
    const loss = await keep(log, [lines(100_000, 5_000)]);
    expect(loss?.dropped).toBeGreaterThan(0);
    expect(statSync(log).size).toBeLessThanOrEqual(cap.bytes);
    const text = readFileSync(log, 'utf8');
    expect(text.slice(0, first)).toBe(lines(1, 6_000));
    expect(text.endsWith(lines(104_999, 1))).toBe(true);
    expect(addLoss(null, loss)).toEqual(loss);
    expect(addLoss({ dropped: 1, unwritten: 2, error: 'ENOSPC' }, { dropped: 3, unwritten: 0 })).toEqual({ dropped: 4, unwritten: 2, error: 'ENOSPC' });
  });

  it('a log it cannot open: it reads the output all the same (the task never meets a broken pipe) and counts it as unwritten, with the error', async () => {
    const out = lines(1, 30_000);
    const loss = await keep(join(dir, 'no-such-folder', 't.1.log'), [out]);
    expect(loss).toEqual({ dropped: expect.any(Number), unwritten: expect.any(Number), error: 'ENOENT' });
    // What the cap would have kept could not be written; the rest went past the cap.
    expect(loss?.unwritten).toBeGreaterThan(cap.end);
    expect((loss?.dropped ?? 0) + (loss?.unwritten ?? 0)).toBe(out.length);
  });

  it('a pipe still held open past its deadline (a process that left the task) is dropped, and the log still gets what came and its end', async () => {
    const log = newLog();
    const keeper = keepLog(log, cap);
    const child = spawn('sh', ['-c', `${JSON.stringify(process.execPath)} -e "process.stdout.write('x'.repeat(70000))"; echo; echo the-last-line; exec sleep 60`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let seen = '';
      keeper.follow(child.stdout, (chunk) => (seen += chunk.toString('latin1')));
      await until('the last line to be read', () => seen.endsWith('\nthe-last-line\n'), 20_000);
      const asked = Date.now();
      const loss = await keeper.finish(300);
      expect(Date.now() - asked).toBeLessThan(5_000);
      expect(loss?.dropped).toBeGreaterThan(0);
      expect(readFileSync(log, 'utf8').endsWith('\nthe-last-line\n')).toBe(true);
      // The process goes on: only its output is no longer read.
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it("the shell runner's stdout and stderr reach the log as one pipe, in the order the command wrote them, and `sh -c` runs the command as given alone", async () => {
    const log = newLog();
    const command = 'echo out-1; echo err-1 >&2; echo out-2; echo err-2 >&2; echo "$0 $#"; exit 3';
    const req = { id: 't', attempt: 1, handoff: { command } as unknown as Handoff, body: '', cwd: dir, logPath: log };
    const outcome = await runShellCommand(req, command, process.env, new AbortController().signal);
    expect(outcome).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(outcome.logLoss).toBeUndefined();
    expect(readFileSync(log, 'utf8')).toBe('out-1\nerr-1\nout-2\nerr-2\nsh 0\n');
  });
});

describe("tmux's keeper of a task log (dist/watcher/runners/pipe-log-keeper.js)", () => {
  const script = pipeKeeperScript();

  it('is where the tmux runner finds it, as the build made it, and loads only the cap and the log file, not the CLI', () => {
    const runners = join(import.meta.dirname, '../../dist/watcher/runners');
    expect(script).toBe(join(runners, 'pipe-log-keeper.js'));
    // Its start is every tmux run's: what it imports, and what they import, is Node's own or these files.
    const importsOf = (file: string) => [...readFileSync(join(runners, file), 'utf8').matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    expect(importsOf('pipe-log-keeper.js')).toEqual(['node:fs', './log-cap.js', './log-file.js']);
    expect(importsOf('log-file.js')).toEqual(['node:fs', './log-cap.js']);
    expect(importsOf('log-cap.js')).toEqual([]);
  });

  it('at the end of its pipe writes the count and the end to the log, and the same counts to its status file', async () => {
    const log = newLog();
    const status = `${log}.piped`;
    const [bin, ...args] = keeperArgv(script as string, log, cap, status);
    const child = spawn(bin as string, args, { stdio: ['pipe', 'ignore', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.stdin.end(lines(1, 20_000));
    expect(await exited).toBe(0);
    const loss = readKept(status);
    const m = DROPPED_RE.exec(readFileSync(log, 'utf8'));
    expect(loss).toEqual({ dropped: Number(m?.[1]), unwritten: 0 });
    expect(statSync(log).size).toBeLessThanOrEqual(cap.bytes);
    expect(readFileSync(log, 'utf8').endsWith(lines(20_000, 1))).toBe(true);
  });

  it('told to stop (SIGTERM) before its pipe ends, it writes the count, what it holds of the end, and its status file', async () => {
    const log = newLog();
    const status = `${log}.piped`;
    const [bin, ...args] = keeperArgv(script as string, log, cap, status);
    const child = spawn(bin as string, args, { stdio: ['pipe', 'ignore', 'inherit'] });
    child.stdin.write(lines(1, 20_000));
    await until('the keeper to note the cap', () => existsSync(log) && readFileSync(log, 'utf8').includes('gitbus: the output reached the cap'), 20_000);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const loss = readKept(status);
    expect(loss?.dropped).toBeGreaterThan(0);
    expect(statSync(log).size).toBeLessThanOrEqual(cap.bytes);
    const m = DROPPED_RE.exec(readFileSync(log, 'utf8'));
    expect(Number(m?.[1])).toBe(loss?.dropped);
    expect(readFileSync(log, 'utf8').endsWith('\n')).toBe(true);
    child.stdin.destroy();
  });

  it('a status file a task replaced with something else is no status', () => {
    const path = join(dir, 'odd.piped');
    writeFileSync(path, 'x'.repeat(1_000_000));
    expect(readKept(path)).toBeUndefined();
    expect(readKept(join(dir, 'none.piped'))).toBeUndefined();
  });
});
