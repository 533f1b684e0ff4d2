import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import type { ServeReport } from '../../cli/code-cache.js';
import { BIN, gitbus, json, spawnBounded, tempDir, type RunResult, commandsAsProcesses } from '../helpers/cli.js';
import { bounded, until } from '../helpers/wait.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';

// Every command here runs as a process: the commands are served by a watcher, or run as processes: what a process does
// is the subject.
commandsAsProcesses();

/**
 * Commands served by the watcher (cli/serve/, docs/ARCHITECTURE.md "Commands served by the watcher"): a short
 * command whose home has a running watcher runs in a standby process the watcher started ahead, and must behave
 * exactly as in its own process: output, exit code, working folder, environment, standard input, signals.
 */


let bus: Awaited<ReturnType<typeof makeBus>>;
let alpha: string;
let watcher: WatcherProcess;
let scratch: { path: string; cleanup: () => Promise<void> };
const children: ChildProcess[] = [];
let reports = 0;

/** A new GITBUS_SERVE_REPORT file, and a reader of the last command's report in it. */
function reportFile(): { file: string; report: () => ServeReport } {
  const file = join(scratch.path, `report-${++reports}.jsonl`);
  const report = () => {
    const lines = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
    return JSON.parse(lines.at(-1) ?? '{"command":"?","served":false,"reason":"no report"}') as ServeReport;
  };
  return { file, report };
}

/** Runs gitbus in alpha's home and says whether the watcher served it (GITBUS_SERVE_REPORT). */
async function run(args: string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ r: RunResult; report: ServeReport }> {
  const { file, report } = reportFile();
  const r = await gitbus(args, { home: alpha, ...opts, env: { GITBUS_SERVE_REPORT: file, ...opts.env } });
  return { r, report: report() };
}

/** Runs the command until the watcher serves it (the first client of a watcher starts its standby); bounded. */
async function served(args: string[], opts: Parameters<typeof run>[1] = {}): Promise<{ r: RunResult; report: ServeReport }> {
  let last: { r: RunResult; report: ServeReport } | undefined;
  await until(
    `gitbus ${args.join(' ')} served by the watcher`,
    async () => {
      last = await run(args, opts);
      return last.report.served;
    },
    60_000,
    () => `last report: ${JSON.stringify(last?.report)}\nwatcher stderr: ${watcher.stderr()}`,
  );
  return last as { r: RunResult; report: ServeReport };
}

/**
 * Runs gitbus in alpha's home on a terminal (`script` gives it a pseudo-terminal as standard input, output and
 * error; `input` is typed there), until the watcher serves it; bounded.
 */
