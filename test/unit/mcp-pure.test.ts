import { describe, it, expect } from 'vitest';
import { z } from '../../schemas/zod.js';
import { NoBusError, NodeCannotRunError, TaskStateError, UnknownNodeError, UnknownTaskError } from '../../bus/errors.js';
import { BaseNotPushedError, ProjectRemoteError } from '../../bus/project/base-errors.js';
import { NeverRanError, NoSessionError } from '../../bus/resume-errors.js';
import { templateAfterError } from '../../bus/ops/dispatch.js';
import { callShape } from '../../mcp/call-shape.js';
import { firstLine } from '../../schemas/errors.js';
import { callTool, errorResult, inToolWords } from '../../mcp/call.js';
import { listing } from '../../mcp/listing.js';
import { timestampSchema } from '../../schemas/timestamp-schema.js';
import { idOfDropped, LineGate, type DroppedLine } from '../../mcp/line-gate.js';
import { tail } from '../../mcp/schemas.js';
import { bodySection } from '../../mcp/task-files.js';
import { defineTool, type ToolEnv } from '../../mcp/tool.js';
import { TOOLS } from '../../mcp/tools/index.js';

const env: ToolEnv & { home: string } = {
  bus: () => Promise.reject(new Error('no bus in a unit test')),
  progress: async () => {},
  progressEveryMs: 15_000,
  signal: new AbortController().signal,
  cwd: '/',
  home: '/nowhere',
};

function failing(err: unknown) {
  return defineTool({ name: 'boom', title: 'Boom', description: 'fails', input: z.strictObject({ n: z.optional(z.int()) }), output: z.object({}), hints: {}, run: () => Promise.reject(err) });
}

