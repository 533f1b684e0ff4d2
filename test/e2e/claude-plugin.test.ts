import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, cp, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, CLI, ROOT, TEST_CACHE_HOME, gitbus, json, neutralCwd, spawnBounded, tempDirs, type RunResult } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { claimAndRespond } from '../helpers/in-process.js';
import { until } from '../helpers/wait.js';

/**
 * The Claude Code plugin that ships in the package (claude-plugin/), checked by the real Claude Code CLI
 * (devDependency, offline: no login, so it never reaches the API), `gitbus setup claude`, and the hear-back
 * hooks fed the hook input Claude Code sends (test/fixtures/claude-hooks/, recorded from 2.1.332).
 */
const PLUGIN = join(ROOT, 'claude-plugin');
const CLAUDE = join(ROOT, 'node_modules/.bin/claude');
const FIXTURES = join(ROOT, 'test/fixtures/claude-hooks');

const { temp, cleanup } = tempDirs();
afterAll(cleanup);

/** Claude Code with its own empty config dir and no credentials: it neither reads nor writes anyone's settings. */
/** read(2)'s number, which /proc/<pid>/syscall shows first while a process waits in it. */
const READ_SYSCALL: Partial<Record<string, string>> = { x64: '0', arm64: '63' };
const seesSyscalls = existsSync('/proc/self/syscall') && READ_SYSCALL[process.arch] !== undefined;
if (!seesSyscalls) console.warn('skipping the late hook input test: it needs /proc/<pid>/syscall (Linux on x64 or arm64)');

/**
 * True once the process reads its fd 0: it waits in read(2) on it (a synchronous reader), or has made it
 * non-blocking (O_NONBLOCK in /proc/<pid>/fdinfo/0), which Node does when it makes process.stdin for a pipe, and
 * the hook reads its input through that stream from the moment it makes it.
 */
