import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ROOT, gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { showInProcess } from '../helpers/in-process.js';
import { flag, grant } from '../helpers/claude.js';
import { alive, until } from '../helpers/wait.js';
import { editNode } from '../helpers/project.js';

/**
 * The claude runner through the real gitbus CLI. The API is unreachable in tests, so a successful run uses the
 * stand-in (test/fixtures/claude-standin.mjs), which takes the real CLI's flags and prints its output format;
 * test/e2e/claude-cli.test.ts holds the runner's command line and parser to the real CLI.
 */
const STANDIN = join(ROOT, 'test/fixtures/claude-standin.mjs');

/** The real CLI: npm's bin link, or the platform package's native binary when npm skipped the postinstall that copies it. */
function realClaude(): string {
  const bin = join(ROOT, 'node_modules/.bin/claude');
  if (spawnSync(bin, ['--version'], { timeout: 30_000 }).status === 0) return bin;
  return join(ROOT, `node_modules/@anthropic-ai/claude-code-${process.platform}-${process.arch}/claude`);
}

type Shown = { state: string; files: { path: string; text: string }[] };
type Recorded = { argv: string[]; prompt: string; cwd: string; taskId: string | null };
type ResponseData = { status: string; runner?: string; reason?: string; claude?: { sessionId?: string; costUsd?: number; turns?: number; model?: string; subtype?: string } };

let bus: Awaited<ReturnType<typeof makeBus>>;
let worker: string;
let record: string;
let sessions: string;
let person: string;

async function dispatch(args: string[], body: string): Promise<string> {
  const d = await gitbus(['dispatch', ...args, '--runner', 'claude', '--body-file', '-', '--json', '--no-git'], { home: bus.home('boss'), input: body });
  expect(d.code, d.stderr).toBe(0);
  return json<{ id: string }>(d).id;
}

/** A handoff with `claude:` requests, written and pushed with plain git (dispatch has no flags for them). */
function dispatchByHand(id: string, frontmatter: Record<string, unknown>, body: string): string {
  mkdirSync(join(person, 'handoffs'), { recursive: true });
  writeFileSync(join(person, 'handoffs', `${id}.md`), `---\n${stringify(frontmatter)}---\n${body}`);
  gitCli(['add', 'handoffs'], person);
  gitCli(['commit', '-q', '-m', `dispatch ${id}`], person);
  gitCli(['pull', '-q', '--rebase', 'origin', 'main'], person);
  gitCli(['push', '-q', 'origin', 'HEAD:main'], person);
  return id;
}

async function watchOnce(home: string, env: NodeJS.ProcessEnv = {}): Promise<{ id: string; status: string }[]> {
  const r = await gitbus(['watch', '--once', '--json'], { home, env: { CLAUDE_STANDIN_RECORD: record, CLAUDE_STANDIN_SESSIONS: sessions, ...env }, timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(0);
  return json<{ ran: { id: string; status: string }[] }>(r).ran;
}

/** The task's response as boss sees it, read in the test's process (test/helpers/in-process.ts): what the runner wrote is the subject, not show. */
async function response(id: string): Promise<{ data: ResponseData; text: string }> {
  const shown = await showInProcess<Shown>(bus.home('boss'), id);
  const text = shown.files.find((f) => f.path === `responses/${id}.md`)?.text;
  if (text === undefined) throw new Error(`no response for ${id}: ${JSON.stringify(shown)}`);
  const front = /^---\n([\s\S]*?)\n---\n/.exec(text)?.[1] ?? '';
  return { data: parse(front) as ResponseData, text };
}

function recorded(id: string): Recorded {
  const calls = readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Recorded).filter((c) => c.taskId === id);
  expect(calls, `the stand-in ran once for ${id}`).toHaveLength(1);
  return calls[0] as Recorded;
}

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  worker = await bus.addNode('worker', [], ['--runner', 'claude']);
  grant(worker, { binary: STANDIN, permissionMode: 'acceptEdits', allowedTools: ['Read', 'Bash'], maxBudgetUsd: 0.5 });
  record = join(bus.dir, 'standin-calls.jsonl');
  sessions = join(bus.dir, 'standin-sessions');
  person = join(bus.dir, 'person');
  gitCli(['clone', '-q', bus.remote, person]);
});
afterAll(async () => bus?.cleanup());

