import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync, renameSync } from 'node:fs';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { CLI, gitCli, gitbus, neutralCwd, spawnBounded, tempDir } from '../helpers/cli.js';
import { makeProject } from '../helpers/project.js';
import { until } from '../helpers/wait.js';
import { MCP_SESSION as SESSION, mcpServerEnv as serverEnv } from '../helpers/mcp-server.js';
import { mcpSession, type Json } from '../helpers/mcp-session.js';

/**
 * `gitbus mcp` driven by the MCP SDK's own client over stdio, as Claude Code drives it (test/helpers/mcp-session.ts):
 * the tools, waits with progress, errors, a closed input and SIGTERM, a queued dispatch; node beta runs a watcher.
 * What bus files anyone with push access wrote come back as: test/e2e/mcp-bus-content.test.ts.
 */
const { bus, client, serverLog, children, cleanups, protocolErrors, wire, call, ok, errorText, writtenBeforeItsAnswer } = mcpSession({ watcher: true });

describe('gitbus mcp over stdio, with the MCP SDK client', () => {
  it('lists its tools, each with typed input and output schemas', async () => {
    const { tools } = await client().listTools();
    expect(tools.map((t) => t.name)).toEqual(['dispatch', 'status', 'show', 'wait', 'logs', 'claim_next', 'respond']);
    for (const t of tools) {
      expect(t.description, t.name).toBeTruthy();
      expect(t.inputSchema.type, t.name).toBe('object');
      expect(t.outputSchema?.type, t.name).toBe('object');
      // Arguments are closed: a misspelt one is refused, not ignored.
      expect((t.inputSchema as Json)['additionalProperties'], t.name).toBe(false);
    }
    const dispatch = tools.find((t) => t.name === 'dispatch');
    // Fields of the handoff schema, with its rules as JSON Schema.
    expect(dispatch?.inputSchema.required).toEqual(['title']);
    expect(dispatch?.inputSchema.properties?.['to']).toMatchObject({ type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,39}$' });
    expect(dispatch?.inputSchema.properties?.['runner']).toMatchObject({ enum: ['shell', 'tmux', 'claude', 'icecc', 'merge', 'manual'] });
    expect(dispatch?.inputSchema.properties).toHaveProperty('claude.properties.maxBudgetUsd');
    expect(dispatch?.inputSchema.properties).toHaveProperty('cwd');
    expect(tools.find((t) => t.name === 'wait')?.outputSchema?.properties).toHaveProperty('ended');
    // The interval this server reports at (mcp-long-wait.test.ts: one set in its environment).
    expect(tools.find((t) => t.name === 'wait')?.description).toContain('after each 15s without news where the task stands');
    expect(tools.find((t) => t.name === 'status')?.annotations?.readOnlyHint).toBe(true);
  });

  it('dispatch, a watcher on another node runs it, wait (with progress) returns the response, show gives the state and response', async () => {
    const d = await ok<{ id: string; warnings: string[] }>('dispatch', { title: 'say hello', command: 'echo hello from beta; sleep 1; echo done', to: 'beta' });
    expect(d.id).toMatch(/^[a-z0-9]/);
    expect(d.warnings).toEqual([]);
    expect(readFileSync(join(bus().home('alpha'), 'claude', 'sessions', `${SESSION}.json`), 'utf8')).toContain(d.id);

    const progress: Progress[] = [];
    const w = await ok<Json>('wait', { id: d.id, timeout: '40s' }, (p) => progress.push(p));
    expect(w).toMatchObject({ id: d.id, ended: true, state: 'succeeded', node: 'beta', attempt: 1, source: 'response' });
    expect(w['output']).toContain('hello from beta');
    expect(w['response']).toMatchObject({ fields: { id: d.id, status: 'succeeded', node: 'beta', exitCode: 0 } });
    // Progress as `dispatch --wait` shows it: the state when the wait began, and the end, all of it written before
    // the answer (read on the wire: the SDK client may drop reports that arrive together with the answer).
    const token = wire.find((m) => m.method === 'notifications/progress' && m.params?.message?.startsWith(`${d.id}: `))?.params?.progressToken;
    const answerAt = wire.findIndex((m) => m.id === token && m.method === undefined);
    const reports = wire.filter((m, i) => m.method === 'notifications/progress' && m.params?.progressToken === token && i < answerAt).map((m) => m.params?.message ?? '');
    expect(answerAt).toBeGreaterThan(0);
    expect(wire.slice(answerAt).some((m) => m.method === 'notifications/progress' && m.params?.progressToken === token)).toBe(false);
    expect(reports[0]).toMatch(new RegExp(`^${d.id}: (pending|claimed on beta)`));
    expect(reports).toContain(`${d.id}: succeeded on beta (attempt 1)`);
    // What the client's handler did receive is in order.
    expect(progress.map((p) => p.progress)).toEqual([...progress.map((p) => p.progress)].sort((a, b) => a - b));

    const s = await ok<Json>('show', { id: d.id.slice(-6) });
    expect(s).toMatchObject({ id: d.id, state: 'succeeded', archived: null, summary: { state: 'succeeded', to: 'beta', runner: 'shell' } });
    expect(s['handoff']).toMatchObject({ fields: { title: 'say hello', to: 'beta', command: 'echo hello from beta; sleep 1; echo done', from: 'alpha' } });
    expect((s['handoff'] as { body: string }).body).toContain('say hello');
    expect(s['response']).toMatchObject({ fields: { status: 'succeeded', node: 'beta' } });
    expect(s['files']).toEqual([expect.objectContaining({ path: `claims/${d.id}.1.md` })]);

    const logs = await ok<Json>('logs', { id: d.id });
    expect(logs).toMatchObject({ id: d.id, source: 'response', truncated: false });
    expect(logs['text']).toContain('hello from beta');
    expect((await ok<Json>('logs', { id: d.id, maxChars: 5 }))['truncated']).toBe(true);

    const status = await ok<{ node: string; nodes: { node: string; liveness: string }[]; tasks: { id: string; state: string }[]; counts: Json }>('status', {});
    expect(status.node).toBe('alpha');
    expect(status.nodes).toEqual(expect.arrayContaining([expect.objectContaining({ node: 'beta', liveness: 'alive' }), expect.objectContaining({ node: 'alpha' })]));
    expect(status.tasks).toContainEqual(expect.objectContaining({ id: d.id, state: 'succeeded' }));
    expect((await ok<{ tasks: unknown[]; more: number }>('status', { states: ['pending'] })).tasks).toEqual([]);
  });

  it('a wait that runs out returns ended: false with the state', async () => {
    const d = await ok<{ id: string }>('dispatch', { title: 'nobody takes this', to: 'alpha', runner: 'manual', labels: ['nobody-has-this'], force: true });
    const w = await ok<Json>('wait', { id: d.id, timeout: '0s' });
    expect(w).toMatchObject({ id: d.id, ended: false, state: 'pending', response: null, summary: null, source: 'none' });
  });

  it('claim_next and respond: an agent works a manual task as a worker of its node', async () => {
    const d = await ok<{ id: string }>('dispatch', { title: 'review the notes', body: 'Read NOTES.md and list what is missing.', to: 'alpha' });
    const c = await ok<Json>('claim_next', {});
    expect(c).toMatchObject({ claimed: true, id: d.id, attempt: 1, node: 'alpha', title: 'review the notes', handoff: { to: 'alpha' } });
    expect(c['body']).toContain('Read NOTES.md and list what is missing.');
    expect(await ok('claim_next', {})).toMatchObject({ claimed: false, message: expect.stringContaining('nothing') });

    const r = await ok<Json>('respond', { id: d.id, status: 'succeeded', summary: 'two sections are missing', results: '- install\n- upgrade' });
    expect(r).toEqual({ id: d.id, status: 'succeeded', path: `responses/${d.id}.md` });
    const w = await ok<Json>('wait', { id: d.id, timeout: '5s' });
    expect(w).toMatchObject({ ended: true, state: 'succeeded', node: 'alpha', summary: 'two sections are missing' });
    expect((w['response'] as { body: string }).body).toContain('- upgrade');
  });

  it('wait says the output is only its end when the response kept only the end of a longer log, with where all of it is', async () => {
    // 200 KB of output: the response keeps its last 64 KiB, and says how long the log is and where.
    const d = await ok<{ id: string }>('dispatch', { title: 'a long log', command: 'head -c 150000 /dev/zero | tr "\\0" "x" | fold -w 100', to: 'beta' });
    const w = await ok<Json>('wait', { id: d.id, timeout: '40s', maxChars: 1_000_000 });
    expect(w).toMatchObject({ ended: true, state: 'succeeded', source: 'response', outputTruncated: true, fullLogPath: expect.stringContaining(d.id) });
    expect((w['output'] as string).length).toBeLessThan(100_000);
  });

  it('respond says which sections were longer than a response holds, and what was kept of each', async () => {
    const d = await ok<{ id: string }>('dispatch', { title: 'a long report', to: 'alpha' });
    expect(await ok('claim_next', {})).toMatchObject({ claimed: true, id: d.id });
    const r = await ok<{ warnings?: string[] }>('respond', { id: d.id, status: 'failed', summary: 's'.repeat(20_000), results: 'r'.repeat(1_000), reason: 'why '.repeat(1_250) });
    expect(r.warnings).toEqual([
      "summary is 20000 bytes; its first 16384 were kept (a response's summary holds 16 KiB): put the rest in results",
      "reason is 5000 bytes; its first 4096 were kept (a response's reason holds 4 KiB): put the rest in results",
    ]);
  });

  it('project work from a checkout given as cwd: repo, base and branch as `gitbus dispatch` run there takes them', async () => {
    const dir = await tempDir('gitbus-mcp-project-');
    cleanups.push(dir.cleanup);
    const p = makeProject(dir.path);
    const d = await ok<{ id: string; project: Json }>('dispatch', { title: 'fix the readme', runner: 'manual', to: 'alpha', cwd: p.checkout });
    expect(d.project).toEqual({ repo: p.remote, base: 'main', baseCommit: p.main(), branch: `gitbus/${d.id}` });
    const s = await ok<Json>('show', { id: d.id });
    expect(s['branch']).toMatchObject({ repo: p.remote, branch: `gitbus/${d.id}`, pushed: null });
    expect((s['handoff'] as { body: string }).body).toContain('## Git state');
    // A base a branch and a tag share: the warning names the tool's argument, not `gitbus dispatch`'s flag.
    gitCli(['tag', 'main'], p.checkout);
    gitCli(['push', '-q', 'origin', 'refs/tags/main'], p.checkout);
    const twin = await ok<{ warnings: string[] }>('dispatch', { title: 'from the branch', runner: 'manual', to: 'alpha', repo: p.remote, base: 'main' });
    expect(twin.warnings).toEqual([expect.stringMatching(/^base main names a branch \(refs\/heads\/main, [0-9a-f]{12}\) and a tag: the branch is used, never the tag of the same name; give base refs\/tags\/main for the tag$/)]);
    expect(twin.warnings.join('\n')).not.toContain('--base');
    expect(errorText(await call('dispatch', { title: 'x', cwd: join(dir.path, 'missing') }))).toMatch(/^BAD_INPUT: cwd: .*missing is not a directory\nfix: /);
    // A cwd that is a directory but no checkout: a plain task, as `gitbus dispatch` run there makes, and the result says so.
    const plain = await ok<Json>('dispatch', { title: 'plain', to: 'beta', command: 'true', cwd: dir.path });
    expect(plain['project']).toBeUndefined();
    expect(plain['notes']).toEqual([`not project work: cwd ${dir.path} is not inside a git checkout, so the task is a plain one (give cwd a checkout of the project, or repo and base)`]);
    // base without a project: the error names the arguments that give one, not a directory to run a command in.
    const noProject = errorText(await call('dispatch', { title: 'x', base: 'main' }));
    expect(noProject).toBe('BAD_INPUT: base needs project work, and no cwd names a checkout of the project\nfix: give cwd (a directory inside a checkout of the project, one with a remote), or name the project with repo (a URL or path)');
    const notCheckout = errorText(await call('dispatch', { title: 'x', base: 'main', cwd: dir.path }));
    expect(notCheckout).toBe(`BAD_INPUT: base needs project work, and cwd ${dir.path} is not inside a git checkout\nfix: give cwd (a directory inside a checkout of the project, one with a remote), or name the project with repo (a URL or path)`);
  });

  it('a GitbusError and bad arguments come back as tool errors with the fix, and the server keeps serving', async () => {
    const unknown = errorText(await call('show', { id: 'no-such-task' }));
    expect(unknown).toContain('UNKNOWN_TASK: no task "no-such-task" on this bus');
    expect(unknown).toMatch(/\nfix: list tasks with/);

    const bad = await call('dispatch', { title: 'x', to: 'Bad Name', priority: 'high', runnr: 'shell' });
    const text = errorText(bad);
    expect(text).toMatch(/^BAD_INPUT: invalid arguments for dispatch:/);
    expect(text).toContain('- runnr: unknown argument "runnr" (fix: did you mean "runner"?)');
    // Forced onto a node that cannot run it: one warning that says why, not a second about its runner.
    const forced = await ok<{ warnings: string[] }>('dispatch', { title: 'forced', to: 'alpha', runner: 'shell', command: 'true', force: true });
    expect(forced.warnings).toEqual(['node alpha cannot run this task: it does not offer the shell runner (its runners: manual); the task waits until it can']);
    // A bus error that names a CLI command to look at a task names the show tool instead.
    const waiting = await ok<{ id: string }>('dispatch', { title: 'waits for a person', runner: 'manual', labels: ['nobody-has-this'], force: true });
    expect(errorText(await call('dispatch', { title: 'go on', resume: waiting.id }))).toBe(`NEVER_RAN: task ${waiting.id} never ran (it is pending), so there is no session to resume\nfix: wait until it has run (the show tool), or dispatch a new task`);
    // The words the README and the tool's description use for claude's settings lead to the argument's name.
    expect(errorText(await call('dispatch', { title: 'x', runner: 'claude', claude: { budget: 5 } }))).toMatch(/claude\.budget: unknown argument[^]*did you mean "maxBudgetUsd"\?/);
    expect(text).toContain('- to: expected a node name');
    expect(text).toContain('got the text "Bad Name"');
    expect(text).toContain('- priority: expected a whole number from -1000 to 1000, got the text "high"');
    expect(text).toContain('\nfix: ');
    expect((bad._meta?.['gitbus/error'] as Json)['code']).toBe('BAD_INPUT');

    // A rule of the handoff across fields, named by the argument.
    expect(errorText(await call('dispatch', { title: 'x', runner: 'shell' }))).toMatch(/^BAD_INPUT: command: the shell runner needs a command[^]*\nfix: add "command/);
    expect(errorText(await call('wait', { id: 'x', timeout: '5 minutes' }))).toContain('fix: write a duration');
    // A number for a duration: the fix is a value the argument takes ("30" would be refused in turn), and it is.
    expect(errorText(await call('wait', { id: 'x', timeout: 30 }))).toMatch(/^BAD_INPUT: invalid arguments for wait: timeout: expected a duration[^]*got the number 30\nfix: give it as a JSON string, for example "timeout": "30s"$/);
    expect(errorText(await call('wait', { id: 'x', timeout: '30s' }))).toMatch(/^UNKNOWN_TASK: /);
    expect(errorText(await call('respond', { id: 'no-such-task', status: 'done' }))).toMatch(/^BAD_INPUT: invalid arguments for respond: status: expected one of succeeded, failed, cancelled, timed-out, got the text "done"\nfix: use one of/);
    await expect(client().callTool({ name: 'no_such_tool', arguments: {} })).rejects.toThrow(/no tool "no_such_tool"/);

    // The whole handoff too large is no one argument's problem (it was blamed on body); flags are arguments.
    const tooLarge = errorText(await call('dispatch', { title: 'x', runner: 'manual', labels: Array.from({ length: 30_000 }, (_, i) => `label-number-${i}`) }));
    expect(tooLarge).toMatch(/^BAD_INPUT: the task is too large: its handoff would be \d+ bytes, more than the limit of 262144 \(256 KiB\)\nfix: shorten body, context, instructions, after or labels/);
    expect(errorText(await call('dispatch', { title: 'x', to: 'no-such-node' }))).toMatch(/^UNKNOWN_NODE: [^]*\nfix: check the name \(the status tool lists the nodes\)[^]*give force: true to dispatch anyway/);
    expect(errorText(await call('status', { limit: -1 }))).toBe('BAD_INPUT: invalid arguments for status: limit: expected a whole number from 0 to 100000, got the number -1\nfix: use a whole number from 0 to 100000');

    expect((await ok<{ node: string }>('status', {})).node).toBe('alpha');
    // No protocol error but the SDK's race above: a report the server wrote before its call's answer.
    expect(protocolErrors.filter((e) => !writtenBeforeItsAnswer(e))).toEqual([]);
  });

  it('a call too long to read (11 MB) is a BAD_INPUT tool error, and the server keeps serving', async () => {
    const r = await call('dispatch', { title: 'huge', body: 'x'.repeat(11 * 1024 * 1024) });
    const text = errorText(r);
    expect(text).toMatch(/^BAD_INPUT: the message is \d+ bytes; gitbus mcp reads messages of at most 4194304 bytes\nfix: a bus file is at most 256 KiB/);
    expect((await ok<{ node: string }>('status', {})).node).toBe('alpha');
    expect(serverLog()).toContain('dropped a message of');
  });

  it('answers the calls under way when the client closes its input (a wait stops waiting), and writes nothing but the protocol on standard output', async () => {
    const d = await ok<{ id: string }>('dispatch', { title: 'waits forever', runner: 'manual', labels: ['nobody-has-this'], force: true });
    const rpc = (id: number | null, method: string, params: Json) => JSON.stringify({ jsonrpc: '2.0', ...(id === null ? {} : { id }), method, params });
    const input = [
      rpc(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } }),
      rpc(null, 'notifications/initialized', {}),
      rpc(2, 'tools/call', { name: 'wait', arguments: { id: d.id, timeout: '1h' } }),
      rpc(3, 'tools/call', { name: 'status', arguments: {} }),
    ];
    const t0 = Date.now();
    const r = await spawnBounded(process.execPath, [CLI, 'mcp'], { cwd: neutralCwd(), env: serverEnv(bus().home('alpha')), input: `${input.join('\n')}\n`, timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const answers = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { jsonrpc: string; id: number; result: { structuredContent?: Json } });
    expect(answers.every((a) => a.jsonrpc === '2.0')).toBe(true);
    expect(answers.map((a) => a.id).sort()).toEqual([1, 2, 3]);
    expect(answers.find((a) => a.id === 2)?.result.structuredContent).toMatchObject({ id: d.id, ended: false, state: 'pending' });
    expect(r.stderr).toContain('gitbus mcp: serving 7 tools');
  });

  it('a call whose arguments are null is served, one whose arguments are a list is a BAD_INPUT tool error, a progress token that is an object is invalid params; the server serves on', async () => {
    const rpc = (id: number | null, method: string, params: Json) => JSON.stringify({ jsonrpc: '2.0', ...(id === null ? {} : { id }), method, params });
    const input = [
      rpc(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } }),
      rpc(null, 'notifications/initialized', {}),
      JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'status', arguments: null } }),
      JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'show', arguments: [] } }),
      JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'status', arguments: {}, _meta: { progressToken: { x: 1 } } } }),
      rpc(5, 'tools/call', { name: 'status', arguments: {} }),
    ];
    const r = await spawnBounded(process.execPath, [CLI, 'mcp'], { cwd: neutralCwd(), env: serverEnv(bus().home('alpha')), input: `${input.join('\n')}\n`, timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    type Answer = { id: number; result?: { isError?: boolean; structuredContent?: Json; content?: { text: string }[] }; error?: { code: number; message: string } };
    const answers = new Map(r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Answer).map((a) => [a.id, a]));
    expect([...answers.keys()].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(answers.get(2)?.result?.structuredContent).toMatchObject({ node: 'alpha' });
    expect(answers.get(3)?.result?.isError).toBe(true);
    expect(answers.get(3)?.result?.content?.[0]?.text).toMatch(/^BAD_INPUT: invalid arguments for show: the arguments are an array, not an object of named arguments\nfix: give arguments as an object/);
    expect(answers.get(4)?.error).toEqual({ code: -32602, message: 'params._meta.progressToken must be a string or a number, not an object' });
    expect(answers.get(5)?.result?.structuredContent).toMatchObject({ node: 'alpha' });
    expect(r.stderr).not.toMatch(/internal error|ZodError/i);
  });

  it('thirty large results at once go out without an event-listener warning on its log', async () => {
    const d = await ok<{ id: string }>('dispatch', { title: 'large', body: 'y'.repeat(200_000), runner: 'manual', labels: ['nobody-has-this'], force: true });
    const shown = await Promise.all(Array.from({ length: 30 }, () => ok<{ id: string }>('show', { id: d.id })));
    expect(shown.every((s) => s.id === d.id)).toBe(true);
    expect(serverLog()).not.toContain('MaxListenersExceededWarning');
  });

  it('ends on SIGTERM while the client still holds its standard input open', async () => {
    const child = spawn(process.execPath, [CLI, 'mcp'], { cwd: neutralCwd(), env: serverEnv(bus().home('alpha')), stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await until('the server to serve', () => err.includes('gitbus mcp: serving'), 30_000, () => err);
    child.kill('SIGTERM');
    // Its standard input stays open (the client did not close it): the signal alone must end it.
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<'running'>((r) => (timer = setTimeout(() => r('running'), 20_000)))]);
    clearTimeout(timer);
    expect(code, err).toBe(0);
  });

  it('a dispatch queued while the remote is away is queued to wait, logs and show (and `gitbus show`), not an unknown task; it goes out when the remote is back', async () => {
    const away = `${bus().remote}.away`;
    renameSync(bus().remote, away);
    let id: string;
    try {
      const d = await ok<{ id: string; queued?: { reason: string } }>('dispatch', { title: 'queued while away', runner: 'manual', labels: ['nobody-has-this'], force: true });
      expect(d.queued).toBeDefined();
      id = d.id;
      const w = await ok<Json>('wait', { id, timeout: '1s' });
      expect(w).toMatchObject({ id, ended: false, state: 'queued', source: 'none', offline: expect.objectContaining({ code: 'REMOTE_NOT_FOUND' }) });
      expect(await ok<Json>('logs', { id: id.slice(-6) })).toMatchObject({ id, state: 'queued', text: '' });
      const s = await ok<Json>('show', { id });
      expect(s).toMatchObject({ id, state: 'queued', archived: null, summary: null, handoff: { fields: { id, title: 'queued while away' } }, files: [] });
      const cli = await gitbus(['show', id], { home: bus().home('alpha') });
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stdout).toContain(`task ${id}: queued`);
      expect(cli.stdout).toContain('title: queued while away');
    } finally {
      renameSync(away, bus().remote);
    }
    // The next call delivers it first.
    expect(await ok<Json>('wait', { id, timeout: '0s' })).toMatchObject({ id, ended: false, state: 'pending', offline: null });
  });
});
