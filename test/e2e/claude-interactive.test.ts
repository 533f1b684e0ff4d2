import { describe, it, expect, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, gitCli, gitbus, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { until } from '../helpers/wait.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux && process.env['CI'] === 'true') throw new Error('tmux is missing, and CI must run the interactive claude test: install tmux');
if (!hasTmux) console.warn('interactive claude test skipped: tmux is not installed');

const SOCKET = join(tmpdir(), `gitbus-test-claude-tmux-${process.pid}.sock`);
const tmux = (args: string[]) => spawnSync('tmux', ['-S', SOCKET, ...args], { encoding: 'utf8', timeout: 10_000 });
const STANDIN = join(ROOT, 'test/fixtures/claude-standin.mjs');


const cleanups: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  tmux(['kill-server']);
  rmSync(SOCKET, { force: true });
  for (const c of cleanups) await c();
});

describe.skipIf(!hasTmux)('the claude runner, interactive', () => {
  it('runs claude in a tmux session a person can attach to and steer, with the node\'s grants', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('pair', [], ['--runner', 'claude']);
    appendFileSync(join(w, 'node.yaml'), `claude:\n  binary: ${STANDIN}\n  model: sonnet\n`);
    const work = join(bus.dir, 'person');
    gitCli(['clone', '-q', bus.remote, work]);
    mkdirSync(join(work, 'handoffs'), { recursive: true });
    writeFileSync(join(work, 'handoffs', 'pair-1.md'), '---\ntitle: pair on the flaky test\nrunner: claude\nclaude:\n  interactive: true\n  model: opus\n---\nFix the flaky test in the parser.\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'interactive task'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);

    const record = join(bus.dir, 'claude-calls.jsonl');
    const child = spawn(process.execPath, [CLI, 'watch', '--json', '--poll', '1s'], { env: { ...process.env, GITBUS_HOME: w, GITBUS_TMUX_SOCKET: SOCKET, CLAUDE_STANDIN_RECORD: record }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const screen = () => tmux(['capture-pane', '-p', '-t', '=gitbus-pair-1:']).stdout ?? '';
    // A person attaches and sees claude with the task's prompt.
    await until('the session with the prompt', () => screen().includes('Fix the flaky test in the parser.'));
    tmux(['send-keys', '-t', '=gitbus-pair-1:', 'use the retry helper', 'Enter']);
    await until('claude to answer the person', () => screen().includes('you said: use the retry helper'));
    tmux(['send-keys', '-t', '=gitbus-pair-1:', '/exit', 'Enter']);
    await until('the response', async () => json<{ state: string }>(await gitbus(['show', 'pair-1', '--json'], { home: bus.home('boss') })).state === 'succeeded');
    expect(tmux(['has-session', '-t', '=gitbus-pair-1']).status).not.toBe(0);

    const call = JSON.parse(readFileSync(record, 'utf8').trim().split('\n')[0] as string) as { argv: string[]; prompt: string; interactive: boolean };
    expect(call.interactive).toBe(true);
    expect(call.argv).not.toContain('--print');
    // The node runs sonnet only: the handoff's opus was narrowed.
    expect(call.argv.slice(call.argv.indexOf('--model'), call.argv.indexOf('--model') + 2)).toEqual(['--model', 'sonnet']);
    expect(call.prompt).toContain('Fix the flaky test in the parser.');
    const shown = json<{ files: { path: string; text: string }[] }>(await gitbus(['show', 'pair-1', '--json'], { home: bus.home('boss') }));
    expect(shown.files.find((f) => f.path === 'responses/pair-1.md')?.text).toContain('you said: use the retry helper');
    expect(existsSync(join(w, 'logs', 'pair-1.1.log.prompt'))).toBe(false);
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }, 90_000);
});