describe('the claude runner', () => {
  let firstSession = '';

  it('runs claude -p with the body on stdin and records the result, session, cost and turns in the response', async () => {
    const body = 'Count the TODO comments in this repository.\n\nReport the number and the files.\n';
    const id = await dispatch(['Count the TODOs', '--to', 'worker'], body);
    const ran = await watchOnce(worker);
    expect(ran).toEqual([expect.objectContaining({ id, status: 'succeeded' })]);

    const call = recorded(id);
    expect(call.prompt).toContain('Count the TODO comments in this repository.');
    expect(call.prompt).toContain('Report the number and the files.');
    expect(call.argv).toContain('--print');
    expect(flag(call.argv, '--output-format')).toEqual(['stream-json']);
    expect(call.argv).toContain('--verbose');
    expect(flag(call.argv, '--permission-mode')).toEqual(['acceptEdits']);
    expect(flag(call.argv, '--max-budget-usd')).toEqual(['0.5']);
    expect(flag(call.argv, '--allowedTools')).toEqual(['Read', 'Bash']);
    expect(call.argv).not.toContain('--model');
    expect(call.argv).not.toContain('--resume');
    // The prompt is on stdin, never in argv.
    expect(call.argv.join(' ')).not.toContain('TODO');
    expect(call.cwd).toBe(join(worker, 'work'));

    const { data, text } = await response(id);
    expect(data.status).toBe('succeeded');
    expect(data.runner).toBe('claude');
    expect(data.claude).toEqual({ sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/), costUsd: 0.0123, turns: 1, model: 'claude-sonnet-4-5', subtype: 'success' });
    expect(text).toContain('## Results\n\nStand-in answer to: Count the TODO comments in this repository.');
    firstSession = data.claude?.sessionId ?? '';

    // The log has the command line and claude's stream, as `gitbus logs` shows it.
    const log = readFileSync(join(worker, 'logs', `${id}.1.log`), 'utf8');
    expect(log).toMatch(/^gitbus: .*claude-standin\.mjs --print --output-format stream-json --verbose/);
    expect(log).toContain('"type":"system","subtype":"init"');
    expect(log).toContain('"type":"result"');
  });

  it('grants a handoff less, never more: the node caps budget, mode and tools; model and resume pass through', async () => {
    expect(firstSession).not.toBe('');
    const id = dispatchByHand(
      'claude-asks-for-more',
      {
        title: 'Carry on with the TODOs',
        to: 'worker',
        runner: 'claude',
        claude: { model: 'opus', permissionMode: 'bypassPermissions', allowedTools: ['Bash(git *)', 'Write'], maxBudgetUsd: 5, resume: firstSession },
      },
      '## Task\n\nNow fix the first one.\n',
    );
    const ran = await watchOnce(worker);
    expect(ran).toEqual([expect.objectContaining({ id, status: 'succeeded' })]);

    const call = recorded(id);
    expect(flag(call.argv, '--max-budget-usd')).toEqual(['0.5']);
    expect(flag(call.argv, '--permission-mode')).toEqual(['acceptEdits']);
    // Bash(git *) is a narrower use of Bash, which the node grants; Write is not granted.
    expect(flag(call.argv, '--allowedTools')).toEqual(['Bash(git *)']);
    expect(flag(call.argv, '--model')).toEqual(['opus']);
    expect(flag(call.argv, '--resume')).toEqual([firstSession]);
    expect(call.prompt).toContain('Now fix the first one.');

    const { data } = await response(id);
    expect(data.claude).toMatchObject({ sessionId: firstSession, model: 'opus' });
    const log = readFileSync(join(worker, 'logs', `${id}.1.log`), 'utf8');
    expect(log).toContain('gitbus: budget $5 asked; this node caps it at $0.5');
    expect(log).toContain('gitbus: permission mode bypassPermissions asked; this node grants acceptEdits at most');
    expect(log).toContain('gitbus: tools not granted by this node: Write');
  });

  it('uses the title as the prompt when the body is empty, and GITBUS_CLAUDE_BIN when node.yaml names no binary', async () => {
    const envNode = await bus.addNode('envbin');
    grant(envNode, {});
    const id = dispatchByHand('claude-title-only', { title: 'Say hello in French', to: 'envbin', runner: 'claude' }, '');
    const ran = await watchOnce(envNode, { GITBUS_CLAUDE_BIN: STANDIN });
    expect(ran).toEqual([expect.objectContaining({ id, status: 'succeeded' })]);
    const call = recorded(id);
    expect(call.prompt.trim()).toBe('Say hello in French');
    // Nothing granted or asked: no flags beyond the output format and the session its claim recorded.
    expect(call.argv).toEqual(['--print', '--output-format', 'stream-json', '--verbose', '--session-id', expect.stringMatching(/^[0-9a-f-]{36}$/)]);
    const sessionArg = call.argv[5];
    const shown = await showInProcess<{ files: { path: string; text: string }[] }>(envNode, id);
    expect(shown.files.find((f) => f.path.startsWith('claims/'))?.text).toContain(`session: ${sessionArg}`);
  });

  it('a binary that cannot start fails with the reason and the fix, instead of stalling', async () => {
    const home = await bus.addNode('nobin');
    // There, executable, and still not startable (its interpreter is missing): what a watcher meets when claude
    // was removed or broken after it started. One not there at all is left out at the start (next test).
    const missing = join(bus.dir, 'broken-claude');
    writeFileSync(missing, '#!/no/such/interpreter\n', { mode: 0o755 });
    grant(home, { binary: missing });
    // --force: the card still says what nobin offered at join; its watcher publishes the claude runner at start.
    const id = await dispatch(['Anything', '--to', 'nobin', '--force'], 'Do something.\n');
    const ran = await watchOnce(home);
    expect(ran).toEqual([expect.objectContaining({ id, status: 'failed' })]);
    const { data } = await response(id);
    expect(data.reason).toContain(`the claude binary "${missing}" could not be started on node nobin (not found)`);
    expect(data.reason).toContain('npm install -g @anthropic-ai/claude-code');
    expect(data.reason).toContain('log in once with `claude`');
    expect(data.reason).toContain('claude.binary');
    expect(existsSync(record) ? readFileSync(record, 'utf8') : '').not.toContain(id);
  });

  it('a node whose claude is not installed claims no claude task and does not offer claude; with no other runner its watcher refuses to start', async () => {
    const home = await bus.addNode('noclaude', [], ['--runner', 'shell', '--runner', 'claude']);
    editNode(home, (c) => ({ ...c, runners: ['shell', 'claude'], claude: { binary: join(bus.dir, 'not-installed', 'claude') } }));
    const forFleet = await dispatch(['For anyone with claude'], 'Do something.\n');
    const shell = await gitbus(['dispatch', 'a shell task', '--command', 'echo hi', '--to', 'noclaude', '--json', '--no-git'], { home: bus.home('boss') });
    expect(shell.code, shell.stderr).toBe(0);
    const shellId = json<{ id: string }>(shell).id;
    const r = await gitbus(['watch', '--once'], { home, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`runner claude left out: "${join(bus.dir, 'not-installed', 'claude')}" is not on PATH, so this node claims no claude task and does not offer it\n  fix: install Claude Code ("npm install -g @anthropic-ai/claude-code")`);
    expect(r.stdout).toContain('watching as noclaude: runners shell, 1 at a time');
    expect(r.stdout).toContain('ran 1 task(s)');
    expect((await showInProcess<Shown>(bus.home('boss'), shellId)).state).toBe('succeeded');
    expect((await showInProcess<Shown>(bus.home('boss'), forFleet)).state).toBe('pending');
    // The card it published offers shell only, so other nodes rank and dispatch without it.
    const status = await gitbus(['status', '--json'], { home: bus.home('boss') });
    const nodes = json<{ nodes: { node: string; card?: { runners?: string[] } }[] }>(status).nodes;
    const offered = nodes.find((n) => n.node === 'noclaude')?.card?.runners ?? [];
    expect(offered).toContain('shell');
    expect(offered).not.toContain('claude');
    // claude alone, not installed: the watcher says so and does not start.
    editNode(home, (c) => ({ ...c, runners: ['claude'] }));
    const alone = await gitbus(['watch', '--once', '--json'], { home, timeoutMs: 60_000 });
    expect(alone.code).not.toBe(0);
    expect(json<{ error: { code: string; message: string; fix: string } }>(alone).error).toMatchObject({ code: 'RUNNERS_MISSING', message: expect.stringContaining('claude needs'), fix: expect.stringContaining('claude.binary') });
    // Left for a node that has claude; this file's later tests expect a bus without it.
    expect((await gitbus(['cancel', forFleet], { home: bus.home('boss') })).code).toBe(0);
  });

  it('claude not logged in fails with the fix: log in on that node, or set ANTHROPIC_API_KEY', async () => {
    const id = await dispatch(['Needs the API', '--to', 'worker'], 'Do something.\n');
    const ran = await watchOnce(worker, { CLAUDE_STANDIN_MODE: 'not-logged-in' });
    expect(ran).toEqual([expect.objectContaining({ id, status: 'failed' })]);
    const { data, text } = await response(id);
    expect(data.reason).toContain('claude is not logged in on node worker (it said: Not logged in · Please run /login)');
    expect(data.reason).toContain('log in once with `claude` on worker');
    expect(data.reason).toContain('ANTHROPIC_API_KEY');
    expect(data.claude?.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(data.claude?.costUsd).toBe(0);
    expect(text).toContain('## Results\n\nNot logged in · Please run /login');
  });

  it('with the real claude CLI and no credentials, the task fails with the same fix', async () => {
    const home = await bus.addNode('realcli');
    grant(home, { binary: realClaude(), permissionMode: 'plan', maxBudgetUsd: 0.01 });
    const claudeHome = join(bus.dir, 'realcli-user-home');
    mkdirSync(claudeHome, { recursive: true });
    const id = await dispatch(['Needs the API', '--to', 'realcli', '--force'], 'Say hello.\n');
    const noCredentials = { ANTHROPIC_API_KEY: undefined, ANTHROPIC_AUTH_TOKEN: undefined, CLAUDE_CODE_OAUTH_TOKEN: undefined, ANTHROPIC_BASE_URL: undefined, CLAUDE_CODE_USE_BEDROCK: undefined, CLAUDE_CODE_USE_VERTEX: undefined };
    const ran = await watchOnce(home, { HOME: claudeHome, CLAUDE_CONFIG_DIR: join(claudeHome, '.claude'), ...noCredentials });
    expect(ran).toEqual([expect.objectContaining({ id, status: 'failed' })]);
    const { data } = await response(id);
    expect(data.reason).toMatch(/^claude is not logged in on node realcli \(it said: Not logged in/);
    expect(data.reason).toContain('ANTHROPIC_API_KEY');
    expect(data.claude?.sessionId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('output that is not claude JSON fails with the reason and the raw tail', async () => {
    const id = await dispatch(['Garbled', '--to', 'worker'], 'Do something.\n');
    const ran = await watchOnce(worker, { CLAUDE_STANDIN_MODE: 'garbled' });
    expect(ran).toEqual([expect.objectContaining({ id, status: 'failed' })]);
    const { data, text } = await response(id);
    expect(data.reason).toContain('claude exited with code 0 without a result');
    expect(data.reason).toContain('is claude.binary really Claude Code?');
    expect(text).toContain('## Output');
    expect(text).toContain('this is not the JSON you asked for');
  });

  it('a run past its timeout is stopped, and the response keeps the session to resume', async () => {
    const id = await dispatch(['Never ends', '--to', 'worker', '--timeout', '2s'], 'Think forever.\n');
    const ran = await watchOnce(worker, { CLAUDE_STANDIN_MODE: 'hang' });
    expect(ran).toEqual([expect.objectContaining({ id, status: 'timed-out' })]);
    const { data } = await response(id);
    expect(data.claude?.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(data.reason).toContain(`stopped after the timeout of 2s; resume it with claude.resume: ${data.claude?.sessionId}`);
  });

  it('ends when claude exits, even while a process it started holds its output, and stops that process', async () => {
    const home = await bus.addNode('forks');
    const pidFile = join(bus.dir, 'fork-sleeper.pid');
    const bin = join(bus.dir, 'claude-fork');
    const result = JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'done', session_id: '11111111-1111-1111-1111-111111111111', total_cost_usd: 0.01, num_turns: 1 });
    writeFileSync(bin, `#!/bin/sh\ncat >/dev/null\nsleep 120 &\necho $! > '${pidFile}'\necho '${result}'\n`, { mode: 0o755 });
    grant(home, { binary: bin });
    const id = await dispatch(['Leaves a child', '--to', 'forks', '--force', '--timeout', '100s'], 'Do something.\n');
    const started = Date.now();
    const ran = await watchOnce(home);
    expect(ran).toEqual([expect.objectContaining({ id, status: 'succeeded' })]);
    // Not the sleep's two minutes, nor the timeout's 100 s.
    expect(Date.now() - started).toBeLessThan(45_000);
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    await until('the sleep claude left running to be stopped', () => !alive(sleeper), 10_000);
    expect((await response(id)).data.claude?.sessionId).toBe('11111111-1111-1111-1111-111111111111');
  });

  it('a permission mode claude does not know is refused with the reason, without running claude', async () => {
    const id = dispatchByHand('claude-odd-mode', { title: 'Odd mode', to: 'worker', runner: 'claude', claude: { permissionMode: 'yolo' } }, 'Do something.\n');
    const ran = await watchOnce(worker);
    expect(ran).toEqual([expect.objectContaining({ id, status: 'failed' })]);
    const { data } = await response(id);
    expect(data.reason).toContain('the handoff asks for permission mode "yolo", which is not one claude knows');
    expect(readFileSync(record, 'utf8')).not.toContain(id);
  });
});
