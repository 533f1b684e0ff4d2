import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { makeBus } from './bus.js';
import type { ServeReport } from '../../cli/code-cache.js';
import { BIN, gitbus, tempDir, type RunResult } from './cli.js';
import { bounded, until } from './wait.js';
import { startWatcher, type WatcherProcess } from './watcher-process.js';

/** A served command's run: its result and what GITBUS_SERVE_REPORT said. */
export interface ServedRun {
  r: RunResult;
  report: ServeReport;
}

/**
 * A bus whose node alpha runs a watcher that serves its home's commands (test/e2e/cli-served*.test.ts), and beta, which
 * has no watcher and where the tests' tasks go. Each calling file gets its own (the integration tests share module
 * instances), set up by the hooks this registers; its fields are set once `beforeAll` has run.
 */
export interface ServedWatcher {
  bus: Awaited<ReturnType<typeof makeBus>>;
  alpha: string;
  watcher: WatcherProcess;
  scratch: { path: string; cleanup: () => Promise<void> };
  /** Processes the test started (watchers, terminals): killed at the end. */
  children: ChildProcess[];
  /** A new GITBUS_SERVE_REPORT file, and a reader of the last command's report in it. */
  reportFile(): { file: string; report: () => ServeReport };
  /** Runs gitbus in alpha's home and says whether the watcher served it (GITBUS_SERVE_REPORT). */
  run(args: string[], opts?: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv }): Promise<ServedRun>;
  /** Runs the command until the watcher serves it (the first client of a watcher starts its standby); bounded. */
  served(args: string[], opts?: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv }): Promise<ServedRun>;
  /**
   * Runs gitbus in alpha's home on a terminal (`script` gives it a pseudo-terminal as standard input, output and
   * error; `input` is typed there), until the watcher serves it; bounded.
   */
  servedInTerminal(args: string[], input?: string): Promise<{ code: number | null; out: string; report: ServeReport }>;
}

export function servedWatcher(): ServedWatcher {
  let reports = 0;
  const sw = { children: [] as ChildProcess[] } as ServedWatcher;
  sw.reportFile = () => {
    const file = join(sw.scratch.path, `report-${++reports}.jsonl`);
    const report = () => {
      const lines = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
      return JSON.parse(lines.at(-1) ?? '{"command":"?","served":false,"reason":"no report"}') as ServeReport;
    };
    return { file, report };
  };
  sw.run = async (args, opts = {}) => {
    const { file, report } = sw.reportFile();
    // Served whenever a standby is ready: with its code cache a command would run in its own process (OWN_PROCESS_SOONER).
    const r = await gitbus(args, { home: sw.alpha, ...opts, env: { GITBUS_SERVE_REPORT: file, GITBUS_SERVE: '1', ...opts.env } });
    return { r, report: report() };
  };
  sw.served = async (args, opts = {}) => {
    let last: ServedRun | undefined;
    await until(
      `gitbus ${args.join(' ')} served by the watcher`,
      async () => {
        last = await sw.run(args, opts);
        return last.report.served;
      },
      60_000,
      () => `last report: ${JSON.stringify(last?.report)}\nwatcher stderr: ${sw.watcher.stderr()}`,
    );
    return last as ServedRun;
  };
  sw.servedInTerminal = async (args, input = '') => {
    let last: { code: number | null; out: string; report: ServeReport } | undefined;
    await until(
      `gitbus ${args.join(' ')} on a terminal served by the watcher`,
      async () => {
        const { file, report: reported } = sw.reportFile();
        const child = spawn('script', ['-qec', [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' '), '/dev/null'], { env: { ...process.env, GITBUS_HOME: sw.alpha, GITBUS_SERVE_REPORT: file, GITBUS_SERVE: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
        sw.children.push(child);
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        // Typed on the terminal at once: the terminal keeps it until the command reads it. Standard input stays open
        // until the end, as a person's terminal does.
        child.stdin.write(input);
        const code = await bounded(new Promise<number | null>((resolve) => child.once('exit', resolve)), 30_000, `gitbus ${args.join(' ')} on a terminal to end\n${out}`);
        child.stdin.end();
        const report = reported();
        last = { code, out, report };
        return report.served;
      },
      60_000,
      () => `last: ${JSON.stringify(last)}\nwatcher stderr: ${sw.watcher.stderr()}`,
    );
    return last as { code: number | null; out: string; report: ServeReport };
  };

  beforeAll(async () => {
    sw.scratch = await tempDir('gitbus-served-');
    sw.bus = await makeBus({ node: 'alpha', initArgs: ['--runner', 'shell'] });
    sw.alpha = sw.bus.home('alpha');
    // Tasks go to beta, which has no watcher: alpha's watcher serves commands and runs nothing.
    await sw.bus.addNode('beta', [], ['--runner', 'shell']);
    sw.watcher = startWatcher(sw.alpha, ['--poll', '30s'], sw.children, { GITBUS_ACTOR: 'the-watcher' });
    await until('the watcher serving', () => sw.watcher.events().some((e) => e.type === 'serving'), 60_000, () => sw.watcher.stderr());
  }, 120_000);

  afterAll(async () => {
    for (const c of sw.children) c.kill('SIGKILL');
    await sw.bus?.cleanup();
    await sw.scratch?.cleanup();
  });
  return sw;
}