async function servedInTerminal(args: string[], input = ''): Promise<{ code: number | null; out: string; report: ServeReport }> {
  let last: { code: number | null; out: string; report: ServeReport } | undefined;
  await until(
    `gitbus ${args.join(' ')} on a terminal served by the watcher`,
    async () => {
      const { file, report: reported } = reportFile();
      const child = spawn('script', ['-qec', [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' '), '/dev/null'], { env: { ...process.env, GITBUS_HOME: alpha, GITBUS_SERVE_REPORT: file }, stdio: ['pipe', 'pipe', 'pipe'] });
      children.push(child);
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
    () => `last: ${JSON.stringify(last)}\nwatcher stderr: ${watcher.stderr()}`,
  );
  return last as { code: number | null; out: string; report: ServeReport };
}

beforeAll(async () => {
  scratch = await tempDir('gitbus-served-');
  bus = await makeBus({ node: 'alpha', initArgs: ['--runner', 'shell'] });
  alpha = bus.home('alpha');
  // Tasks go to beta, which has no watcher: alpha's watcher serves commands and runs nothing.
  await bus.addNode('beta', [], ['--runner', 'shell']);
  watcher = startWatcher(alpha, ['--poll', '30s'], children, { GITBUS_ACTOR: 'the-watcher' });
  await until('the watcher serving', () => watcher.events().some((e) => e.type === 'serving'), 60_000, () => watcher.stderr());
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
  await scratch?.cleanup();
});

describe('commands served by the watcher', () => {
  it('listens on a socket in the home that only this user may use', () => {
    const st = lstatSync(join(alpha, 'cli.sock'));
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('doctor says whether the watcher serves this home', async () => {
    const d = await run(['doctor', '--json']);
    const check = json<{ checks: { name: string; status: string; detail: string }[] }>(d.r).checks.find((c) => c.name === 'cli.serve');
    expect(check).toMatchObject({ status: 'ok' });
    expect(check?.detail).toContain(join(alpha, 'cli.sock'));
  }, 60_000);

  it('runs a short command in the standby, with the same output and exit code as in its own process', async () => {
    const id = await bus.dispatch('alpha', ['served show', '--to', 'beta']);
    const a = await served(['show', id, '--json']);
    expect(a.report.pid).toBeGreaterThan(0);
    const b = await run(['show', id, '--json'], { env: { GITBUS_SERVE: '0' } });
    expect(b.report).toMatchObject({ served: false, reason: 'GITBUS_SERVE=0' });
    expect(a.r.code).toBe(0);
    expect(a.r.stdout).toBe(b.r.stdout);
    // An error: the same message on stderr and the same exit code (4, UNKNOWN_TASK).
    const c = await served(['show', 'no-such-task']);
    const d = await run(['show', 'no-such-task'], { env: { GITBUS_SERVE: '0' } });
    expect(c.r.code).toBe(4);
    expect(d.r.code).toBe(4);
    expect(c.r.stderr).toBe(d.r.stderr);
    // A usage error, found by commander in the standby: exit 2 and its message.
    const e = await served(['show']);
    expect(e.r.code).toBe(2);
    expect(e.r.stderr).toContain("missing required argument 'id'");
    // Help, which agents ask for while they learn the commands: the same text, exit 0.
    const h = await served(['dispatch', '--help']);
    const g = await run(['dispatch', '--help'], { env: { GITBUS_SERVE: '0' } });
    expect([h.r.code, g.r.code]).toEqual([0, 0]);
    expect(h.r.stdout).toContain('--body-file');
    expect(h.r.stdout).toBe(g.r.stdout);
  }, 120_000);

  it('keeps a second standby ready once commands come back to back, so that a burst is not served every other time', async () => {
    const standbys = () => watcher.events().filter((e) => e.type === 'standbys') as unknown as { ready: number; keep: number }[];
    // Back to back: the second finds the first's standby taken and the next one still loading. That miss makes it a
    // burst (a machine fast enough to have the next ready that soon serves both, and the loop goes on).
    let missed: ServeReport | undefined;
    await until('a back-to-back command to find no standby ready', async () => {
      await served(['status', '--json']);
      const next = await run(['status', '--json']);
      if (!next.report.served) missed = next.report;
      // An earlier test's commands may have made it a burst already: then none misses, and two are kept.
      return missed !== undefined || standbys().at(-1)?.keep === 2;
    }, 120_000, () => `watcher stderr: ${watcher.stderr()}`);
    if (missed) expect(missed).toMatchObject({ served: false, reason: 'no standby process was ready' });
    await until('two standbys ready', () => standbys().at(-1)?.ready === 2, 60_000, () => JSON.stringify(standbys().slice(-5)));
    expect(standbys().at(-1)).toMatchObject({ ready: 2, keep: 2 });
    // Now two in a row are served, by two processes, each the same as its own process's output.
    const a = await run(['status', '--json']);
    const b = await run(['status', '--json']);
    expect([a.report.served, b.report.served], JSON.stringify([a.report, b.report])).toEqual([true, true]);
    expect(a.report.pid).not.toBe(b.report.pid);
    expect([a.r.code, b.r.code]).toEqual([0, 0]);
    const view = (r: RunResult) => {
      const s = json<{ node: string; head: string; tasks: { id: string; state: string }[] }>(r);
      return { node: s.node, head: s.head, tasks: s.tasks.map((t) => [t.id, t.state]) };
    };
    expect(view(b.r)).toEqual(view(a.r));
  }, 240_000);

  it('gives the command the client\'s working folder, environment and standard input', async () => {
    const cwd = join(scratch.path, 'project');
    await import('node:fs/promises').then((fs) => fs.mkdir(cwd, { recursive: true }));
    writeFileSync(join(cwd, 'body.md'), 'the body from a relative path\n');
    const d = await served(['dispatch', 'from a folder', '--to', 'beta', '--body-file', 'body.md', '--no-git', '--json'], { cwd });
    expect(d.r.code).toBe(0);
    const id = json<{ id: string }>(d.r).id;
    const shown = await run(['show', id, '--json'], { env: { GITBUS_SERVE: '0' } });
    expect(shown.r.stdout).toContain('the body from a relative path');

    // The environment is the client's: a dispatch run by Claude Code's Bash tool is recorded under its session
    // (CLAUDE_CODE_SESSION_ID, which the watcher does not have), with the folder it ran in.
    const session = '0d5c9f2e-1111-4a4a-9b9b-2c2c2c2c2c2c';
    const c = await served(['dispatch', 'for a session', '--to', 'beta', '--no-git', '--json'], { cwd, env: { CLAUDE_CODE_SESSION_ID: session } });
    expect(c.r.code, c.r.stderr).toBe(0);
    const ledger = readFileSync(join(alpha, 'claude', 'sessions', `${session}.json`), 'utf8');
    expect(ledger).toContain(json<{ id: string }>(c.r).id);
    expect(ledger).toContain(JSON.stringify(cwd));

    // Standard input, read only when the command asks for it.
    const lines = `${JSON.stringify({ title: 'batch one' })}\n${JSON.stringify({ title: 'batch two' })}\n`;
    const b = await served(['dispatch', '--from', '-', '--to', 'beta', '--no-git', '--json'], { input: lines });
    expect(b.r.code, b.r.stderr).toBe(0);
    expect(b.r.stdout).toContain('batch one');
    expect(b.r.stdout).toContain('batch two');
  }, 120_000);

  it('a served command\'s output to a pipe left non-blocking arrives whole, though the client could not write it at once', async () => {
    // test/fixtures/nonblocking-stdout.py: nobody reads the pipe until it is full, so the client's writes meet EAGAIN
    // and go through process.stdout's stream (cli/std-write.ts); the client then ends when the stream has written all,
    // not at once as it does otherwise (cli/serve/client.ts).
    const fixture = fileURLToPath(new URL('../fixtures/nonblocking-stdout.py', import.meta.url));
    const lines = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ title: `a long output ${i} ${'x'.repeat(150)}` })).join('\n');
    const attempt = async () => {
      const { file, report } = reportFile();
      const r = await spawnBounded('python3', [fixture, '30', process.execPath, BIN, 'dispatch', '--from', '-', '--to', 'beta', '--dry-run', '--json', '--no-git'], { env: { ...process.env, GITBUS_HOME: alpha, GITBUS_SERVE_REPORT: file }, input: `${lines}\n`, timeoutMs: 60_000 });
      return { r, report: report() };
    };
    let last: Awaited<ReturnType<typeof attempt>> | undefined;
    await until(
      'dispatch --from - --dry-run to a non-blocking pipe, served',
      async () => {
        last = await attempt();
        return last.report.served;
      },
      60_000,
      () => `last: ${JSON.stringify(last?.report)}\nwatcher stderr: ${watcher.stderr()}`,
    );
    const { r } = last as NonNullable<typeof last>;
    expect(r.code, r.stderr).toBe(0);
    // The pipe was full before anything was read: the client did meet EAGAIN.
    expect(r.stderr).toContain('pipe full\n');
    // More than the pipe holds (64 KiB), all of it, as one JSON document.
    expect(r.stdout.length).toBeGreaterThan(128 * 1024);
    const doc = JSON.parse(r.stdout) as { tasks?: unknown[] };
    expect(JSON.stringify(doc)).toContain('a long output 999');
  }, 120_000);

  it('serves a command typed in a terminal: output as the terminal shows it, input typed there, a hook that reads none', async () => {
    const s = await servedInTerminal(['status']);
    expect(s.code, s.out).toBe(0);
    // Human output (a terminal's), not JSON: stdout was a terminal for the command too.
    expect(s.out).toMatch(/alpha/);
    expect(s.out.trimStart().startsWith('{')).toBe(false);

    // Input typed on the terminal, ended with Ctrl-D, read by the served command (dispatch --from -).
    const d = await servedInTerminal(['dispatch', '--from', '-', '--to', 'beta', '--no-git', '--json'], `${JSON.stringify({ title: 'typed in a terminal' })}\n\u0004`);
    expect(d.code, d.out).toBe(0);
    const id = /"ids": \[\s*"([^"]+)"/.exec(d.out)?.[1];
    expect(id, d.out).toBeDefined();
    const shown = await run(['show', id ?? '', '--json'], { env: { GITBUS_SERVE: '0' } });
    expect(shown.r.stdout).toContain('typed in a terminal');

    // A hook run by hand in a terminal reads no input (as in its own process), rather than wait for the person.
    const h = await servedInTerminal(['hook', 'claude', 'user-prompt-submit']);
    expect(h.code, h.out).toBe(0);
  }, 120_000);

  it('a served command whose terminal hangs up ends as in its own process: by SIGHUP, using nothing typed so far', async () => {
    // test/fixtures/hangup.py: a pseudo-terminal, a line typed there, then the hangup of a closed terminal window
    // (its end of input, the kernel's SIGHUP and the shell's).
    const typed = join(scratch.path, 'typed.jsonl');
    writeFileSync(typed, `${JSON.stringify({ title: 'typed before a hangup' })}\n`);
    const hangup = fileURLToPath(new URL('../fixtures/hangup.py', import.meta.url));
    let last: { ended: string; report: ServeReport } | undefined;
    await until(
      'dispatch --from - on a terminal that hangs up, served',
      async () => {
        const { file, report: reported } = reportFile();
        const r = await spawnBounded('python3', [hangup, typed, process.execPath, BIN, 'dispatch', '--from', '-', '--to', 'beta', '--no-git'], { env: { ...process.env, GITBUS_HOME: alpha, GITBUS_SERVE_REPORT: file }, timeoutMs: 30_000 });
        const report = reported();
        last = { ended: `${r.stdout.trim()}${r.stderr}`, report };
        return report.served;
      },
      60_000,
      () => `last: ${JSON.stringify(last)}\nwatcher stderr: ${watcher.stderr()}`,
    );
    // Killed by SIGHUP (1), as its own process is: not an abort of Node's (6, 11) setting back a terminal that is gone.
    expect(last?.ended).toBe('signal 1');
    const st = await run(['status', '--json'], { env: { GITBUS_SERVE: '0' } });
    expect(st.r.stdout).not.toContain('typed before a hangup');
  }, 120_000);

  it('a read of standard input that fails (a reset connection) fails the served command as its own: nothing is dispatched', async () => {
    // test/fixtures/reset-stdin.py: standard input is a TCP connection that sends a task's line, then resets.
    const sent = join(scratch.path, 'sent.jsonl');
    writeFileSync(sent, `${JSON.stringify({ title: 'sent before a reset' })}\n`);
    const reset = fileURLToPath(new URL('../fixtures/reset-stdin.py', import.meta.url));
    const attempt = async (env: NodeJS.ProcessEnv) => {
      const { file, report } = reportFile();
      const r = await spawnBounded('python3', [reset, sent, process.execPath, BIN, 'dispatch', '--from', '-', '--to', 'beta', '--no-git'], { env: { ...process.env, GITBUS_HOME: alpha, GITBUS_SERVE_REPORT: file, ...env }, timeoutMs: 30_000 });
      return { r, report: report() };
    };
    let last: Awaited<ReturnType<typeof attempt>> | undefined;
    await until(
      'dispatch --from - on a connection that resets, served',
      async () => {
        last = await attempt({});
        return last.report.served;
      },
      60_000,
      () => `last: ${JSON.stringify(last)}\nwatcher stderr: ${watcher.stderr()}`,
    );
    const own = await attempt({ GITBUS_SERVE: '0' });
    expect(own.report.served).toBe(false);
    for (const { r } of [last as NonNullable<typeof last>, own]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('cannot read the batch from standard input: read ECONNRESET');
    }
    const st = await run(['status', '--json'], { env: { GITBUS_SERVE: '0' } });
    expect(st.r.stdout).not.toContain('sent before a reset');
  }, 120_000);

  it('serves the Claude Code hooks with their input from the client\'s standard input, but not the hour-long wait', async () => {
    const input = readFileSync(new URL('../fixtures/claude-hooks/SessionStart.json', import.meta.url), 'utf8');
    const a = await served(['hook', 'claude', 'session-start'], { input });
    const b = await run(['hook', 'claude', 'session-start'], { input, env: { GITBUS_SERVE: '0' } });
    expect(b.report).toMatchObject({ served: false });
    expect([a.r.code, a.r.stderr]).toEqual([0, '']);
    // Without its input the hook prints nothing: this output says the input reached the standby.
    expect(json<{ hookSpecificOutput: { additionalContext: string } }>(a.r).hookSpecificOutput.additionalContext).toContain('node "alpha"');
    expect(a.r.stdout).toBe(b.r.stdout);
    // The background Stop hook waits up to an hour: it would hold a standby that long.
    const w = await run(['hook', 'claude', 'wait'], { input: '{}', env: { GITBUS_CLAUDE_WAIT: '1s' } });
    expect(w.report).toMatchObject({ served: false, reason: 'not a served command' });
    expect(w.r.code).toBe(0);
  }, 120_000);

  it('is not used for a command that is not served, with Node options, or when GITBUS_SERVE=0', async () => {
    expect((await run(['lint', '--json'])).report).toMatchObject({ served: false, reason: 'not a served command' });
    expect((await run(['status', '--json'], { env: { NODE_OPTIONS: '--no-warnings' } })).report).toMatchObject({ served: false, reason: 'Node options are set' });
    expect((await run(['status', '--json'], { env: { GITBUS_SERVE: '0' } })).report).toMatchObject({ served: false });
    // Standard input named as a file is read from the process's own descriptor 0, which the standby's is not.
    expect((await run(['respond', 'x', '--status', 'succeeded', '--body-file', '-'])).report).toMatchObject({ served: false, reason: 'standard input named as a file' });
    // What Node reads at start (its locale, its CA bundle): a standby started with other values declines.
    await served(['status', '--json']);
    let declined: ServeReport | undefined;
    await until('a standby to decline another locale', async () => {
      declined = (await run(['status', '--json'], { env: { LANG: 'xx_XX.UTF-8' } })).report;
      return declined.reason !== 'no standby process was ready';
    }, 60_000);
    expect(declined?.served).toBe(false);
    expect(declined?.reason).toContain('the environment differs in what Node reads at start');
  }, 60_000);

  it('is not trusted in a home others may write to', async () => {
    chmodSync(alpha, 0o777);
    try {
      const r = await run(['status', '--json']);
      expect(r.report.served).toBe(false);
      expect(r.report.reason).toContain('may be written by others');
      expect(r.r.code).toBe(0);
    } finally {
      chmodSync(alpha, 0o755);
    }
    // A folder above it that others may write to (they could put another home in its place); a sticky one, as /tmp,
    // they may not rename in.
    const parent = dirname(alpha);
    const mode = statSync(parent).mode & 0o7777;
    try {
      chmodSync(parent, 0o777);
      const open = await run(['status', '--json']);
      expect([open.report.served, open.report.reason]).toEqual([false, `${parent} may be written by others`]);
      chmodSync(parent, 0o1777);
      const sticky = await served(['status', '--json']);
      expect(sticky.r.code).toBe(0);
    } finally {
      chmodSync(parent, mode);
    }
    // The same home reached through a link in a folder others may write to: they could point the link elsewhere.
    const open = join(scratch.path, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    symlinkSync(parent, join(open, 'link'));
    const file = join(scratch.path, 'linked-report.jsonl');
    const linked = await gitbus(['status', '--json'], { home: join(open, 'link', basename(alpha)), env: { GITBUS_SERVE_REPORT: file } });
    expect(linked.code, linked.stderr).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1) ?? '{}')).toMatchObject({ served: false, reason: `${open} may be written by others` });
    // And through a second link, from a folder of this user's: the folder that holds the link in between counts too.
    const safe = join(scratch.path, 'safe');
    mkdirSync(safe, { mode: 0o755 });
    symlinkSync(join(open, 'link'), join(safe, 'hop'));
    const chained = await gitbus(['status', '--json'], { home: join(safe, 'hop', basename(alpha)), env: { GITBUS_SERVE_REPORT: file } });
    expect(chained.code, chained.stderr).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1) ?? '{}')).toMatchObject({ served: false, reason: `${open} may be written by others` });
  }, 60_000);

  it('stops serving when the watcher stops: the socket is removed and commands run in their own process', async () => {
    // Its socket goes with it.
    watcher.child.kill('SIGTERM');
    await watcher.exited;
    expect(existsSync(join(alpha, 'cli.sock'))).toBe(false);
    const r = await run(['status', '--json']);
    expect(r.report).toMatchObject({ served: false, reason: 'nothing serves this home (no watcher or gitbus serve runs)' });
    expect(r.r.code).toBe(0);
    const d = await run(['doctor', '--json']);
    expect(json<{ checks: { name: string; status: string }[] }>(d.r).checks.find((c) => c.name === 'cli.serve')).toMatchObject({ status: 'skip' });
  }, 60_000);

  it('a socket left by a killed watcher costs a command nothing: it runs in its own process', async () => {
    const w = startWatcher(alpha, ['--poll', '30s'], children);
    await until('the watcher serving', () => w.events().some((e) => e.type === 'serving'), 60_000, () => w.stderr());
    w.child.kill('SIGKILL');
    await w.exited;
    expect(lstatSync(join(alpha, 'cli.sock')).isSocket()).toBe(true);
    const r = await run(['status', '--json']);
    expect(r.report.served).toBe(false);
    expect(r.report.reason).toContain('ECONNREFUSED');
    expect(r.r.code).toBe(0);
    const d = await run(['doctor', '--json']);
    const check = json<{ checks: { name: string; status: string; detail: string; fix?: string }[] }>(d.r).checks.find((c) => c.name === 'cli.serve');
    expect(check).toMatchObject({ status: 'warn' });
    expect(check?.detail).toContain('does not answer (ECONNREFUSED)');
    expect(check?.fix).toContain('run gitbus serve, or start the watcher');
    // The next watcher replaces it; one that runs the ES module build (GITBUS_CODE_CACHE=0) serves as well.
    const again = startWatcher(alpha, ['--poll', '30s'], children, { GITBUS_CODE_CACHE: '0' });
    await until('the next watcher serving', () => again.events().some((e) => e.type === 'serving'), 60_000, () => again.stderr());
    watcher = again;
    const s = await served(['status', '--json']);
    expect(s.r.code, s.r.stderr).toBe(0);
    again.child.kill('SIGTERM');
    await again.exited;
  }, 120_000);
});