describe('mcp tool calls', () => {
  it('a bug in a handler is a tool error that says it is a bug, with the stack in the log; the call does not throw', async () => {
    const log: string[] = [];
    const r = await callTool(failing(new TypeError('x is undefined')), {}, env, (l) => log.push(l));
    expect(r.isError).toBe(true);
    expect(r.content[0]?.text).toBe('INTERNAL: internal error: x is undefined\nfix: this is a bug in gitbus; please report it with the tool call that caused it (the server logged the stack on its standard error)');
    expect(log.join('\n')).toMatch(/internal error in boom: TypeError: x is undefined\n\s+at /);
  });

  it('a GitbusError is a tool error with its code, first line and fix, and its data in _meta', async () => {
    const r = await callTool(failing(new UnknownTaskError('abc')), { n: 1 }, env, () => {});
    expect(r.content[0]?.text).toBe('UNKNOWN_TASK: no task "abc" on this bus\nfix: list tasks with the status tool; archived tasks are found by their full id');
    expect(r._meta?.['gitbus/error']).toMatchObject({ code: 'UNKNOWN_TASK', data: { ref: 'abc' } });
  });

  it('a result that does not fit the published output schema is given as text in an error result, never as structured content a client refuses', async () => {
    const log: string[] = [];
    const tool = defineTool({ name: 'odd', title: 'Odd', description: 'returns a bad time', input: z.strictObject({}), output: z.object({ at: timestampSchema }), hints: {}, run: async () => ({ at: '2026-12-02T10:00:60Z' }) });
    const r = await callTool(tool, {}, env, (l) => log.push(l));
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toBeUndefined();
    expect(r.content[0]?.text).toMatch(/^RESULT_SCHEMA: odd was carried out, but its result does not fit the tool's output schema \(.*at.*date-time.*\)[^]*\nresult:\n\{\n  "at": "2026-12-02T10:00:60Z"\n\}$/);
    expect(log.join('\n')).toContain('the result of odd does not fit its output schema');
    const fine = defineTool({ ...tool, name: 'fine', run: async () => ({ at: '2016-12-31T23:59:60Z' }) });
    expect((await callTool(fine, {}, env, () => {})).structuredContent).toEqual({ at: '2016-12-31T23:59:60Z' });
  });

  it.each([
    ['status', { limit: -1 }, 'limit: expected a whole number from 0 to 100000, got the number -1\nfix: use a whole number from 0 to 100000'],
    ['claim_next', { runners: [] }, 'runners: expected a list of 1 or more items, got a list of 0 items'],
    ['respond', { id: 'x', status: 'failed', exitCode: 1.5 }, 'exitCode: expected a whole number from -2147483648 to 2147483647, got the number 1.5'],
    ['dispatch', { title: 'x', resume: '..' }, 'resume: expected a task id: 1–64 characters'],
    ['dispatch', { title: 'x', claude: { maxBudgetUsd: -1 } }, 'claude.maxBudgetUsd: expected a number from 0 to 1000000, got the number -1'],
    ['show', { id: 123 }, 'id: expected a task id, or a unique prefix or suffix of it, got the number 123\nfix: give it as a JSON string, for example "id": "123"'],
    ['dispatch', { title: 'x', labels: 'gpu' }, 'fix: give it as a list, for example "labels": ["gpu"]'],
  ])('a bad argument of %s says what it takes (%j), not what it is for, in JSON words', async (name, args, says) => {
    const tool = TOOLS.find((t) => t.name === name);
    if (!tool) throw new Error(name);
    const text = (await callTool(tool, args, env, () => {})).content[0]?.text ?? '';
    expect(text).toContain(says);
    expect(text).not.toContain('YAML');
  });

  it("errors from bus/ say the tool's arguments, not the CLI's flags and commands", async () => {
    const errors = [
      new UnknownNodeError('gpu-box', ['alpha']),
      new NodeCannotRunError('beta', ['no runner claude'], 'dispatch with a runner it has'),
      new ProjectRemoteError('https://example.invalid/p.git', 'timed out', true, 'dispatch'),
      new ProjectRemoteError('https://example.invalid/p.git', 'denied', false, 'dispatch'),
      new BaseNotPushedError({ commit: 'abc', base: 'main', remote: 'origin', url: 'u', command: 'git push origin main', dir: '/p' }, 'dispatch'),
      new TaskStateError('t-1', 'pending', 'respond', 'claim it first: gitbus claim t-1'),
      new NoBusError('/nowhere'),
      new TaskStateError('t-1', 'failed (archived)', 'respond', 'nothing to do: it has ended and was archived; gitbus show ID shows its result'),
      new NeverRanError('t-1', 'pending'),
      new NoSessionError('t-1', 'its handoff cannot be read', 'see what is wrong with "gitbus show t-1"'),
      templateAfterError('nightly'),
    ];
    for (const err of errors) {
      const text = (await callTool(failing(err), {}, env, () => {})).content[0]?.text ?? '';
      // A command to run on another machine ("gitbus join URL --node X" on it) stays as it is.
      expect(text, err.code).not.toMatch(/add --|--(no-)?repo|--after|--home|gitbus (status|claim|show)/);
    }
    expect(inToolWords('add --force to dispatch anyway')).toBe('give force: true to dispatch anyway');
    // A tool error built by hand (not a GitbusError, which redacts itself) shows no URL password either.
    const leaky = errorResult({ code: 'X', message: 'cannot list https://me:s3cret@h/x.git', fix: 'fix https://me:s3cret@h/x.git', data: { url: 'https://me:s3cret@h/x.git' } });
    expect(JSON.stringify(leaky)).not.toContain('s3cret');
    expect(leaky.content[0]?.text).toBe('X: cannot list https://***@h/x.git\nfix: fix https://***@h/x.git');
    expect(inToolWords('give --repo URL, or --no-repo for a plain task')).toBe('give repo (a URL or path), or leave out repo and cwd for a plain task');
    expect(inToolWords('claim it first: gitbus claim t-1')).toBe('claim it first with claim_next');
    expect(inToolWords('--base needs project work')).toBe('base needs project work');
    expect(inToolWords(firstLine(templateAfterError('nightly')))).toBe('after nightly names a schedule template, which never ends, so the task could never run');
    expect(inToolWords('run it inside a checkout of the project (one with a remote), or name the project with --repo URL')).toBe('give cwd (a directory inside a checkout of the project, one with a remote), or name the project with repo (a URL or path)');
  });

  it("bus content in a result or an error has its control characters shown as the CLI shows them, newlines and tabs kept", async () => {
    const raw = 'line\tone\r\n\u001b]0;pwned\u0007\u001b[2Jcleared \u009b31mred\u0085 \u202eexe.pdf\n';
    const shown = 'line\tone\n^[]0;pwned^G^[[2Jcleared <U+009B>31mred<U+0085> <U+202E>exe.pdf\n';
    const echo = defineTool({ name: 'echo', title: 'Echo', description: 'echoes', input: z.strictObject({}), output: z.object({ body: z.string(), files: z.array(z.object({ text: z.string() })) }), hints: {}, run: async () => ({ body: raw, files: [{ text: raw }] }) });
    const r = await callTool(echo, {}, env, () => {});
    expect(r.structuredContent).toEqual({ body: shown, files: [{ text: shown }] });
    expect(r.content[0]?.text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(JSON.parse(r.content[0]?.text ?? '')).toEqual(r.structuredContent);
    const err = errorResult({ code: 'X', message: `the file says ${raw.trimEnd()}`, fix: 'fix \u001b[2J', data: { quoted: raw } });
    expect(err.content[0]?.text).toBe(`X: the file says ${shown.trimEnd()}\nfix: fix ^[[2J`);
    expect(err._meta?.['gitbus/error']).toMatchObject({ data: { quoted: shown } });
  });

  it('bus text at its length limit still fits the output schema once its control characters are shown', async () => {
    // A title may be 200 characters; each U+202E in it is shown as 8 (<U+202E>).
    const title = '\u202e'.repeat(200);
    const echo = defineTool({ name: 'echo-title', title: 'Echo', description: 'echoes', input: z.strictObject({}), output: z.object({ title: z.string().check(z.maxLength(200)) }), hints: {}, run: async () => ({ title }) });
    const r = await callTool(echo, {}, env, () => {});
    expect(r.isError).toBeUndefined();
    expect(r.structuredContent).toEqual({ title: '<U+202E>'.repeat(200) });
    for (const t of TOOLS) expect(JSON.stringify(listing(t, env).outputSchema), t.name).not.toContain('maxLength');
  });

  it('arguments that are not an object at all are refused as bad input', async () => {
    const r = await callTool(failing(new Error('not reached')), 'text', env, () => {});
    expect(r.content[0]?.text).toBe('BAD_INPUT: invalid arguments for boom: the arguments: expected a mapping, got the text "text"\nfix: use a mapping');
  });

  it("every tool's schemas render as JSON Schema draft 7, objects at the top", () => {
    for (const t of TOOLS) {
      const l = listing(t, env);
      expect(l.inputSchema).toMatchObject({ type: 'object', additionalProperties: false });
      expect(l.outputSchema.type).toBe('object');
      expect(l.inputSchema).not.toHaveProperty('$schema');
      // An op's result stays open for fields added later; the fields of bus files stay closed.
      expect(l.outputSchema).not.toHaveProperty('additionalProperties');
    }
  });
});

describe('mcp helpers', () => {
  it('tail keeps the end of the output, from a line start when one is near', () => {
    expect(tail('abc', 5)).toEqual({ text: 'abc', truncated: false });
    expect(tail('line one\nline two\n', 12)).toEqual({ text: 'line two\n', truncated: true });
    expect(tail('x'.repeat(1000), 10)).toEqual({ text: 'x'.repeat(10), truncated: true });
    // One line longer than max: its end, not the nothing after its line break.
    expect(tail(`${'y'.repeat(1000)}\n`, 10)).toEqual({ text: `${'y'.repeat(9)}\n`, truncated: true });
    // A cut through an emoji leaves out its second half (a lone surrogate).
    expect(tail('\u{1F600}'.repeat(10), 5)).toEqual({ text: '\u{1F600}'.repeat(2), truncated: true });
  });

  it('bodySection reads one section of a response body', () => {
    const body = '## Summary\n\nall good\n\n## Results\n\n- one\n\n## Output\n\n```\nhi\n```\n';
    expect(bodySection(body, 'Summary')).toBe('all good');
    expect(bodySection(body, 'Results')).toBe('- one');
    expect(bodySection(body, 'Branch')).toBeNull();
  });
});

describe('mcp calls of a shape the SDK cannot read', () => {
  const tools = ['status', 'show'];
  const line = (msg: unknown) => Buffer.from(`${JSON.stringify(msg)}\n`);
  const call = (params: unknown, id: unknown = 7) => callShape(line({ jsonrpc: '2.0', id, method: 'tools/call', params }), tools);

  it('arguments that are an array, a string or a number are a BAD_INPUT tool error for that call, naming the tool and the fix', () => {
    for (const [args, kind] of [[[], 'an array'], ['x', 'a string'], [3, 'a number']] as const) {
      const r = call({ name: 'show', arguments: args });
      if (r.kind !== 'answer' || !('result' in r.message)) throw new Error(`not answered as a result: ${JSON.stringify(r)}`);
      expect(r.message.id).toBe(7);
      expect(r.message.result).toMatchObject({ isError: true, _meta: { 'gitbus/error': { code: 'BAD_INPUT' } } });
      expect(JSON.stringify(r.message.result.content)).toContain(`invalid arguments for show: the arguments are ${kind}, not an object of named arguments`);
    }
  });

  it('arguments: null is taken as no arguments, and a well-formed call passes as it came', () => {
    const r = call({ name: 'status', arguments: null }, 'a');
    if (r.kind !== 'pass') throw new Error('answered');
    expect(JSON.parse(r.line.toString())).toEqual({ jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'status' } });
    const good = line({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'status', arguments: {} } });
    const same = callShape(good, tools);
    expect(same.kind === 'pass' && same.line).toBe(good);
  });

  it('params or a name missing, a progress token that is an object, or bad arguments to an unknown tool are invalid params (-32602) in words', () => {
    const says = (r: ReturnType<typeof callShape>) => (r.kind === 'answer' && 'error' in r.message ? `${r.message.error.code} ${r.message.error.message}` : 'passed');
    expect(says(call(undefined))).toMatch(/^-32602 tools\/call needs params, an object with the tool's name and its arguments/);
    expect(says(call({ arguments: {} }))).toBe('-32602 tools/call needs params.name, the name of a tool (status, show), as a string');
    expect(says(call({ name: 'status', _meta: { progressToken: { a: 1 } } }))).toBe('-32602 params._meta.progressToken must be a string or a number, not an object');
    expect(says(call({ name: 'nope', arguments: [] }))).toBe('-32602 no tool "nope": the tools are status, show');
  });

  it('leaves other messages, notifications and lines that are not JSON to the SDK', () => {
    for (const raw of ['{"jsonrpc":"2.0","id":1,"method":"tools/list"}\n', '{"jsonrpc":"2.0","method":"tools/call","params":[]}\n', '{"method":"tools/call",\n', '[1]\n']) {
      expect(callShape(Buffer.from(raw), tools).kind, raw).toBe('pass');
    }
  });
});

describe('mcp line gate', () => {
  const run = (chunks: string[], max: number) => {
    const passed: string[] = [];
    const dropped: DroppedLine[] = [];
    const gate = new LineGate((l) => passed.push(l.toString()), (d) => dropped.push(d), max);
    for (const c of chunks) gate.push(Buffer.from(c));
    return { passed, dropped };
  };

  it('passes lines up to the limit whole, however they are split, and drops a longer one with its ends kept', () => {
    const long = `{"method":"tools/call","params":{"x":"${'a'.repeat(50)}"},"jsonrpc":"2.0","id":7}`;
    const r = run(['{"a":1}\n{"b"', ':2}\n', long.slice(0, 20), long.slice(20), '\n{"c":3}\n'], 40);
    expect(r.passed).toEqual(['{"a":1}\n', '{"b":2}\n', '{"c":3}\n']);
    expect(r.dropped).toEqual([{ bytes: long.length, head: long, tail: long }]);
    expect(idOfDropped(r.dropped[0] as DroppedLine)).toEqual({ id: 7, method: 'tools/call' });
    // A line of exactly the limit passes.
    expect(run(['x'.repeat(40) + '\n'], 40).passed).toHaveLength(1);
  });

  it("finds a dropped message's own id, first or last, never one inside its params", () => {
    expect(idOfDropped({ head: '{"jsonrpc":"2.0","id":"a-1","method":"tools/call","params":{', tail: '"}}}' })).toEqual({ id: 'a-1', method: 'tools/call' });
    expect(idOfDropped({ head: '{"method":"ping","params":{"id":5,', tail: '"x":{"id":5}}}' })).toEqual({ id: null, method: 'ping' });
    expect(idOfDropped({ head: 'garbage', tail: 'more' })).toEqual({ id: null, method: null });
  });
});
