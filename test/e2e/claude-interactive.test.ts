import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { parse } from 'yaml';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, gitCli, gitbus, json } from '../helpers/cli.js';
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

type Shown = { state: string; files: { path: string; text: string }[] };
const front = (text: string | undefined) => parse(/^---\n([\s\S]*?)\n---/.exec(text ?? '')?.[1] ?? '') as { status: string; reason?: string; claude?: Record<string, unknown> };

describe.skipIf(!hasTmux)('the claude runner, interactive', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let record = '';
  const screen = (id: string) => tmux(['capture-pane', '-p', '-t', `=gitbus-${id}:`]).stdout ?? '';
  const shown = async (id: string) => json<Shown>(await gitbus(['show', id, '--json'], { home: bus.home('boss') }));
  const recorded = (id: string) => readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; prompt: string; interactive: boolean; sessionId: string; taskId: string }).find((c) => c.taskId === id);

  beforeAll(async () => {
    bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const w = await bus.addNode('pair', [], ['--runner', 'claude']);
    appendFileSync(join(w, 'node.yaml'), `claude:\n  binary: ${STANDIN}\n  model: sonnet\n`);
    record = join(bus.dir, 'claude-calls.jsonl');
    const child = spawn(process.execPath, [BIN, 'watch', '--json', '--poll', '1s'], { env: { ...process.env, GITBUS_HOME: w, GITBUS_TMUX_SOCKET: SOCKET, CLAUDE_STANDIN_RECORD: record }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
  });

  it("runs claude in a tmux session a person can attach to and steer, with the node's grants, and records its session and cost", async () => {
    const work = join(bus.dir, 'person');
    gitCli(['clone', '-q', bus.remote, work]);
    mkdirSync(join(work, 'handoffs'), { recursive: true });
    writeFileSync(join(work, 'handoffs', 'pair-1.md'), '---\ntitle: pair on the flaky test\nrunner: claude\nclaude:\n  interactive: true\n  model: opus\n---\nFix the flaky test in the parser.\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'interactive task'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);

    // A person attaches and sees claude with the task's prompt.
    await until('the session with the prompt', () => screen('pair-1').includes('Fix the flaky test in the parser.'));
    tmux(['send-keys', '-t', '=gitbus-pair-1:', 'use the retry helper', 'Enter']);
    await until('claude to answer the person', () => screen('pair-1').includes('you said: use the retry helper'));
    // claude's status line runs gitbus's command, which shows the task.
    await until('the status line', () => screen('pair-1').includes('[status] gitbus task pair-1'));
    tmux(['send-keys', '-t', '=gitbus-pair-1:', '/exit', 'Enter']);
    await until('the response', async () => (await shown('pair-1')).state === 'succeeded');
    expect(tmux(['has-session', '-t', '=gitbus-pair-1']).status).not.toBe(0);

    const call = recorded('pair-1');
    expect(call?.interactive).toBe(true);
    expect(call?.argv).not.toContain('--print');
    // The node runs sonnet only: the handoff's opus was narrowed.
    expect(call?.argv.slice(call.argv.indexOf('--model'), call.argv.indexOf('--model') + 2)).toEqual(['--model', 'sonnet']);
    expect(call?.prompt).toContain('Fix the flaky test in the parser.');
    const files = (await shown('pair-1')).files;
    const claim = front(files.find((f) => f.path === 'claims/pair-1.1.md')?.text) as unknown as { session: string };
    const response = files.find((f) => f.path === 'responses/pair-1.md')?.text;
    expect(response).toContain('you said: use the retry helper');
    // The session id was fixed at claim (--session-id), and the cost is what the status line last reported: two answers.
    expect(call?.argv.slice(call.argv.indexOf('--session-id'), call.argv.indexOf('--session-id') + 2)).toEqual(['--session-id', claim.session]);
    expect(call?.sessionId).toBe(claim.session);
    expect(front(response).claude).toEqual({ sessionId: claim.session, costUsd: 0.0246, model: 'sonnet' });
    expect(existsSync(join(bus.home('pair'), 'logs', 'pair-1.1.log.prompt'))).toBe(false);
    expect(existsSync(join(bus.home('pair'), 'logs', 'pair-1.1.claude-status.json'))).toBe(false);
  }, 90_000);

  it('holds a budget claude ignores without -p: the watcher stops the session once the status line reports it spent', async () => {
    const d = await gitbus(['dispatch', 'pair within a budget', '--to', 'pair', '--interactive', '--max-budget-usd', '0.02', '--no-git', '--id', 'pair-2', '--json'], { home: bus.home('boss') });
    expect(d.code, d.stderr).toBe(0);
    await until('the session with the prompt', () => screen('pair-2').includes('pair within a budget'));
    // The first answer cost $0.0123; the next one passes the budget.
    tmux(['send-keys', '-t', '=gitbus-pair-2:', 'one more thing', 'Enter']);
    await until('the response', async () => (await shown('pair-2')).state === 'failed');
    const r = front((await shown('pair-2')).files.find((f) => f.path === 'responses/pair-2.md')?.text);
    expect(r.reason).toContain("stopped at the budget limit: claude's status line reported $0.0246 spent of the $0.02 budget");
    expect(r.claude).toMatchObject({ costUsd: 0.0246, subtype: 'error_max_budget_usd', sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const call = recorded('pair-2');
    // Not on claude's command line (it would ignore it): held by the watcher.
    expect(call?.argv).not.toContain('--max-budget-usd');
    expect(call?.argv).toContain('--settings');
    expect(readFileSync(join(bus.home('pair'), 'logs', 'pair-2.1.log'), 'utf8')).toContain("gitbus: budget $0.02: held by the watcher through claude's status line");
    expect(tmux(['has-session', '-t', '=gitbus-pair-2']).status).not.toBe(0);
  }, 90_000);
});
