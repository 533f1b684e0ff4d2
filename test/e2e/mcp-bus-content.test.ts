import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gitCli, gitbus, tempDir } from '../helpers/cli.js';
import { mcpSession, type Json } from '../helpers/mcp-session.js';

/**
 * What `gitbus mcp` makes of bus files anyone with push access wrote (pushed with plain git): control characters in
 * bodies, files and a claude run's output, long last lines, a leap second out of place, an invalid handoff waited
 * on, a gitbus.yaml replaced by a folder — with the MCP SDK's own client (test/helpers/mcp-session.ts).
 */
const { bus, cleanups, call, ok, plant, errorText } = mcpSession({ watcher: false });

describe('bus files anyone with push access wrote, through gitbus mcp', () => {
  it("a claude run's output holds no control character that its stream-json escaped: logs and wait give terminal text (gitbus logs --follow too)", async () => {
    // What claude said and what a failed tool printed, as JSON strings: a window title, a screen clear, colours.
    const stream = [
      { type: 'assistant', message: { content: [{ type: 'text', text: 'hi \u001b]0;pwned\u0007\u001b[2Jthere' }, { type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'npm test \u009b31m' } }] } },
      { type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 't1', is_error: true, content: '\u001b[31mFAIL\u001b[0m one test' }] } },
    ].map((e) => JSON.stringify(e));
    await plant({
      'handoffs/esc-run.md': '---\ntitle: escapes\nfrom: alpha\nto: beta\nrunner: claude\n---\n## Task\n\nnothing\n',
      'responses/esc-run.md': `---\nid: esc-run\nstatus: succeeded\nnode: beta\nfinished: ${new Date().toISOString()}\n---\n## Summary\n\ndone\n\n## Output\n\n\`\`\`\n${stream.join('\n')}\n\`\`\`\n`,
    }, 'plant a claude run whose output escapes control characters');

    const shown = 'claude: hi there\n  → Bash: npm test\n  ✗ Bash: FAIL one test\n';
    expect((await ok<{ text: string }>('logs', { id: 'esc-run' })).text).toBe(shown);
    expect((await ok<{ output: string }>('wait', { id: 'esc-run', timeout: '0s' })).output).toBe(shown);
    const follow = await gitbus(['logs', 'esc-run', '--follow'], { home: bus().home('alpha') });
    expect(follow.code, follow.stderr).toBe(0);
    expect(follow.stdout).toBe(shown);
  });

  it('bodies of bus files (a handoff, a response, a file shown) have their control characters shown as `gitbus show` shows them, newlines and tabs kept', async () => {
    // A screen clear, a window title, an 8-bit CSI, a next-line control and a bidirectional override.
    const hostile = 'step\tone \u001b[2J\u001b]0;pwned\u0007red \u009b31m next\u0085 \u202eexe.pdf';
    const shown = 'step\tone ^[[2J^[]0;pwned^Gred <U+009B>31m next<U+0085> <U+202E>exe.pdf';
    await plant({
      'handoffs/ctl-body.md': `---\ntitle: control characters\nfrom: alpha\nto: beta\nrunner: manual\n---\n## Task\n\n${hostile}\n`,
      'claims/ctl-body.1.md': `---\nid: ctl-body\nattempt: 1\nnode: beta\nclaimed: ${new Date().toISOString()}\n---\n${hostile}\n`,
      'responses/ctl-body.md': `---\nid: ctl-body\nstatus: succeeded\nnode: beta\nattempt: 1\nfinished: ${new Date().toISOString()}\n---\n## Summary\n\n${hostile}\n\n## Results\n\n${hostile}\n`,
    }, 'plant bodies with control characters');
    const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

    const s = await ok<{ handoff: { body: string }; response: { body: string }; files: { path: string; text: string }[] }>('show', { id: 'ctl-body' });
    expect(s.handoff.body).toBe(`## Task\n\n${shown}\n`);
    expect(s.response.body).toBe(`## Summary\n\n${shown}\n\n## Results\n\n${shown}\n`);
    expect(s.files).toEqual([{ path: 'claims/ctl-body.1.md', text: expect.stringContaining(`\n${shown}\n`) }]);
    // As the CLI shows the same file.
    const cli = await gitbus(['show', 'ctl-body'], { home: bus().home('alpha') });
    expect(cli.stdout).toContain(`\n${shown}\n`);

    const w = await call('wait', { id: 'ctl-body', timeout: '0s' });
    expect(w.structuredContent).toMatchObject({ ended: true, summary: shown, response: { body: expect.stringContaining(`## Results\n\n${shown}\n`) } });
    for (const r of [w, await call('show', { id: 'ctl-body' })]) {
      expect(JSON.stringify(r.structuredContent)).not.toMatch(raw);
      expect((r.content[0] as { text: string }).text).not.toMatch(raw);
    }
  });

  it('the end of an output whose last line is longer than maxChars is that line\'s end, and no cut splits a character', async () => {
    const outputs: Record<string, string> = { 'one-line': 'y'.repeat(10_000), emoji: '\u{1F600}'.repeat(300) };
    const files: Record<string, string> = {};
    for (const [id, output] of Object.entries(outputs)) {
      files[`handoffs/${id}.md`] = `---\ntitle: ${id}\nfrom: alpha\nto: beta\nrunner: manual\n---\n`;
      files[`responses/${id}.md`] = `---\nid: ${id}\nstatus: succeeded\nnode: beta\nfinished: ${new Date().toISOString()}\n---\n## Summary\n\ndone\n\n## Output\n\n\`\`\`\n${output}\n\`\`\`\n`;
    }
    await plant(files, 'plant outputs of one long line');

    // Its last 100 characters were cut after the line break that ends them: nothing was left.
    expect(await ok<Json>('logs', { id: 'one-line', maxChars: 100 })).toMatchObject({ text: `${'y'.repeat(99)}\n`, truncated: true });
    expect(await ok<Json>('wait', { id: 'one-line', timeout: '0s', maxChars: 100 })).toMatchObject({ output: `${'y'.repeat(99)}\n`, outputTruncated: true });
    // 300 emoji and a line break are 601 UTF-16 units: the last 100 start in the middle of one.
    expect(await ok<Json>('logs', { id: 'emoji', maxChars: 100 })).toMatchObject({ text: `${'\u{1F600}'.repeat(49)}\n`, truncated: true });
  });

  it('a leap second out of place in a planted bus file is a problem of that file: status and claim_next still answer (the SDK client checks date-time)', async () => {
    await plant({
      'nodes/evil.md': '---\nnode: evil\njoined: 2026-12-02T10:00:60Z\n---\n',
      'handoffs/leap-task.md': '---\ntitle: leap\nto: alpha\ncreated: 2026-12-02T10:00:60Z\n---\n## Task\n\nnothing\n',
    }, 'plant leap seconds');

    const s = await ok<{ problems: { path: string; field: string; reason: string }[] }>('status', {});
    expect(s.problems).toEqual(expect.arrayContaining([
      expect.objectContaining({ path: 'nodes/evil.md', field: 'joined', reason: expect.stringContaining('leap second, only at 23:59 UTC') }),
      expect.objectContaining({ path: 'handoffs/leap-task.md', field: 'created' }),
    ]));
    // Not claimed: an invalid handoff is nobody's to take (before, the claim was committed and its answer refused).
    // (An earlier test's manual task for alpha may be taken instead.)
    expect((await ok<Json>('claim_next', {}))['id']).not.toBe('leap-task');
    expect(await ok('show', { id: 'leap-task' })).toMatchObject({ id: 'leap-task', state: 'invalid' });
  });

  it('a wait on a live task whose handoff is invalid answers at once with the file, the field and the fix `gitbus lint` gives, as a tool error', async () => {
    await plant({
      'handoffs/bad-field.md': '---\ntitle: bad field\nfrom: alpha\nto: beta\nrunner: manual\npriority: high\n---\n## Task\n\nnothing\n',
      'handoffs/no-yaml.md': '---\ntitle: [unclosed\n---\n## Task\n\nnothing\n',
    }, 'plant handoffs that are invalid');
    const lint = await gitbus(['lint', '--json'], { home: bus().home('alpha') });
    const problems = (JSON.parse(lint.stdout) as { problems: { path: string; field: string; reason: string; fix: string }[] }).problems;
    for (const [id, field] of [['bad-field', 'priority'], ['no-yaml', '']] as const) {
      const p = problems.find((x) => x.path === `handoffs/${id}.md`);
      expect(p, lint.stdout).toMatchObject({ field });
      const t0 = Date.now();
      const r = await call('wait', { id, timeout: '30s' });
      // Without the refusal the wait would have run its 30 s out and answered ended: false.
      expect(Date.now() - t0).toBeLessThan(15_000);
      const text = errorText(r);
      expect(text).toContain(`INVALID_TASK: task ${id} is invalid and will not change as it is, so a wait for it would never end: handoffs/${id}.md${field ? ` ${field}` : ''}: ${p?.reason ?? ''}`);
      expect(text).toContain(`\nfix: in handoffs/${id}.md${field ? ` (${field})` : ''}: ${p?.fix ?? ''}; push the corrected file and wait again, or cancel the task with "gitbus cancel ${id}"`);
      expect((r._meta?.['gitbus/error'] as { data: { problems: unknown[] } }).data.problems).toEqual([expect.objectContaining({ path: `handoffs/${id}.md`, field, fix: p?.fix })]);
    }
  });

  it('a gitbus.yaml replaced by a folder refuses writes with that said and the fix, not a remote to check; reads go on', async () => {
    const work = await tempDir('gitbus-mcp-settings-');
    cleanups.push(work.cleanup);
    gitCli(['clone', '-q', bus().remote, work.path]);
    const settings = readFileSync(join(work.path, 'gitbus.yaml'));
    const replace = (make: () => void, msg: string) => {
      gitCli(['pull', '-q', '--rebase', 'origin', 'main'], work.path);
      gitCli(['rm', '-q', '-r', 'gitbus.yaml'], work.path);
      make();
      gitCli(['add', '-A'], work.path);
      gitCli(['commit', '-q', '-m', msg], work.path);
      gitCli(['push', '-q', 'origin', 'HEAD:main'], work.path);
    };
    replace(() => {
      mkdirSync(join(work.path, 'gitbus.yaml'));
      writeFileSync(join(work.path, 'gitbus.yaml', 'x'), 'x\n');
    }, 'gitbus.yaml as a folder');
    try {
      const refused = errorText(await call('dispatch', { title: 'over a folder', runner: 'manual' }));
      expect(refused).toMatch(/^NOT_A_BUS: .* has a gitbus\.yaml that is not a regular file \(a folder, a link or a submodule\)\nfix: in a clone of the bus, remove it \(git rm -r gitbus\.yaml\) and bring the file back/);
      expect(refused).not.toContain('node.yaml');
      expect((await ok<{ problems: { path: string; reason: string }[] }>('status', {})).problems).toContainEqual(expect.objectContaining({ path: 'gitbus.yaml', reason: 'gitbus.yaml must be a regular file' }));
    } finally {
      replace(() => writeFileSync(join(work.path, 'gitbus.yaml'), settings), 'gitbus.yaml back');
    }
    expect((await ok<{ id: string }>('dispatch', { title: 'after the settings are back', runner: 'manual' })).id).toMatch(/./);
  });

  it('a result larger than one MCP message (forty 250 KB claims written by hand) is cut to fit, says where, and the session goes on', async () => {
    await bus().dispatch('alpha', ['many claims', '--id', 'manyclaims', '--runner', 'manual']);
    const pad = 'x'.repeat(250_000);
    const claims: Record<string, string> = {};
    for (let n = 1; n <= 40; n++) claims[`claims/manyclaims.${n}.md`] = `---\nid: manyclaims\nattempt: ${n}\nnode: beta\nclaimed: 2026-12-07T18:57:56.074Z\nx-pad: ${pad}\n---\n`;
    await plant(claims, 'forty large claims');
    // Whole, it was 20 MB on one line: the SDK's client closed the session ("Connection closed") at its 10 MiB.
    const shown = await ok<{ files: { path: string; text: string }[]; cut?: { note: string; paths: string[]; more: number } }>('show', { id: 'manyclaims' });
    expect(shown.files).toHaveLength(40);
    expect(shown.cut?.note).toContain('cut to fit one MCP message');
    expect(shown.cut?.paths[0]).toMatch(/^files\.0\.text: \d+ of 25\d{4} characters$/);
    expect((shown.cut?.paths.length ?? 0) + (shown.cut?.more ?? 0)).toBe(40);
    expect(shown.files[0]?.text).toMatch(/… \(\d+ more characters cut\)$/);
    // The session goes on.
    expect((await ok<{ node: string }>('status', { limit: 1 })).node).toBe('alpha');
  }, 120_000);

  it('a wait on a task whose response is not valid UTF-8 says so, with the file and the fix, beside its ended state', async () => {
    await bus().dispatch('alpha', ['answered badly', '--id', 'hostile-answer', '--runner', 'manual']);
    const claim = '---\nid: hostile-answer\nattempt: 1\nnode: beta\nclaimed: 2026-12-07T18:57:56.074Z\n---\n';
    const response = Buffer.concat([Buffer.from('---\nid: hostile-answer\nattempt: 1\nnode: beta\nstatus: failed\nreason: '), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('\nfinished: 2026-12-07T18:58:56.074Z\n---\n## Summary\n\nbad\n')]);
    await plant({ 'claims/hostile-answer.1.md': claim, 'responses/hostile-answer.md': response }, 'a response that is not UTF-8');
    const w = await ok<{ ended: boolean; problems?: { path: string; reason: string; fix: string }[] }>('wait', { id: 'hostile-answer', timeout: '5s' });
    expect(w.ended).toBe(true);
    expect(w.problems).toContainEqual(expect.objectContaining({ path: 'responses/hostile-answer.md', reason: expect.stringContaining('UTF-8') }));
  });
});
