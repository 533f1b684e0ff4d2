import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ServeReport } from '../../cli/code-cache.js';
import { BIN, json, spawnBounded, commandsAsProcesses } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';
import { servedWatcher } from '../helpers/served-watcher.js';

// Every command here runs as a process: the commands are served by a watcher, or run as processes: what a process does
// is the subject.
commandsAsProcesses();

/**
 * A served command's input and output (cli/serve/, docs/ARCHITECTURE.md "Commands served by the watcher"): its working
 * folder, environment and standard input are the client's, its output reaches the client's pipe or terminal whole,
 * and a terminal that hangs up or an input that fails ends it as in its own process. When a command is served at
 * all: test/e2e/cli-served.test.ts.
 */
const sw = servedWatcher();
const { reportFile, run, served, servedInTerminal } = sw;

describe('commands served by the watcher: input and output', () => {
  it('gives the command the client\'s working folder, environment and standard input', async () => {
    const cwd = join(sw.scratch.path, 'project');
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
    const ledger = readFileSync(join(sw.alpha, 'claude', 'sessions', `${session}.json`), 'utf8');
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
      const r = await spawnBounded('python3', [fixture, '30', process.execPath, BIN, 'dispatch', '--from', '-', '--to', 'beta', '--dry-run', '--json', '--no-git'], { env: { ...process.env, GITBUS_HOME: sw.alpha, GITBUS_SERVE_REPORT: file, GITBUS_SERVE: '1' }, input: `${lines}\n`, timeoutMs: 60_000 });
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
      () => `last: ${JSON.stringify(last?.report)}\nwatcher stderr: ${sw.watcher.stderr()}`,
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
    const typed = join(sw.scratch.path, 'typed.jsonl');
    writeFileSync(typed, `${JSON.stringify({ title: 'typed before a hangup' })}\n`);
    const hangup = fileURLToPath(new URL('../fixtures/hangup.py', import.meta.url));
    let last: { ended: string; report: ServeReport } | undefined;
    await until(
      'dispatch --from - on a terminal that hangs up, served',
      async () => {
        const { file, report: reported } = reportFile();
        const r = await spawnBounded('python3', [hangup, typed, process.execPath, BIN, 'dispatch', '--from', '-', '--to', 'beta', '--no-git'], { env: { ...process.env, GITBUS_HOME: sw.alpha, GITBUS_SERVE_REPORT: file, GITBUS_SERVE: '1' }, timeoutMs: 30_000 });
        const report = reported();
        last = { ended: `${r.stdout.trim()}${r.stderr}`, report };
        return report.served;
      },
      60_000,
      () => `last: ${JSON.stringify(last)}\nwatcher stderr: ${sw.watcher.stderr()}`,
    );
    // Killed by SIGHUP (1), as its own process is: not an abort of Node's (6, 11) setting back a terminal that is gone.
    expect(last?.ended).toBe('signal 1');
    const st = await run(['status', '--json'], { env: { GITBUS_SERVE: '0' } });
    expect(st.r.stdout).not.toContain('typed before a hangup');
  }, 120_000);

  it('a read of standard input that fails (a reset connection) fails the served command as its own: nothing is dispatched', async () => {
    // test/fixtures/reset-stdin.py: standard input is a TCP connection that sends a task's line, then resets.
    const sent = join(sw.scratch.path, 'sent.jsonl');
    writeFileSync(sent, `${JSON.stringify({ title: 'sent before a reset' })}\n`);
    const reset = fileURLToPath(new URL('../fixtures/reset-stdin.py', import.meta.url));
    const attempt = async (env: NodeJS.ProcessEnv) => {
      const { file, report } = reportFile();
      const r = await spawnBounded('python3', [reset, sent, process.execPath, BIN, 'dispatch', '--from', '-', '--to', 'beta', '--no-git'], { env: { ...process.env, GITBUS_HOME: sw.alpha, GITBUS_SERVE_REPORT: file, GITBUS_SERVE: '1', ...env }, timeoutMs: 30_000 });
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
      () => `last: ${JSON.stringify(last)}\nwatcher stderr: ${sw.watcher.stderr()}`,
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
});
