import { describe, it, expect } from 'vitest';
import { ClaudeLogFormatter, claudeHasSpoken, mainArgument, readableClaudeLog, resultLine } from '../../watcher/runners/claude-format.js';
import { claudeSpokeMemo } from '../../watcher/claude-spoke-memo.js';
import { interactiveArgs, statusFacts, transcriptPath } from '../../watcher/runners/claude-interactive.js';

/**
 * The readable view of claude's stream-json, against events shaped as Claude Code 2.1.332 writes them: the
 * init/assistant/result lines are the real CLI's answer without credentials (trimmed of fields the view ignores),
 * the tool events follow its tool_use / tool_result message shapes.
 */
const CWD = '/home/w/work/proj';
const SESSION = 'ebd18658-050a-4c19-807f-8d0a078f1204';
const line = (o: unknown) => `${JSON.stringify(o)}\n`;
const init = line({ type: 'system', subtype: 'init', cwd: CWD, session_id: SESSION, tools: ['Task', 'Bash', 'Edit', 'Read', 'Write'], mcp_servers: [], model: 'claude-opus-5-5', permissionMode: 'acceptEdits', slash_commands: ['review'], apiKeySource: 'none', claude_code_version: '2.1.332', output_style: 'default', uuid: '698d748c-9e70-4049-a340-b65fe402a6f8' });
const assistant = (content: unknown[], id = 'msg_01') =>
  line({ type: 'assistant', message: { id, model: 'claude-opus-5-5', role: 'assistant', stop_reason: 'tool_use', type: 'message', usage: { input_tokens: 12, output_tokens: 40 }, content }, parent_tool_use_id: null, session_id: SESSION, uuid: 'u1' });
const toolResult = (id: string, content: unknown, isError = false) =>
  line({ type: 'user', message: { role: 'user', content: [{ tool_use_id: id, type: 'tool_result', content, ...(isError ? { is_error: true } : {}) }] }, parent_tool_use_id: null, session_id: SESSION, uuid: 'u2', timestamp: '2026-11-30T14:00:17.286Z' });
const result = (fields: Record<string, unknown>) =>
  line({ type: 'result', subtype: 'success', is_error: false, duration_ms: 12_345, duration_api_ms: 9000, num_turns: 3, result: 'All tests pass.', stop_reason: 'end_turn', session_id: SESSION, total_cost_usd: 0.4213, usage: {}, modelUsage: {}, permission_denials: [], terminal_reason: 'completed', uuid: 'u3', ...fields });

const RUN = [
  'gitbus: claude --print --output-format stream-json --verbose < prompt\n',
  init,
  assistant([{ type: 'thinking', thinking: 'hmm', signature: 'x' }, { type: 'text', text: "I'll run the tests first.\nThen fix what fails." }]),
  assistant([{ type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'npm test -- parser', description: 'Run the parser tests' } }], 'msg_02'),
  toolResult('toolu_1', 'Exit code 1\nFAIL test/parser.test.ts\n  expected 2, got 3', true),
  assistant([{ type: 'tool_use', id: 'toolu_2', name: 'Edit', input: { file_path: `${CWD}/src/parser.ts`, old_string: 'a', new_string: 'b' } }], 'msg_03'),
  toolResult('toolu_2', [{ type: 'text', text: 'The file has been updated.' }]),
  'gitbus: progress: parser fixed, running the suite\n',
  assistant([{ type: 'text', text: 'All tests pass.' }], 'msg_04'),
  result({}),
].join('');