function readingStdin(pid: number): boolean {
  try {
    const [nr, fd] = readFileSync(`/proc/${pid}/syscall`, 'utf8').split(' ');
    if (nr === READ_SYSCALL[process.arch] && fd === '0x0') return true;
    const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/0`, 'utf8'))?.[1];
    return flags !== undefined && (parseInt(flags, 8) & 0o4000) !== 0;
  } catch {
    return false;
  }
}

function claudeEnv(configHome: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: configHome, CLAUDE_CONFIG_DIR: join(configHome, '.claude'), DISABLE_TELEMETRY: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', ...extra };
  for (const k of ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_BASE_URL', 'CLAUDE_CODE_USE_BEDROCK', 'CLAUDE_CODE_USE_VERTEX', 'CLAUDE_CODE_SESSION_ID', 'CLAUDECODE']) delete env[k];
  return env;
}

function validate(dir: string, home: string): Promise<RunResult> {
  return spawnBounded(CLAUDE, ['plugin', 'validate', '--strict', dir], { cwd: home, env: claudeEnv(home), timeoutMs: 60_000 });
}

/** The plugin's background Stop hook line, as Claude Code runs it (with sh). */
async function waitHookLine(): Promise<string> {
  const hooks = JSON.parse(await readFile(join(PLUGIN, 'hooks/hooks.json'), 'utf8')) as { hooks: { Stop: { hooks: { asyncRewake?: boolean; command: string }[] }[] } };
  const line = hooks.hooks.Stop[0]?.hooks.find((h) => h.asyncRewake === true)?.command;
  if (line === undefined) throw new Error('hooks.json has no asyncRewake Stop hook');
  return line;
}

/** A folder holding an executable `gitbus` with this shell script's body, to put first on PATH. */
async function fakeGitbus(body: string): Promise<string> {
  const bin = await temp('gitbus-cc-fake-');
  await writeFile(join(bin, 'gitbus'), `#!/bin/sh\n${body}\n`);
  await chmod(join(bin, 'gitbus'), 0o755);
  return bin;
}

/** A recorded hook input with this test's session and folder. */
async function hookInput(event: 'SessionStart' | 'UserPromptSubmit' | 'Stop', session: string, over: Record<string, unknown> = {}): Promise<string> {
  const recorded = JSON.parse(await readFile(join(FIXTURES, `${event}.json`), 'utf8')) as Record<string, unknown>;
  return JSON.stringify({ ...recorded, session_id: session, cwd: neutralCwd(), ...over });
}

interface HookOutput {
  systemMessage?: string;
  hookSpecificOutput?: { hookEventName: string; additionalContext?: string };
}

function hookOut(r: RunResult): HookOutput | null {
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim() === '' ? null : (JSON.parse(r.stdout) as HookOutput);
}

describe('the plugin passes the real claude plugin validate', () => {
  it('validates claude-plugin/ (plugin and marketplace manifests, commands, hooks, MCP server) with --strict', async () => {
    const home = await temp('gitbus-cc-validate-');
    const r = await validate(PLUGIN, home);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('Validation passed');
    for (const what of ['commands: gitbus:dispatch', 'commands: gitbus:status', 'commands: gitbus:collect', 'commands: gitbus:fanout', 'UserPromptSubmit command "gitbus hook claude user-prompt-submit || exit 1"', 'Stop command "gitbus hook claude wait --wake-exit 75;', 'mcpServers: gitbus stdio gitbus ["mcp"]']) {
      expect(r.stdout).toContain(what);
    }
    const hooks = JSON.parse(await readFile(join(PLUGIN, 'hooks/hooks.json'), 'utf8')) as { hooks: { Stop: { hooks: { asyncRewake?: boolean; command: string }[] }[] } };
    expect(hooks.hooks.Stop[0]?.hooks.find((h) => h.command.startsWith('gitbus hook claude wait '))?.asyncRewake).toBe(true);
    // Each command may run without asking only the gitbus commands it needs: what it reads was written on other
    // machines, and must not get `gitbus run`, `cancel` or `leave` run unasked.
    for (const cmd of await readdir(join(PLUGIN, 'commands'))) {
      const line = /^allowed-tools: (.*)$/m.exec(await readFile(join(PLUGIN, 'commands', cmd), 'utf8'))?.[1] ?? '';
      const tools = line.split(', ');
      expect(tools.length, cmd).toBeGreaterThan(0);
      for (const t of tools) expect(t, cmd).toMatch(/^Bash\(gitbus (collect|collect --peek|show|status|logs|dispatch|fanout|group|prime):\*\)$/);
    }
  });

  it('fails a broken copy, so the check above can fail', async () => {
    const home = await temp('gitbus-cc-broken-');
    const badName = join(home, 'bad-name');
    await cp(PLUGIN, badName, { recursive: true });
    const manifest = JSON.parse(await readFile(join(badName, '.claude-plugin/plugin.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(badName, '.claude-plugin/plugin.json'), JSON.stringify({ ...manifest, name: 'Git Bus' }));
    const r1 = await validate(badName, home);
    expect(r1.code).toBe(1);
    expect(r1.stdout + r1.stderr).toContain('Plugin name cannot contain spaces');
    const badHook = join(home, 'bad-hook');
    await cp(PLUGIN, badHook, { recursive: true });
    await writeFile(join(badHook, 'hooks/hooks.json'), (await readFile(join(PLUGIN, 'hooks/hooks.json'), 'utf8')).replace('"UserPromptSubmit"', '"UserPromptSubmitted"'));
    const r2 = await validate(badHook, home);
    expect(r2.code).toBe(1);
    expect(r2.stdout + r2.stderr).toContain('unknown hook event');
  });
});

describe('hear back: the hooks, fed the input Claude Code sends', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let laptop: string;
  let gpu: string;
  const session = '0f5e2d1c-8a7b-4c6d-9e0f-1a2b3c4d5e6f';
  let early: string;
  let late: string;

  const hook = async (event: string, input: string) => gitbus(['hook', 'claude', event], { home: laptop, input });
  /**
   * The worker's side: claim and respond, as a watcher or a person on gpu-box would, in the test's process
   * (test/helpers/in-process.ts): these tests are about what the laptop's hooks hear of it.
   */
  const finish = async (id: string, status: 'succeeded' | 'failed', summary: string) => claimAndRespond(gpu, id, { status, summary });

  afterAll(async () => bus?.cleanup());
  beforeAll(async () => {
    // The waiter lists the remote at each poll (5 s at least) besides waking on file events, which a loaded machine
    // may deliver late or not at all (its inotify instances taken by other processes): within the waits below.
    bus = await makeBus({ node: 'laptop', initArgs: ['--poll', '5s'] });
    laptop = bus.home('laptop');
    gpu = await bus.addNode('gpu-box', ['gpu']);
    // As Claude Code's Bash tool runs it: the session's id in the environment.
    const d = async (title: string) => json<{ id: string }>(await gitbus(['dispatch', title, '--label', 'gpu', '--no-git', '--json'], { home: laptop, env: { CLAUDE_CODE_SESSION_ID: session, CLAUDE_PID: String(process.pid) } })).id;
    early = await d('Run the GPU validation suite');
    late = await d('Profile the renderer');
  });

  it('Stop while the tasks run: a line for the person, nothing that holds the stop', async () => {
    const out = hookOut(await hook('stop', await hookInput('Stop', session)));
    expect(out?.hookSpecificOutput).toBeUndefined();
    expect(out?.systemMessage).toContain(`${early} "Run the GPU validation suite" (pending)`);
    expect(out?.systemMessage).toContain('You will hear when they end');
  });

  it.skipIf(!seesSyscalls)('Stop whose input arrives a moment after the hook started (Claude Code may write it late): read all the same', async () => {
    const input = await hookInput('Stop', session);
    const child = spawn(process.execPath, [BIN, 'hook', 'claude', 'stop'], { cwd: neutralCwd(), env: { ...process.env, GITBUS_HOME: laptop, XDG_CACHE_HOME: TEST_CACHE_HOME }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    // Nothing is written until the hook has started and reads its stdin, as Linux shows it: a hook that made fd 0
    // non-blocking and then read it synchronously lost the input (its read threw EAGAIN, and it exited first).
    let exited = false;
    void closed.then(() => (exited = true));
    await until('the hook to wait reading its stdin', () => exited || readingStdin(child.pid ?? 0), 30_000);
    child.stdin.end(input);
    expect(await closed).toBe(0);
    expect(hookOut({ code: 0, stdout, stderr: '' })?.systemMessage).toContain(`${early} "Run the GPU validation suite" (pending)`);
  });

  it('UserPromptSubmit after a response arrived: the task, its status, summary and gitbus show ID; then nothing new', async () => {
    await finish(early, 'succeeded', 'all 42 GPU tests pass');
    // A huge pasted prompt: the hook reads the first 1 MiB only, which is no longer one JSON document.
    const pasted = `${'a log line of the pasted build output\n'.repeat(40_000)}`;
    expect(pasted.length).toBeGreaterThan(1024 * 1024);
    const out = hookOut(await hook('user-prompt-submit', await hookInput('UserPromptSubmit', session, { prompt: pasted })));
    expect(out?.hookSpecificOutput?.hookEventName).toBe('UserPromptSubmit');
    const ctx = out?.hookSpecificOutput?.additionalContext ?? '';
    expect(ctx).toContain(`- ${early} "Run the GPU validation suite": succeeded on gpu-box`);
    expect(ctx).toContain('Summary: all 42 GPU tests pass');
    expect(ctx).toContain(`Read more: gitbus show ${early}`);
    expect(ctx).toContain(`Still waiting for: ${late} "Profile the renderer" (pending)`);
    expect(out?.systemMessage).toContain(`${early} succeeded on gpu-box`);
    expect(hookOut(await hook('user-prompt-submit', await hookInput('UserPromptSubmit', session)))).toBeNull();
    // Nothing to say prints nothing, as Claude Code expects; under --json, a document all the same.
    const quiet = await gitbus(['hook', 'claude', 'user-prompt-submit', '--json'], { home: laptop, input: await hookInput('UserPromptSubmit', session) });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(JSON.parse(quiet.stdout)).toEqual({});
  });

  it('Stop after a response: once as Stop context, never while a Stop hook already holds the session; another session hears nothing', async () => {
    await finish(late, 'failed', 'renderer crashed at frame 12');
    const held = hookOut(await hook('stop', await hookInput('Stop', session, { stop_hook_active: true })));
    expect(held?.hookSpecificOutput).toBeUndefined();
    expect(held?.systemMessage).toContain(`${late} failed on gpu-box`);
    expect(hookOut(await hook('stop', await hookInput('Stop', 'a1b2c3d4-0000-4000-8000-000000000000')))).toBeNull();
    // A field of a type gitbus does not expect is left out, not the whole input.
    const out = hookOut(await hook('stop', await hookInput('Stop', session, { source: 5 })));
    expect(out?.hookSpecificOutput).toEqual({ hookEventName: 'Stop', additionalContext: expect.stringContaining(`- ${late} "Profile the renderer": failed on gpu-box`) });
    expect(out?.hookSpecificOutput?.additionalContext).toContain(`gitbus show ${late}`);
    expect(hookOut(await hook('stop', await hookInput('Stop', session)))).toBeNull();
  });

  it('the asyncRewake waiter sleeps until a task ends, then exits 2 with the news; one waiter per session', async () => {
    const id = json<{ id: string }>(await gitbus(['dispatch', 'Bake the lightmaps', '--to', 'gpu-box', '--no-git', '--json'], { home: laptop, env: { CLAUDE_CODE_SESSION_ID: session } })).id;
    const input = await hookInput('Stop', session);
    // The plugin's own hook line, run as Claude Code runs it: its exit code and stderr are what wake the session.
    const bin = await fakeGitbus(`exec "${process.execPath}" "${CLI}" "$@"`);
    const child = spawn('sh', ['-c', await waitHookLine()], { cwd: neutralCwd(), env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}`, GITBUS_HOME: laptop, GITBUS_CLAUDE_WAIT: '2m', CLAUDE_CODE_SESSION_ATTENDED: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
    child.stdin.end(input);
    await until('the waiter to take its mark', () => existsSync(join(laptop, 'claude/sessions', `${session}.waiter`)), 20_000);
    const second = await gitbus(['hook', 'claude', 'wait'], { home: laptop, input, env: { CLAUDE_CODE_SESSION_ATTENDED: '1' } });
    expect(second.code, 'a second waiter of the session leaves at once').toBe(0);
    let code: number | null = null;
    void exited.then((c) => (code = c));
    await finish(id, 'succeeded', 'lightmaps baked');
    await until('the waiter to wake', () => code !== null, 20_000, () => stderr);
    expect(code).toBe(2);
    expect(stderr).toContain(`- ${id} "Bake the lightmaps": succeeded on gpu-box`);
    expect(stderr).toContain(`gitbus show ${id}`);
    expect(hookOut(await hook('user-prompt-submit', await hookInput('UserPromptSubmit', session))), 'told once').toBeNull();
    const idle = await gitbus(['hook', 'claude', 'wait'], { home: laptop, input, env: { CLAUDE_CODE_SESSION_ATTENDED: '1' }, timeoutMs: 10_000 });
    expect(idle.code, 'nothing left to wait for').toBe(0);
  });

  it('the plugin\'s background hook line wakes nobody when gitbus is too old to know "wait" (a usage error, exit 2); other failures still show', async () => {
    const line = await waitHookLine();
    const run = async (body: string) => spawnBounded('sh', ['-c', line], { cwd: neutralCwd(), env: { ...process.env, PATH: `${await fakeGitbus(body)}:${process.env['PATH'] ?? ''}` }, input: await hookInput('Stop', session), timeoutMs: 20_000 });
    const old = await run(`echo "error: command-argument value 'wait' is invalid for argument 'event'. Allowed choices are session-start, user-prompt-submit, stop." >&2; exit 2`);
    expect(old.code, 'a usage error is not a wake').toBe(0);
    expect((await run(`echo "error: unknown option '--wake-exit'" >&2; exit 2`)).code).toBe(0);
    expect((await run('echo "gitbus hook claude wait: no bus here" >&2; exit 1')).code, 'a failure is shown, never blocking').toBe(1);
    expect((await run('exit 0')).code).toBe(0);
    const wake = await run('echo "- t1 ended" >&2; exit 75');
    expect([wake.code, wake.stderr]).toEqual([2, '- t1 ended\n']);
  });

  it('after /clear (a new session id in the same Claude process) SessionStart carries the tasks over; the waiter ends with that process, and does not wait under claude -p', async () => {
    const claudeProc = spawn('sleep', ['60'], { stdio: 'ignore' });
    const pid = String(claudeProc.pid);
    const old = 'c1c1c1c1-0000-4000-8000-000000000001';
    const fresh = 'c2c2c2c2-0000-4000-8000-000000000002';
    const id = json<{ id: string }>(await gitbus(['dispatch', 'Sweep the caches', '--to', 'gpu-box', '--no-git', '--json'], { home: laptop, env: { CLAUDE_CODE_SESSION_ID: old, CLAUDE_PID: pid } })).id;
    const start = await gitbus(['hook', 'claude', 'session-start'], { home: laptop, env: { CLAUDE_PID: pid }, input: await hookInput('SessionStart', fresh, { source: 'clear' }) });
    const ctx = hookOut(start)?.hookSpecificOutput?.additionalContext ?? '';
    expect(ctx).toContain(`this session is waiting for a task it dispatched: ${id} "Sweep the caches" (pending)`);
    expect(ctx).toContain('this machine is node "laptop"');
    // Under claude -p (nobody attends) Claude Code would run the waiter in the foreground: it leaves at once.
    const headless = await gitbus(['hook', 'claude', 'wait'], { home: laptop, env: { CLAUDE_PID: pid, CLAUDE_CODE_SESSION_ATTENDED: '0' }, input: await hookInput('Stop', fresh), timeoutMs: 10_000 });
    expect(headless.code).toBe(0);
    const waiter = spawn(process.execPath, [CLI, 'hook', 'claude', 'wait'], { cwd: neutralCwd(), env: { ...process.env, GITBUS_HOME: laptop, CLAUDE_PID: pid, CLAUDE_CODE_SESSION_ATTENDED: '1' }, stdio: ['pipe', 'ignore', 'ignore'] });
    let code: number | null = null;
    waiter.on('close', (c) => (code = c ?? -1));
    waiter.stdin.end(await hookInput('Stop', fresh));
    await until('the waiter to take its mark', () => existsSync(join(laptop, 'claude/sessions', `${fresh}.waiter`)), 20_000);
    claudeProc.kill('SIGKILL');
    await until('the waiter to leave with the Claude process', () => code !== null, 20_000);
    expect(code).toBe(0);
    expect(existsSync(join(laptop, 'claude/sessions', `${fresh}.waiter`))).toBe(false);
    expect((await gitbus(['cancel', id], { home: laptop })).code).toBe(0);
  });

  it('gitbus collect: the session\'s results since last time, and per node outside a session', async () => {
    const none = json<{ scope: string; ended: unknown[] }>(await gitbus(['collect', '--json'], { home: laptop, env: { CLAUDE_CODE_SESSION_ID: session } }));
    expect(none).toMatchObject({ scope: 'session', ended: [] });
    const all = json<{ ended: { id: string; state: string; summary: string }[] }>(await gitbus(['collect', '--all', '--peek', '--json'], { home: laptop, env: { CLAUDE_CODE_SESSION_ID: session } }));
    expect(all.ended.map((f) => [f.id, f.state])).toEqual(expect.arrayContaining([[early, 'succeeded'], [late, 'failed']]));
    const node = await gitbus(['collect', '--node'], { home: laptop });
    expect(node.code, node.stderr).toBe(0);
    expect(node.stdout).toContain(`${late}  failed  gpu-box`);
    expect(node.stdout).toContain('renderer crashed at frame 12');
    expect((await gitbus(['collect', '--node'], { home: laptop })).stdout).toContain('nothing new');
  });

  it("SessionStart gives the rules unless a CLAUDE.md Claude Code loads holds the block: the project's, from a subfolder too; a mere mention is no block", async () => {
    const config = await temp('gitbus-cc-config-');
    const project = await temp('gitbus-cc-rules-');
    const sub = join(project, 'src', 'deep');
    await mkdir(sub, { recursive: true });
    const setup = await gitbus(['setup', 'claude', '--project'], { cwd: project, home: laptop, env: { CLAUDE_CONFIG_DIR: config } });
    expect(setup.code, setup.stderr).toBe(0);
    const rulesIn = async (cwd: string) => {
      const out = hookOut(await gitbus(['hook', 'claude', 'session-start'], { home: laptop, env: { CLAUDE_CONFIG_DIR: config }, input: await hookInput('SessionStart', 'c3c3c3c3-0000-4000-8000-000000000003', { cwd }) }));
      return (out?.hookSpecificOutput?.additionalContext ?? '').includes('Rules:');
    };
    expect(await rulesIn(project)).toBe(false);
    // Claude Code reads the CLAUDE.md of every folder above the session's: the project's block is loaded there too.
    expect(await rulesIn(sub)).toBe(false);
    // A CLAUDE.md that only writes about the marker holds no block, nor does one whose block lost its end marker.
    await writeFile(join(project, 'CLAUDE.md'), 'Notes: setup writes `<!-- gitbus:begin v0.1.0 -->` blocks.\n');
    expect(await rulesIn(sub)).toBe(true);
    await writeFile(join(project, 'CLAUDE.md'), '<!-- gitbus:begin v0.1.0 -->\nhalf a block\n');
    expect(await rulesIn(project)).toBe(true);
  });

  it('SessionStart reads only a CLAUDE.md that is a regular file, and at most its first MiB: a link to /dev/zero or a FIFO neither ends nor hangs it', async () => {
    const config = await temp('gitbus-cc-config-');
    const project = await temp('gitbus-cc-odd-md-');
    const sub = join(project, 'fifo', 'zero');
    await mkdir(sub, { recursive: true });
    expect((await gitbus(['setup', 'claude', '--project'], { cwd: project, home: laptop, env: { CLAUDE_CONFIG_DIR: config } })).code).toBe(0);
    // Git stores links, so a cloned repo can carry these.
    await symlink('/dev/zero', join(sub, 'CLAUDE.md'));
    execFileSync('mkfifo', [join(project, 'fifo', 'CLAUDE.md')]);
    const start = await gitbus(['hook', 'claude', 'session-start'], { process: true, timeoutMs: 20_000, home: laptop, env: { CLAUDE_CONFIG_DIR: config }, input: await hookInput('SessionStart', 'c4c4c4c4-0000-4000-8000-000000000004', { cwd: sub }) });
    expect(start.code, start.stderr).toBe(0);
    // The project's block, above both, is still found: the rules are not repeated.
    expect(hookOut(start)?.hookSpecificOutput?.additionalContext ?? '').not.toContain('Rules:');
  });

  it('gitbus prime prints the guide with this node and the others; --brief the CLAUDE.md rules', async () => {
    const r = await gitbus(['prime'], { home: laptop });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('this machine is node "laptop"');
    expect(r.stdout).toContain('gpu-box (labels gpu');
    expect(r.stdout).toContain('## When you hand work to another machine (controller)');
    expect(r.stdout).toContain('## When you run inside a task (worker)');
    const brief = await gitbus(['prime', '--brief'], { home: laptop, env: { GITBUS_TASK_ID: early } });
    expect(brief.stdout).toContain(`you run inside gitbus task ${early}`);
    expect(brief.stdout).not.toContain('## When you hand work');
  });

  it('real Claude Code loads the plugin from the settings setup writes, and its SessionStart hook tells the session', async () => {
    const home = await temp('gitbus-cc-user-');
    const bin = await temp('gitbus-cc-bin2-');
    await writeFile(join(bin, 'gitbus'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    await chmod(join(bin, 'gitbus'), 0o755);
    const env = claudeEnv(home, { PATH: `${bin}:${process.env['PATH'] ?? ''}`, GITBUS_HOME: laptop });
    const setup = await spawnBounded(process.execPath, [CLI, 'setup', 'claude', '--user', '--json'], { cwd: home, env, timeoutMs: 30_000 });
    expect(setup.code, setup.stderr).toBe(0);
    const s2 = '7d3f9a2b-1c4e-4f5a-8b6c-9d0e1f2a3b4c';
    const id = json<{ id: string }>(await gitbus(['dispatch', 'Render the trailer', '--to', 'gpu-box', '--no-git', '--json'], { home: laptop, env: { CLAUDE_CODE_SESSION_ID: s2 } })).id;
    await finish(id, 'succeeded', 'trailer.mp4 rendered');
    // Without a login the turn ends before the API is asked, after SessionStart and UserPromptSubmit hooks ran.
    const run = await spawnBounded(CLAUDE, ['-p', 'what came back?', '--session-id', s2], { cwd: home, env, timeoutMs: 60_000 });
    expect(run.stdout + run.stderr).toMatch(/Not logged in|login/i);
    const projects = join(home, '.claude/projects');
    const dirs = await readdir(projects);
    const transcript = (await Promise.all(dirs.map(async (d) => (existsSync(join(projects, d, `${s2}.jsonl`)) ? readFile(join(projects, d, `${s2}.jsonl`), 'utf8') : '')))).join('');
    const attachments = transcript.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { attachment?: { type: string; hookEvent?: string; content?: unknown; command?: string; stderr?: string } }).attachment).filter((a) => a !== undefined);
    const context = attachments.find((a) => a.type === 'hook_additional_context' && a.hookEvent === 'SessionStart');
    expect(context, JSON.stringify(attachments.map((a) => a.type))).toBeDefined();
    const text = JSON.stringify(context?.content);
    expect(text).toContain('this machine is node \\"laptop\\"');
    expect(text).toContain(`${id} \\"Render the trailer\\": succeeded on gpu-box`);
    expect(text).toContain(`gitbus show ${id}`);
    // No hook of the plugin failed (a missing gitbus, a bad exit code would be recorded as an error).
    expect(attachments.filter((a) => /error/.test(a.type) && a.command?.startsWith('gitbus ')).map((a) => `${a.command}: ${a.stderr}`)).toEqual([]);
    expect(transcript).toContain('gitbus hook claude session-start');
  });
});
