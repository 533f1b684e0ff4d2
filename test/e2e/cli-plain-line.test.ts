import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { tempDir, commandsAsProcesses, type RunResult } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { codeCacheRuns } from '../helpers/code-cache-runs.js';

// As processes: who read the command line is in the loader's report, which only a process of its own writes.
commandsAsProcesses();

/**
 * A plain command line is read without commander (cli/plain-line.ts), and the same line with a `--` at its end, which
 * commander reads, does the same: the same output, errors and exit codes, from the same bundle.
 */
describe('a command line read without commander (cli/plain-line.ts)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bus: Awaited<ReturnType<typeof makeBus>>;
  beforeAll(async () => {
    dir = await tempDir('gitbus-plain-line-');
    bus = await makeBus({ node: 'solo' });
    await bus.dispatch('solo', ['first task']);
  });
  afterAll(async () => {
    await bus?.cleanup();
    await dir?.cleanup();
  });

  const { run } = codeCacheRuns(() => dir.path, () => bus.home('solo'));
  const cache = () => `${dir.path}/cache`;
  /** What a person sees of a run: its exit code, its output, its errors (a new task's id and commit aside). */
  const seen = (r: RunResult, ...moving: string[]) => {
    const out = (s: string) => moving.reduce((t, m) => t.split(m).join('<id>'), s).replace(/"windowMs": \d+/, '').replace(/\d{8}-\d{6}-[0-9a-z]{6}/g, '<id>').replace(/\b[0-9a-f]{40}\b/g, '<commit>');
    return { code: r.code, stdout: out(r.stdout), stderr: out(r.stderr) };
  };

  it('status, show and a refused dispatch: the same read by either, commander not run for the plain line', async () => {
    const lines = [['status', '--json'], ['status'], ['show', 'first', '--json'], ['dispatch', 'too urgent', '--priority', '5000'], ['dispatch', 'too urgent', '--priority', '5000', '--json'], ['dispatch', 'bad', '--to', 'No Such Node']];
    for (const line of lines) {
      const plain = await run(line, cache());
      const commander = await run([...line, '--'], cache());
      expect(plain.report.line, line.join(' ')).toBe('plain');
      expect(commander.report.line, line.join(' ')).toBe('commander');
      expect(seen(plain.r), line.join(' ')).toEqual(seen(commander.r));
    }
  });

  it('a dispatch read without commander puts the same handoff on the bus as one commander read', async () => {
    const base = ['dispatch', 'Build it', '--command', 'make', '--label', 'ci', '--label', 'gpu', '--priority', '7', '--timeout', '5m', '--no-git', '--json'];
    const plain = await run(base, cache());
    const commander = await run([...base, '--'], cache());
    expect(plain.report.line).toBe('plain');
    expect(commander.report.line).toBe('commander');
    expect(plain.r.code, plain.r.stderr).toBe(0);
    const idOf = (r: RunResult) => (JSON.parse(r.stdout) as { id: string }).id;
    const shown = async (id: string) => {
      const s = await run(['show', id, '--json'], cache());
      const doc = JSON.parse(s.r.stdout) as { files: { path: string; text: string }[] };
      // The handoff as written, but for its id and creation time.
      return doc.files.map((f) => ({ path: f.path.split(id).join('<id>'), text: f.text.split(id).join('<id>').replace(/created: .*/, '') }));
    };
    expect(await shown(idOf(plain.r))).toEqual(await shown(idOf(commander.r)));
    expect(seen(plain.r, idOf(plain.r))).toEqual(seen(commander.r, idOf(commander.r)));
  });

  it('help, the version, an unknown option and a missing argument are commander\'s, as before', async () => {
    for (const line of [['dispatch', '--help'], ['status', '--bogus'], ['show'], ['dispatch', 'x', '--to']]) {
      const r = await run(line, cache());
      expect(r.report.line, line.join(' ')).toBe('commander');
    }
    const unknown = await run(['status', '--bogus'], cache());
    expect(unknown.r.code).toBe(2);
    expect(unknown.r.stderr).toContain("unknown option '--bogus'");
  });
});
