import { describe, it, expect } from 'vitest';
import { allowedTools, claudeBinary, claudeInvocation, claudePrompt, permissionMode, stricter } from '../../watcher/runners/claude-args.js';
import { ClaudeStream, MAX_RESULT_BYTES, claudeVerdict } from '../../watcher/runners/claude-result.js';

const BASE = ['--print', '--output-format', 'stream-json', '--verbose'];
const argv = (...a: Parameters<typeof claudeInvocation>) => {
  const r = claudeInvocation(...a);
  if ('refusal' in r) throw new Error(r.refusal);
  return r.argv;
};
const refusal = (...a: Parameters<typeof claudeInvocation>) => {
  const r = claudeInvocation(...a);
  return 'refusal' in r ? r.refusal : null;
};

describe('claude command line: the handoff asks, the node grants', () => {
  it('passes nothing extra when neither says anything', () => {
    expect(argv({}, {})).toEqual(BASE);
  });

  it('model: the handoff\'s when the node names none or the same, else the node\'s', () => {
    expect(argv({ model: 'opus' }, {})).toEqual([...BASE, '--model', 'opus']);
    expect(argv({ model: 'opus' }, { model: 'opus' })).toEqual([...BASE, '--model', 'opus']);
    expect(argv({ model: 'opus' }, { model: 'sonnet' })).toEqual([...BASE, '--model', 'sonnet']);
    expect(argv({}, { model: 'sonnet' })).toEqual([...BASE, '--model', 'sonnet']);
  });

  it('permission mode: the stricter; a node that names none grants default; unknown modes are refused', () => {
    expect(argv({ permissionMode: 'bypassPermissions' }, { permissionMode: 'acceptEdits' })).toEqual([...BASE, '--permission-mode', 'acceptEdits']);
    expect(argv({ permissionMode: 'plan' }, { permissionMode: 'bypassPermissions' })).toEqual([...BASE, '--permission-mode', 'plan']);
    expect(argv({ permissionMode: 'acceptEdits' }, {})).toEqual([...BASE, '--permission-mode', 'default']);
    expect(argv({}, { permissionMode: 'acceptEdits' })).toEqual([...BASE, '--permission-mode', 'acceptEdits']);
    expect(argv({ permissionMode: 'manual' }, { permissionMode: 'auto' })).toEqual([...BASE, '--permission-mode', 'default']);
    expect(refusal({ permissionMode: 'yolo' }, {})).toContain('the handoff asks for permission mode "yolo"');
    expect(refusal({}, { permissionMode: 'everything' })).toContain("node.yaml grants permission mode \"everything\"");
    expect(stricter('dontAsk', 'default')).toBe('dontAsk');
    expect(stricter('auto', 'acceptEdits')).toBe('acceptEdits');
    expect(permissionMode('bypassPermissions')).toBe('bypassPermissions');
    expect(permissionMode('Plan')).toBeNull();
  });

  it('budget: the lower of the two; a budget of 0 is refused (claude needs more than 0)', () => {
    expect(argv({ maxBudgetUsd: 5 }, { maxBudgetUsd: 0.5 })).toEqual([...BASE, '--max-budget-usd', '0.5']);
    expect(argv({ maxBudgetUsd: 0.25 }, { maxBudgetUsd: 0.5 })).toEqual([...BASE, '--max-budget-usd', '0.25']);
    expect(argv({ maxBudgetUsd: 2 }, {})).toEqual([...BASE, '--max-budget-usd', '2']);
    expect(refusal({ maxBudgetUsd: 0 }, { maxBudgetUsd: 1 })).toContain('the budget is $0');
  });

  it('turns: the lower of the two, as --max-turns (which 2.1.332 takes but hides from --help)', () => {
    expect(argv({ maxTurns: 30 }, { maxTurns: 10 })).toEqual([...BASE, '--max-turns', '10']);
    expect(argv({ maxTurns: 3 }, {})).toEqual([...BASE, '--max-turns', '3']);
    const r = claudeInvocation({ maxTurns: 30 }, { maxTurns: 10 });
    expect('notes' in r && r.notes).toEqual(['30 turns asked; this node caps them at 10']);
  });

  it("the node's daily cap: the budget is at most what is left of it; nothing left is refused", () => {
    expect(argv({}, {}, undefined, { capUsd: 20, spentUsd: 18.5 })).toEqual([...BASE, '--max-budget-usd', '1.5']);
    expect(argv({ maxBudgetUsd: 0.5 }, {}, undefined, { capUsd: 20, spentUsd: 18.5 })).toEqual([...BASE, '--max-budget-usd', '0.5']);
    const r = claudeInvocation({ maxBudgetUsd: 5 }, { maxBudgetUsd: 3 }, undefined, { capUsd: 20, spentUsd: 19 });
    expect('argv' in r && r.argv).toEqual([...BASE, '--max-budget-usd', '1']);
    expect('notes' in r && r.notes).toEqual(["budget $5 asked; $1 is left of this node's daily cap of $20"]);
    expect(refusal({}, {}, undefined, { capUsd: 20, spentUsd: 19.995 })).toContain("have spent $19.99 of its daily cap of $20 (claude.maxSpendUsdPerDay in node.yaml) since 00:00 UTC");
  });

  it('tools: what the node also grants, a narrower use of a tool it grants whole included; last on the line', () => {
    expect(allowedTools(['Bash(git *)', 'Write', 'Read'], ['Bash', 'Read'])).toEqual(['Bash(git *)', 'Read']);
    expect(allowedTools(['Bash'], ['Bash(git *)'])).toEqual([]);
    expect(allowedTools(undefined, ['Read'])).toEqual(['Read']);
    expect(allowedTools(['Edit', 'Edit'], undefined)).toEqual(['Edit']);
    expect(argv({ allowedTools: ['Read'], resume: 's1', model: 'm' }, {})).toEqual([...BASE, '--model', 'm', '--resume', 's1', '--allowedTools', 'Read']);
    expect(refusal({ allowedTools: ['--dangerously-skip-permissions'] }, {})).toContain('is not usable');
    expect(refusal({ resume: '-x' }, {})).toContain('resume');
  });

  it('notes what was granted differently', () => {
    const r = claudeInvocation({ model: 'opus', permissionMode: 'bypassPermissions', maxBudgetUsd: 9, allowedTools: ['Write'] }, { model: 'sonnet', permissionMode: 'plan', maxBudgetUsd: 1, allowedTools: ['Read'] });
    expect('notes' in r && r.notes).toEqual([
      'model opus asked; this node runs sonnet only',
      'permission mode bypassPermissions asked; this node grants plan at most',
      'budget $9 asked; this node caps it at $1',
      'tools not granted by this node: Write',
    ]);
  });

  it('prompt and binary', () => {
    expect(claudePrompt('Title', '')).toBe('Title\n');
    expect(claudePrompt('Title', '  \n')).toBe('Title\n');
    expect(claudePrompt('Title', '## Task\n\nDo it.\n')).toBe('## Task\n\nDo it.\n');
    expect(claudeBinary({ binary: '/opt/claude' }, { GITBUS_CLAUDE_BIN: '/env/claude' })).toBe('/opt/claude');
    expect(claudeBinary({}, { GITBUS_CLAUDE_BIN: '/env/claude' })).toBe('/env/claude');
    expect(claudeBinary({}, {})).toBe('claude');
  });
});

