import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CLI, ROOT, gitbus, json, neutralCwd } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { flag, grant } from '../helpers/claude.js';
import { until } from '../helpers/wait.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';

/**
 * Claude tasks as the dispatcher and the fleet see them, with real watcher processes and the stand-in
 * (test/fixtures/claude-standin.mjs, which streams tool calls as the real CLI does): progress an agent posts from
 * inside its task, the readable view of its stream, the claude facts in --json outputs, the dispatch flags, and
 * the node's daily spend cap.
 */
const STANDIN = join(ROOT, 'test/fixtures/claude-standin.mjs');
const GITBUS = `'${process.execPath}' '${CLI}'`;
/** Each turn of the stand-in costs this much; the worker's cap lets two runs through and stops the third. */
const TURN = 0.0123;
const CAP = 0.07;

type Claude = { sessionId?: string; costUsd?: number; turns?: number; model?: string; subtype?: string };
type Status = { nodes: { node: string; spend: { day: string; spentUsd: number; capUsd: number | null } | null }[]; tasks: { id: string; state: string; progress: { text: string; at: string } | null; claude: Claude | null }[] };

let bus: Awaited<ReturnType<typeof makeBus>>;
let worker: string;
let record: string;
let watcher: WatcherProcess;
const children: ChildProcess[] = [];

const boss = (args: string[], input?: string) => gitbus(args, { home: bus.home('boss'), ...(input !== undefined ? { input } : {}), timeoutMs: 60_000 });
const status = async () => json<Status>(await boss(['status', '--json']));
const calls = () => (existsSync(record) ? readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { argv: string[]; taskId: string | null }) : []);
beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  worker = await bus.addNode('worker', [], ['--runner', 'claude']);
  grant(worker, { binary: STANDIN, maxSpendUsdPerDay: CAP });
  record = join(bus.dir, 'standin-calls.jsonl');
  // The regular heartbeat stays at the bus's 30 s: progress must travel with the early beat it prompts.
  watcher = startWatcher(worker, ['--poll', '1s', '--progress-beat', '1s'], children, { CLAUDE_STANDIN_RECORD: record, CLAUDE_STANDIN_SESSIONS: join(bus.dir, 'sessions') });
  await until('the worker watcher', () => watcher.events().some((e) => e.type === 'started'), 20_000, watcher.stderr);
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