describe('the readable view of a claude run', () => {
  it('shows what claude says, each tool call with its main argument, failed tools, and how it ended with turns, cost and time', () => {
    expect(readableClaudeLog(RUN)).toBe(
      [
        'gitbus: claude --print --output-format stream-json --verbose < prompt',
        `claude: session ${SESSION} (model claude-opus-5-5, permission mode acceptEdits)`,
        "claude: I'll run the tests first.",
        '  Then fix what fails.',
        '  → Bash: npm test -- parser',
        '  ✗ Bash: Exit code 1 FAIL test/parser.test.ts expected 2, got 3',
        '  → Edit: src/parser.ts',
        'gitbus: progress: parser fixed, running the suite',
        'claude: All tests pass.',
        'claude: done: 3 turns, $0.4213, 12.3s',
        '',
      ].join('\n'),
    );
  });

  it('gives the same lines however the stream is cut into chunks', () => {
    const whole = readableClaudeLog(RUN);
    for (const size of [1, 7, 100, 4096]) {
      const f = new ClaudeLogFormatter();
      let out = '';
      for (let i = 0; i < RUN.length; i += size) out += f.push(RUN.slice(i, i + size));
      out += f.end();
      expect(out, `chunks of ${size}`).toBe(whole);
    }
  });

  it("the real CLI's answer without credentials reads as a failure with its words", () => {
    const real = [
      init,
      line({ type: 'assistant', message: { id: '8e62c415', model: '<synthetic>', role: 'assistant', stop_reason: 'stop_sequence', type: 'message', usage: {}, content: [{ type: 'text', text: 'Not logged in · Please run /login' }] }, parent_tool_use_id: null, session_id: SESSION, error: 'authentication_failed', is_api_error_message: true }),
      line({ duration_api_ms: 0, stop_reason: 'stop_sequence', session_id: SESSION, total_cost_usd: 0, usage: {}, modelUsage: {}, terminal_reason: 'api_error', is_error: true, num_turns: 1, subtype: 'success', result: 'Not logged in · Please run /login', type: 'result', duration_ms: 260 }),
    ].join('');
    expect(readableClaudeLog(real).split('\n').slice(1, 3)).toEqual(['claude: Not logged in · Please run /login', 'claude: failed: 1 turn, $0, 0.3s — Not logged in · Please run /login']);
  });

  it('names the limit a run stopped at, with its errors', () => {
    expect(resultLine({ type: 'result', subtype: 'error_max_turns', is_error: true, num_turns: 5, total_cost_usd: 0.2, errors: ['Reached maximum number of turns (5)'] })).toBe('claude: stopped (error_max_turns): 5 turns, $0.2 — Reached maximum number of turns (5)');
    expect(resultLine({ type: 'result', subtype: 'error_max_budget_usd', is_error: true, num_turns: 2, total_cost_usd: 1.02 })).toBe('claude: stopped (error_max_budget_usd): 2 turns, $1.02');
  });

  it('shows API retries, and passes stderr and gitbus notes through; already readable text stays as it is', () => {
    const text = line({ type: 'system', subtype: 'api_retry', attempt: 2, max_retries: 10, retry_delay_ms: 4000, error: 'overloaded_error', session_id: SESSION }) + 'Error: something on stderr\n';
    expect(readableClaudeLog(text)).toBe('claude: the API failed (overloaded_error); retry 2 of 10 in 4.0s\nError: something on stderr\n');
    const readable = readableClaudeLog(RUN);
    expect(readableClaudeLog(readable)).toBe(readable);
  });

  it('drops JSON cut at either end of a window (a heartbeat tail, a log being written)', () => {
    const cut = `"name":"Bash","input":{"command":"ls"}}]},"session_id":"x","type":"assistant"}\n${assistant([{ type: 'text', text: 'hello' }])}{"type":"assistant","message":{"content":[{"ty`;
    expect(readableClaudeLog(cut)).toBe('claude: hello\n');
  });

  it("has spoken once claude said something, not at gitbus's notes, its session line or thinking alone", () => {
    const start = RUN.slice(0, RUN.indexOf(init) + init.length);
    expect(claudeHasSpoken(start)).toBe(false);
    expect(claudeHasSpoken(start + assistant([{ type: 'thinking', thinking: 'hmm', signature: 'x' }]))).toBe(false);
    expect(claudeHasSpoken('gitbus: waiting for task t1 to end\ngitbus: progress: starting\n')).toBe(false);
    const said = assistant([{ type: 'text', text: 'Looking.' }]);
    // A line still being written is not yet said.
    expect(claudeHasSpoken(start + said.slice(0, -10))).toBe(false);
    expect(claudeHasSpoken(start + said)).toBe(true);
    expect(claudeHasSpoken(start + assistant([{ type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'ls' } }]))).toBe(true);
    expect(claudeHasSpoken(start + line({ type: 'system', subtype: 'api_retry', attempt: 1, max_retries: 10, error: 'overloaded_error' }))).toBe(true);
    expect(claudeHasSpoken('Error: something on stderr\n')).toBe(true);
  });

  it('is read again only when the log grew, at most as much as it holds, and forgotten when the run ends', () => {
    const memo = claudeSpokeMemo(64 * 1024);
    let log = RUN.slice(0, RUN.indexOf(init) + init.length);
    const reads: number[] = [];
    const look = (key = 't1.1') => memo.spoke(key, Buffer.byteLength(log), (n) => (reads.push(n), Buffer.from(log).subarray(0, n).toString('utf8')));
    expect(look()).toBe(false);
    // Claude thinks for minutes: the unchanged log is not read again.
    expect(look()).toBe(false);
    expect(look()).toBe(false);
    expect(reads).toEqual([Buffer.byteLength(log)]);
    log += assistant([{ type: 'text', text: 'Looking.' }]);
    expect(look()).toBe(true);
    expect(reads).toEqual([reads[0], Buffer.byteLength(log)]);
    // Another run (or the same task's next attempt) is its own.
    expect(look('t1.2')).toBe(true);
    expect(memo.size).toBe(2);
    // Nothing yet, or more than the head holds: no read at all.
    expect(memo.spoke('t2.1', 0, () => expect.unreachable())).toBe(false);
    expect(memo.spoke('t3.1', 64 * 1024 + 1, () => expect.unreachable())).toBe(true);
    memo.forget('t1.1');
    memo.forget('t1.2');
    expect(memo.size).toBe(0);
  });

  it('main arguments of the common tools', () => {
    expect(mainArgument('Read', { file_path: '/a/b/c.ts' }, '/a')).toBe('b/c.ts');
    expect(mainArgument('Grep', { pattern: 'TODO', path: '/a/src' }, '/a')).toBe('TODO in src');
    expect(mainArgument('WebFetch', { url: 'https://example.com' })).toBe('https://example.com');
    expect(mainArgument('TodoWrite', { todos: [{}, {}] })).toBe('2 items');
    expect(mainArgument('Task', { description: 'Explore the parser', prompt: 'long' })).toBe('Explore the parser');
    expect(mainArgument('mcp__gitbus__status', { node: 'gpu' })).toBe('gpu');
    expect(mainArgument('Bash', { command: `echo ${'x'.repeat(500)}` })).toHaveLength(200);
  });
});