describe('claude result', () => {
  const result = (fields: Record<string, unknown>) => JSON.stringify({ type: 'result', subtype: 'success', is_error: false, session_id: 'abc', total_cost_usd: 0.5, num_turns: 3, result: 'done', ...fields });
  const stream = (...lines: string[]) => {
    const s = new ClaudeStream();
    // Cut anywhere, as pipes do.
    const all = lines.map((l) => `${l}\n`).join('');
    for (let i = 0; i < all.length; i += 7) s.push(all.slice(i, i + 7));
    s.end();
    return s;
  };

  it('a success result gives the text, session, cost, turns and the model from init', () => {
    const s = stream(JSON.stringify({ type: 'system', subtype: 'init', session_id: 'abc', model: 'claude-x' }), result({ result: 'héllo ✓' }));
    expect(claudeVerdict(s, 0, 'n')).toEqual({ status: 'succeeded', resultText: 'héllo ✓', claude: { sessionId: 'abc', costUsd: 0.5, turns: 3, model: 'claude-x', subtype: 'success' } });
  });

  it('error results and non-zero exits fail with the reason', () => {
    expect(claudeVerdict(stream(result({ subtype: 'error_max_budget_usd', is_error: true, result: undefined })), 1, 'n').reason).toContain('budget limit after spending $0.5');
    expect(claudeVerdict(stream(result({ subtype: 'error_max_turns', is_error: true })), 1, 'n').reason).toContain('turn limit after 3 turns');
    expect(claudeVerdict(stream(result({ subtype: 'error_max_turns', is_error: true })), 1, 'n').claude.subtype).toBe('error_max_turns');
    expect(claudeVerdict(stream(result({ is_error: true, result: 'API Error: Unable to connect to API (ConnectionRefused)' })), 1, 'n').reason).toContain('could not reach the Anthropic API from node n');
    expect(claudeVerdict(stream(result({ is_error: true, result: 'Invalid API key · Please run /login' })), 1, 'n').reason).toContain('not logged in on node n');
    expect(claudeVerdict(stream(result({})), 2, 'n')).toMatchObject({ status: 'failed', reason: 'claude exited with code 2 after a successful result' });
  });

  it('no result, or garbage, fails with what claude last said', () => {
    const g = claudeVerdict(stream('panic: oh no'), 134, 'n');
    expect(g.status).toBe('failed');
    expect(g.reason).toContain('claude exited with code 134 without a result');
    expect(g.reason).toContain('it last said: panic: oh no');
    expect(claudeVerdict(stream(), null, 'n', 'gitbus: claude -p\nError: Could not resolve authentication method\n').reason).toContain('not logged in');
  });

  it('keeps only values the response schema accepts, and caps a huge result', () => {
    const s = stream(result({ session_id: 'x\ny', total_cost_usd: -1, num_turns: 1.5, subtype: 'Not A Subtype', result: 'é'.repeat(MAX_RESULT_BYTES) }));
    const v = claudeVerdict(s, 0, 'n');
    expect(v.claude).toEqual({});
    expect(Buffer.byteLength(v.resultText ?? '', 'utf8')).toBeLessThan(MAX_RESULT_BYTES + 200);
    expect(v.resultText).toContain('cut at 96 KiB');
  });
});

describe('ClaudeStream with one endless line', () => {
  it('reads a 20 MB line in time proportional to it, drops it as garbled, and still reads the result after it', () => {
    const seen: string[] = [];
    const stream = new ClaudeStream((l) => 'text' in l && seen.push(l.text));
    const piece = 'x'.repeat(64 * 1024);
    const started = Date.now();
    for (let i = 0; i < 320; i++) stream.push(piece);
    stream.push('\n{"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"s1"}\n');
    stream.end();
    // Flattened at every chunk, as it once was, this took some 20 s.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(stream.result?.result).toBe('done');
    expect(stream.garbled).toBe(1);
    expect(seen).toEqual(['[a line longer than 4 MiB, not read]']);
  });

  it('joins a line that came in many chunks, and reads the last line without a newline at the end', () => {
    const stream = new ClaudeStream();
    const line = JSON.stringify({ type: 'result', subtype: 'success', result: 'y'.repeat(100_000), session_id: 's2' });
    for (let i = 0; i < line.length; i += 777) stream.push(line.slice(i, i + 777));
    stream.end();
    expect(stream.result?.result).toHaveLength(100_000);
    expect(stream.garbled).toBe(0);
  });
});