describe('claude tasks seen from the fleet', () => {
  let first = '';

  it("progress posted inside a task shows in status and in the dispatcher's --wait on another node; the claude flags reach the handoff and claude's argv", async () => {
    const go = join(bus.dir, 'go');
    const self = join(bus.dir, 'self.json');
    const body = [
      'Fix the parser.',
      `@bash ${GITBUS} progress "parser fixed, running the suite" && ${GITBUS} task --json > '${self}'`,
      `@bash while [ ! -f '${go}' ]; do sleep 0.1; done`,
      '@commit fix the parser',
      '',
    ].join('\n');
    // The dispatcher waits as its own process, its stderr read as it comes: the task waits for `go` until the
    // dispatcher has shown the progress, so the line is seen while the task runs, not read back afterwards.
    const args = ['dispatch', 'Fix the parser', '--to', 'worker', '--no-git', '--timeout', '60s', '--body-file', '-', '--wait', '--model', 'opus', '--max-turns', '10', '--max-budget-usd', '1', '--permission-mode', 'plan', '--allowed-tools', 'Read', '--allowed-tools', 'Bash(git *)'];
    const child = spawn(process.execPath, [CLI, ...args], { cwd: neutralCwd(), env: { ...process.env, GITBUS_HOME: bus.home('boss') }, stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    child.stdin.end(body);

    await until("the progress in the dispatcher's --wait", () => stderr.includes(': progress: parser fixed, running the suite'), 20_000, () => `${stderr}\n${JSON.stringify(watcher.events().slice(-5))}`);
    const id = /^dispatched (\S+);/m.exec(stderr)?.[1] ?? '';
    expect(stderr).toContain(`${id}: progress: parser fixed, running the suite`);
    // And in status on the dispatching node, and its text, while the task runs.
    const running = (await status()).tasks.find((t) => t.id === id);
    expect(running).toMatchObject({ state: 'claimed', progress: { text: 'parser fixed, running the suite' } });
    expect((await boss(['status'])).stdout).toContain('      progress: parser fixed, running the suite (');
    writeFileSync(go, '');
    expect(await exited, stderr).toBe(0);
    first = id;
    expect(stderr).toContain(`${id}: succeeded on worker`);
    // The run as readable lines, not JSON.
    expect(stdout).toContain('claude: done: 4 turns');
    expect(stdout).not.toContain('{"type"');

    // The flags are the handoff's claude requests, and the runner passed them (the budget lowered to what is left of the cap).
    const handoff = json<{ files: { path: string; text: string }[] }>(await boss(['show', id, '--json'])).files.find((f) => f.path === `handoffs/${id}.md`)?.text ?? '';
    expect(parse(/^---\n([\s\S]*?)\n---/.exec(handoff)?.[1] ?? '')).toMatchObject({ runner: 'claude', claude: { model: 'opus', permissionMode: 'plan', allowedTools: ['Read', 'Bash(git *)'], maxBudgetUsd: 1, maxTurns: 10 } });
    const argv = calls().find((c) => c.taskId === id)?.argv ?? [];
    expect(flag(argv, '--model')).toEqual(['opus']);
    expect(flag(argv, '--max-turns')).toEqual(['10']);
    expect(flag(argv, '--max-budget-usd')).toEqual([String(CAP)]);
    expect(flag(argv, '--permission-mode')).toEqual(['plan']);
    expect(flag(argv, '--allowedTools')).toEqual(['Read', 'Bash(git *)']);

    // Inside the task, `gitbus task` read its own handoff.
    expect(JSON.parse(readFileSync(self, 'utf8'))).toMatchObject({ id, attempt: 1, node: 'worker', handoff: { title: 'Fix the parser' }, body: expect.stringContaining('Fix the parser.'), progress: { text: 'parser fixed, running the suite' } });
  });

  it('logs shows the run as readable lines (tool calls, a failed tool, progress, cost and turns); --raw and the log keep the stream', async () => {
    const logs = await boss(['logs', first]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/claude: session [0-9a-f-]{36} \(model opus, permission mode plan\)/);
    expect(logs.stdout).toContain(`  → Bash: ${GITBUS} progress "parser fixed, running the suite"`);
    expect(logs.stdout).toContain('gitbus: progress: parser fixed, running the suite');
    // The work root is no git checkout: the commit fails, as a tool error.
    expect(logs.stdout).toMatch(/ {2}✗ Bash: Exit code \d+ .*not a git repository/i);
    expect(logs.stdout).toContain('claude: done: 4 turns, $0.0492');
    expect(logs.stdout).not.toContain('"type":');
    const raw = await gitbus(['logs', first, '--raw'], { home: worker });
    expect(raw.stdout).toContain('"type":"tool_use"');
    expect(readFileSync(join(worker, 'logs', `${first}.1.log`), 'utf8')).toContain('"type":"result"');
  });

  it('a run stopped at its turn limit: subtype, cost and turns in the --json of dispatch --wait, status, show and logs', async () => {
    const body = `Two steps.\n@bash true\n@bash true\n`;
    const r = await boss(['dispatch', 'Two steps', '--to', 'worker', '--no-git', '--max-turns', '1', '--body-file', '-', '--wait', '--json'], body);
    expect(r.code).toBe(9);
    const out = json<{ id: string; state: string; claude: Claude }>(r);
    const facts = { sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/), costUsd: TURN, turns: 1, model: 'claude-sonnet-4-5', subtype: 'error_max_turns' };
    expect(out).toMatchObject({ state: 'failed', claude: facts });
    expect((await status()).tasks.find((t) => t.id === out.id)?.claude).toEqual(facts);
    expect(json<{ summary: { claude: Claude } }>(await boss(['show', out.id, '--json'])).summary.claude).toEqual(facts);
    expect(json<{ claude: Claude }>(await boss(['logs', out.id, '--json'])).claude).toEqual(facts);
    expect((await boss(['status'])).stdout).toContain(`(claude: error_max_turns, 1 turn, $${TURN})`);
  });

  it('the daily spend cap leaves claude tasks for other nodes, says why, and status and doctor show the spend', async () => {
    // Four turns, then one.
    const spent = 0.0615;
    await until("the worker's spend in its heartbeat", async () => (await status()).nodes.find((n) => n.node === 'worker')?.spend?.spentUsd === spent, 20_000);
    expect((await status()).nodes.find((n) => n.node === 'worker')?.spend).toEqual({ day: new Date().toISOString().slice(0, 10), spentUsd: spent, capUsd: CAP });
    expect((await boss(['status'])).stdout).toMatch(/worker .*claude \$0\.06 of \$0\.07 today \(cap reached: no claude tasks until 00:00 UTC\)/);

    const id = await bus.dispatch('boss', ['Third task', '--to', 'worker', '--model', 'sonnet']);
    await until('the watcher to say why it leaves it', () => watcher.events().some((e) => e.type === 'spend-cap'), 20_000, () => JSON.stringify(watcher.events().slice(-5)));
    const ev = watcher.events().find((e) => e.type === 'spend-cap') as unknown as { reason: string; spentUsd: number; capUsd: number };
    expect(ev).toMatchObject({ spentUsd: spent, capUsd: CAP });
    expect(ev.reason).toContain(`have spent $0.06 of its daily cap of $${CAP}`);
    expect((await status()).tasks.find((t) => t.id === id)?.state).toBe('pending');
    expect(calls().some((c) => c.taskId === id)).toBe(false);

    const doctor = json<{ checks: { name: string; status: string; detail: string }[] }>(await gitbus(['doctor', '--json'], { home: worker }));
    expect(doctor.checks.find((c) => c.name === 'claude.spend')).toMatchObject({ status: 'warn', detail: expect.stringContaining(`$0.06 spent by claude runs today`) });

    // A task for any node is taken by one whose cap allows it.
    const spare = await bus.addNode('spare', [], ['--runner', 'claude']);
    grant(spare, { binary: STANDIN });
    const anyone = await bus.dispatch('boss', ['Anyone', '--model', 'sonnet']);
    const once = await gitbus(['watch', '--once', '--json'], { home: spare, env: { CLAUDE_STANDIN_RECORD: record }, timeoutMs: 60_000 });
    expect(json<{ ran: { id: string; status: string }[] }>(once).ran).toEqual([expect.objectContaining({ id: anyone, status: 'succeeded' })]);
  });

  it('gitbus progress and gitbus task outside a task say so, also with a home that has no bus', async () => {
    // Outside a task is the mistake, not the home: one without a bus is not NO_BUS (exit 7) here.
    for (const home of [worker, join(bus.dir, 'no-bus-here')]) {
      for (const cmd of [['progress', 'hello'], ['task']]) {
        const r = await gitbus([...cmd, '--json'], { home, env: { GITBUS_TASK_ID: '' } });
        expect(r.code, `${cmd.join(' ')} in ${home}: ${r.stderr}`).toBe(2);
        expect(json<{ error: { code: string; fix: string } }>(r).error).toMatchObject({ code: 'NOT_IN_TASK', fix: expect.stringContaining('gitbus show ID') });
      }
    }
    // In a home with no node (a mistyped GITBUS_HOME): no bus, as every command says, and nothing made there.
    const empty = join(bus.dir, 'no-node-home');
    const none = await gitbus(['progress', '--json', 'hi'], { home: empty, env: { GITBUS_TASK_ID: 't-20260101-000000-abcd', GITBUS_ATTEMPT: '1' } });
    expect(none.code, none.stderr).toBe(7);
    expect(json<{ error: { code: string } }>(none).error.code).toBe('NO_BUS');
    expect(existsSync(empty)).toBe(false);
  });
});