describe('interactive claude runs', () => {
  it('get the grants without what only -p honours, and a status line before --allowedTools', () => {
    const headless = ['--print', '--output-format', 'stream-json', '--verbose', '--model', 'sonnet', '--max-budget-usd', '0.5', '--max-turns', '4', '--session-id', SESSION, '--allowedTools', 'Read', 'Bash(git *)'];
    const r = interactiveArgs(headless, "sh '/h/logs/t.1.statusline.sh'");
    expect(r.args).toEqual(['--model', 'sonnet', '--session-id', SESSION, '--settings', JSON.stringify({ statusLine: { type: 'command', command: "sh '/h/logs/t.1.statusline.sh'" } }), '--allowedTools', 'Read', 'Bash(git *)']);
    expect(r.budgetUsd).toBe(0.5);
    expect(r.notes).toEqual(['a turn limit (4) applies to headless runs only; this interactive session is steered by a person']);
    expect(interactiveArgs(['--print', '--output-format', 'stream-json', '--verbose'], 'x').args).toEqual(['--settings', '{"statusLine":{"type":"command","command":"x"}}']);
  });

  it("read session, cost and model from what claude's status line is given", () => {
    const input = { hook_event_name: 'Status', session_id: SESSION, transcript_path: '/h/.claude/projects/-w/s.jsonl', cwd: '/w', model: { id: 'claude-opus-5-5', display_name: 'Opus' }, workspace: { current_dir: '/w', project_dir: '/w' }, version: '2.1.332', cost: { total_cost_usd: 0.42, total_duration_ms: 1000, total_api_duration_ms: 500, total_lines_added: 3, total_lines_removed: 1 } };
    expect(statusFacts(JSON.stringify(input))).toEqual({ sessionId: SESSION, costUsd: 0.42, model: 'claude-opus-5-5', transcriptPath: '/h/.claude/projects/-w/s.jsonl' });
    expect(statusFacts('{"cost":{"total_cost_usd":-1}}')).toEqual({});
    expect(statusFacts('not json')).toBeNull();
  });

  it('find the transcript where Claude Code keeps it', () => {
    expect(transcriptPath('/home/w/work/my.proj', SESSION, { CLAUDE_CONFIG_DIR: '/c' })).toBe(`/c/projects/-home-w-work-my-proj/${SESSION}.jsonl`);
  });
});
