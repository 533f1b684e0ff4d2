import { describe, it, expect } from 'vitest';
import { parseBusFile, renderBusFile, type ParseResult } from '../../schemas/bus-file.js';
import { expectProblem, fm, handoffYaml, HPATH, ID, parseHandoff, problems } from './schemas-bus-file-helpers.js';

describe('hostile files', () => {
  it('not frontmatter at all', () => {
    expectProblem(parseBusFile(HPATH, 'title: Run it\n'), HPATH, '', /has no frontmatter: it must start with a line "---"/);
    expectProblem(parseBusFile(HPATH, ''), HPATH, '', /the file is empty/);
    expectProblem(parseBusFile(HPATH, '\u0089PNG\r\n'), HPATH, '', /no frontmatter/);
  });

  it('unterminated frontmatter', () => {
    expectProblem(parseBusFile(HPATH, '---\ntitle: Run it\n\n## Task\n'), HPATH, '', /the frontmatter is not closed/);
  });

  it('YAML syntax error', () => {
    expectProblem(parseBusFile(HPATH, fm('title: "Run it\ncommand: make')), HPATH, '', /^YAML syntax error at line \d+, column \d+/);
    expectProblem(parseBusFile(HPATH, fm('title: [a\n')), HPATH, '', /YAML syntax error/);
    expectProblem(parseBusFile(HPATH, fm('\ttitle: x\n')), HPATH, '', /YAML syntax error/);
  });

  it('conflict markers', () => {
    const text = fm(`<<<<<<< HEAD\ntitle: ours\n=======\ntitle: theirs\n>>>>>>> 1a2b3c\n`);
    expectProblem(parseBusFile(HPATH, text), HPATH, '', /git conflict marker "<<<<<<<" at line 2/, /resolve the conflict/);
    expectProblem(parseBusFile('gitbus.yaml', 'protocol: 1\n<<<<<<< HEAD\n'), 'gitbus.yaml', '', /git conflict marker/);
  });

  it('duplicate keys', () => {
    expectProblem(parseHandoff('title: again\n'), HPATH, 'title', /the field "title" appears twice \(again at line 4\)/);
    expectProblem(parseHandoff('claude: {model: a, model: b}\n'), HPATH, 'claude.model', /appears twice/);
  });

  it('ten thousand unknown fields are one problem each for the first 20, then one that counts the rest', () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => `junk${i}: 1`).join('\n');
    const found = problems(parseHandoff(`${keys}\n`));
    expect(found).toHaveLength(21);
    expect(found[0]).toMatchObject({ field: 'junk0', reason: 'unknown field "junk0"' });
    expect(found[20]).toMatchObject({ path: HPATH, field: '', reason: 'and 9980 more problems in this file (fields "junk20", "junk21", "junk22", ...)' });
    // A real problem among them comes first, not folded into the count.
    const withError = problems(parseBusFile(HPATH, fm(`command: make\n${keys}\n`)));
    expect(withError[0]).toMatchObject({ field: 'title', reason: expect.stringContaining('missing') });
    expect(withError).toHaveLength(21);
  });

  it('billion laughs', () => {
    let yaml = 'title: x\nx-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
    for (let i = 1; i < 9; i++) yaml += `x-a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]\n`;
    expectProblem(parseBusFile(HPATH, fm(yaml)), HPATH, '', /expands aliases more than 100 times/, /write the values out/);
  });

  it.each([
    ['title: !!js/function "function(){}"', 'title', /YAML tag "!!js\/function" is not allowed/],
    ['title: !foo x', 'title', /YAML tag "!foo" is not allowed/],
    ['title: x\nx-data: !!binary aGk=', 'x-data', /YAML tag "!!binary" is not allowed/],
    ['title: x\nlabels: !!js/regexp [a]', 'labels', /YAML tag "!!js\/regexp"/],
  ])('custom tags: %s', (yaml, field, reason) => {
    expectProblem(parseBusFile(HPATH, fm(yaml)), HPATH, field, reason);
  });

  it('__proto__ and constructor keys are unknown fields and pollute nothing', () => {
    const r = parseHandoff('__proto__: {polluted: yes}\nconstructor: {prototype: {polluted: yes}}\nclaude: {__proto__: {polluted: yes}}\n');
    expectProblem(r, HPATH, '__proto__', /^unknown field "__proto__"$/);
    expectProblem(r, HPATH, 'constructor', /^unknown field "constructor"$/);
    expectProblem(r, HPATH, 'claude.__proto__', /^unknown field "__proto__"$/);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('__proto__ inside an x- value stays data and round-trips without polluting', () => {
    const r = parseHandoff('x-evil: {__proto__: {polluted: yes}}\n');
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const evil = r.file.extras['x-evil'] as Record<string, unknown>;
    expect(Object.getPrototypeOf(evil)).toBe(Object.prototype);
    expect(Object.keys(evil)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const again = parseBusFile(HPATH, renderBusFile(r.kind, r.file.data, r.file.body, r.file.extras));
    expect(again.ok && Object.keys(again.file.extras['x-evil'] as object)).toEqual(['__proto__']);
  });

  it.each([
    ['- title\n- x', /the frontmatter is a list, not a mapping of fields/],
    ['"just a string"', /a single text value/],
    ['null', /the frontmatter is empty/],
    ['', /the frontmatter is empty/],
    ['7', /a single number value/],
  ])('non-mapping frontmatter %j', (yaml, reason) => {
    expectProblem(parseBusFile(HPATH, `---\n${yaml}${yaml ? '\n' : ''}---\n`), HPATH, '', reason);
  });

  it('non-mapping gitbus.yaml', () => {
    expectProblem(parseBusFile('gitbus.yaml', '- protocol: 1\n'), 'gitbus.yaml', '', /the file is a list, not a mapping/);
    expectProblem(parseBusFile('gitbus.yaml', ''), 'gitbus.yaml', '', /the file is empty/);
  });

  it('wrong types', () => {
    expectProblem(parseBusFile(HPATH, fm('title: 2026')), HPATH, 'title', /^expected one line saying what to do, got the number 2026$/, /put the value in quotes .* title: "2026"/);
    // A number where a duration goes: quoting it alone would still not be one, so the fix adds the unit.
    expectProblem(parseHandoff('timeout: 90'), HPATH, 'timeout', /got the number 90$/, /^put the value in quotes so YAML reads it as text, for example timeout: "90s"$/);
    expectProblem(parseHandoff('labels: gpu'), HPATH, 'labels', /expected a list of labels, got the text "gpu"/, /write it as a list, for example labels: \[gpu\]/);
    expectProblem(parseHandoff('priority: high'), HPATH, 'priority', /expected a whole number from -1000 to 1000, got the text "high"/);
    expectProblem(parseHandoff('keep: "yes"'), HPATH, 'keep', /expected true or false, got the text "yes"/);
    expectProblem(parseHandoff('keep: yes'), HPATH, 'keep', /expected true or false, got the text "yes"/);
    expectProblem(parseHandoff('claude: sonnet'), HPATH, 'claude', /expected requests for the claude runner.*, got the text "sonnet"/);
    expectProblem(parseHandoff('claude: {maxBudgetUsd: .inf}'), HPATH, 'claude.maxBudgetUsd', /got the number Infinity/);
    expectProblem(parseBusFile(HPATH, fm('title: x\ncommand: [make, test]')), HPATH, 'command', /got a list of 2 items/);
    const claim = (extra: string): ParseResult => parseBusFile(`claims/${ID}.1.md`, fm(`id: ${ID}\nnode: n\nclaimed: 2026-11-21T04:30:02Z\n${extra}`));
    expectProblem(claim('attempt: "1"'), `claims/${ID}.1.md`, 'attempt', /expected an attempt number.*, got the text "1"/);
    expectProblem(claim('attempt: 1.5'), `claims/${ID}.1.md`, 'attempt', /got the number 1.5/);
    const resp = parseBusFile(`responses/${ID}.md`, fm(`id: ${ID}\nstatus: done\nnode: n\nfinished: 2026-11-21T04:30:02Z\nexitCode: 1.5`));
    expectProblem(resp, `responses/${ID}.md`, 'status', /expected one of succeeded, failed, cancelled, timed-out, got the text "done"/);
    expectProblem(resp, `responses/${ID}.md`, 'exitCode', /expected a whole number, or null, got the number 1.5/);
  });

  it('missing required fields', () => {
    expectProblem(parseBusFile(HPATH, fm('command: make')), HPATH, 'title', /^the required field "title" is missing$/, /add "title": one line saying what to do/);
    const r = parseBusFile(`claims/${ID}.1.md`, fm('by: watcher'));
    for (const field of ['id', 'attempt', 'node', 'claimed']) expectProblem(r, `claims/${ID}.1.md`, field, new RegExp(`the required field "${field}" is missing`));
    expectProblem(parseBusFile('gitbus.yaml', 'name: fleet\n'), 'gitbus.yaml', 'protocol', /required field "protocol" is missing/);
  });

  it('unknown fields, with the nearest known one suggested', () => {
    expectProblem(parseHandoff('lables: [gpu]'), HPATH, 'lables', /^unknown field "lables"$/, /^remove it or rename it to "labels"$/);
    expectProblem(parseHandoff('Priority: 5'), HPATH, 'Priority', /unknown field "Priority"/, /rename it to "priority"/);
    expectProblem(parseHandoff('tiemout: 5m'), HPATH, 'tiemout', /unknown field/, /rename it to "timeout"/);
    expectProblem(parseHandoff('claude: {modle: sonnet}'), HPATH, 'claude.modle', /unknown field "modle"/, /rename it to "model"/);
    expectProblem(parseHandoff('zzzqqq: 1'), HPATH, 'zzzqqq', /unknown field/, /remove it, or rename it to "x-zzzqqq" to keep it as your own field \(known fields: protocol, id, title/);
  });

  it('x- keys and $schema are kept, anywhere at the top level', () => {
    const r = parseHandoff('x-anything: {deep: [1, 2]}\n$schema: ./handoff.json\nx-: empty-ish');
    expect(r.ok && r.file.extras).toEqual({ 'x-anything': { deep: [1, 2] }, $schema: './handoff.json', 'x-': 'empty-ish' });
    expectProblem(parseHandoff('X-upper: 1'), HPATH, 'X-upper', /unknown field/);
    expectProblem(parseHandoff('claude: {x-mine: 1}'), HPATH, 'claude.x-mine', /unknown field/);
  });

  it('id, attempt and node must match the file name', () => {
    expectProblem(parseHandoff('id: other-task'), HPATH, 'id', /the id "other-task" does not match the file name, which says "20261121-042933-k3f9qx"/, /set "id: 20261121-042933-k3f9qx" or remove the id field/);
    const claim = parseBusFile(`claims/${ID}.3.md`, fm(`id: ${ID}\nattempt: 2\nnode: n\nclaimed: 2026-11-21T04:30:02Z`));
    expectProblem(claim, `claims/${ID}.3.md`, 'attempt', /the attempt 2 does not match the file name, which says 3/, /set "attempt: 3"/);
    expect(claim.ok === false && claim.location).toEqual({ kind: 'claim', id: ID, attempt: 3 });
    expectProblem(parseBusFile(`releases/${ID}.1.md`, fm(`id: x\nattempt: 1\nnode: n\nreleased: 2026-11-21T04:30:02Z`)), `releases/${ID}.1.md`, 'id', /does not match/);
    expectProblem(parseBusFile('nodes/gpu-box.md', fm('node: cpu-box')), 'nodes/gpu-box.md', 'node', /the node "cpu-box" does not match the file name, which says "gpu-box"/);
    expectProblem(parseHandoff('id: Bad.Id'), HPATH, 'id', /expected a task id: 1–64 characters/, /use a task id: 1–64 characters of lower-case letters/);
  });

  it.each([
    ['handoffs/../x.md', 'handoffs/..', /it is a folder/],
    ['handoffs/a/b.md', 'handoffs/a', /it is a folder/],
    ['handoffs/..md', 'handoffs/..md', /not a valid task id: it contains "\."/],
    ['handoffs/Task.md', 'handoffs/Task.md', /upper-case/],
    ['handoffs/tаsk.md', 'handoffs/tаsk.md', /U\+0430/],
    ['handoffs/my task.md', 'handoffs/my task.md', /white space/],
    ['handoffs/task.md.', 'handoffs/task.md.', /not a \.md file/],
    ['handoffs/.md', 'handoffs/.md', /it is empty/],
    ['claims/x.0.md', 'claims/x.0.md', /attempts start at 1/],
    ['claims/x.01.md', 'claims/x.01.md', /leading zeros/],
    ['claims/x.-1.md', 'claims/x.-1.md', /not a whole number ≥ 1/],
    ['claims/x.123456789012345678901234567890.md', 'claims/x.123456789012345678901234567890.md', /larger than 999999/],
  ])('path %s is refused before the content is read', (path, problemPath, reason) => {
    const r = parseBusFile(path, handoffYaml(''));
    expectProblem(r, problemPath, '', reason);
    expect(r.ok === false && r.location).toBeUndefined();
  });

  it('paths outside the bus are not bus files', () => {
    expectProblem(parseBusFile('README.md', '# hi'), 'README.md', '', /it is not a gitbus file/);
    const readme = parseBusFile('handoffs/README.md', '# about');
    expect(problems(readme)[0]).toMatchObject({ severity: 'warning', path: 'handoffs/README.md' });
    expect(readme.ok === false && readme.kind).toBe('handoff');
  });

  it('oversize files are not parsed', () => {
    const big = handoffYaml('') + 'x'.repeat(256 * 1024);
    expectProblem(parseBusFile(HPATH, big), HPATH, '', /more than the limit of 262144 \(256 KiB\); gitbus does not read it/);
    expectProblem(parseBusFile(HPATH, new TextEncoder().encode(big)), HPATH, '', /more than the limit/);
    const justFits = handoffYaml('');
    expect(parseBusFile(HPATH, justFits + 'x'.repeat(256 * 1024 - justFits.length)).ok).toBe(true);
  });

  it('invalid UTF-8 and NUL bytes', () => {
    const bytes = new TextEncoder().encode(handoffYaml('from: X'));
    const bad = Uint8Array.from(bytes);
    bad[bytes.length - 6] = 0xff;
    expectProblem(parseBusFile(HPATH, bad), HPATH, '', /not valid UTF-8 \(invalid byte sequence at byte offset \d+\)/, /save the file as UTF-8/);
    expectProblem(parseBusFile(HPATH, handoffYaml('from: a\u0000b')), HPATH, '', /NUL byte \(line 4\)/);
    // An escaped NUL inside a YAML string reaches the field check instead.
    expectProblem(parseHandoff('from: "a\\0b"'), HPATH, 'from', /control character U\+0000/);
  });

  it('titles: one line, at most 200 characters (not UTF-16 units)', () => {
    expectProblem(parseBusFile(HPATH, fm(`title: ${'t'.repeat(201)}`)), HPATH, 'title', /the text is 201 characters long, more than 200/, /shorten it to at most 200 characters/);
    expect(parseBusFile(HPATH, fm(`title: ${'😀'.repeat(200)}`)).ok).toBe(true);
    expectProblem(parseBusFile(HPATH, fm(`title: ${'t'.repeat(100_000)}`)), HPATH, 'title', /100000 characters long/);
    expectProblem(parseBusFile(HPATH, fm('title: "two\\nlines"')), HPATH, 'title', /has a line break; it must be one line/);
    expectProblem(parseBusFile(HPATH, fm('title: "   "')), HPATH, 'title', /the text is empty/);
    expectProblem(parseBusFile(HPATH, fm('title: "bell\\a"')), HPATH, 'title', /control character U\+0007/);
    expectProblem(parseBusFile(HPATH, fm('title: ""')), HPATH, 'title', /empty/);
  });

  it('commands: at most 16 KiB in UTF-8', () => {
    expect(parseBusFile(HPATH, fm(`title: x\ncommand: ${'c'.repeat(16 * 1024)}`)).ok).toBe(true);
    expectProblem(parseBusFile(HPATH, fm(`title: x\ncommand: ${'c'.repeat(16 * 1024 + 1)}`)), HPATH, 'command', /16385 bytes long, more than 16384 \(16 KiB\)/);
    expectProblem(parseBusFile(HPATH, fm(`title: x\ncommand: ${'é'.repeat(8200)}`)), HPATH, 'command', /16400 bytes long/);
  });

  it.each([
    ['2026-13-01T00:00:00Z', /not a timestamp \(no such date or time\)/],
    ['2026-02-30T00:00:00Z', /no such date or time/],
    ['2026-12-02T10:00:60Z', /not a timestamp \(second 60 is a leap second, only at 23:59 UTC\)/],
    ['2026-11-21T04:29:33', /it has no zone; add Z for UTC/],
    ['2026-11-21', /a date without a time/],
    ['2026-11-21 04:29:33Z', /use "T", not a space/],
    ['yesterday', /"yesterday" is not a timestamp/],
    ['0000-01-01T00:30:00+01:00', /its zone puts it outside the years 0000-9999 in UTC/],
  ])('bad timestamp %s', (ts, reason) => {
    expectProblem(parseHandoff(`created: ${ts}`), HPATH, 'created', reason, /write an RFC 3339 timestamp with a zone/);
  });

  it('timestamps that YAML reads as numbers', () => {
    expectProblem(parseHandoff('created: 1700000000'), HPATH, 'created', /expected an RFC 3339 timestamp.*, got the number 1700000000/);
  });

  it.each([
    ['5', /expected a duration: .*, got the number 5/],
    ['"5"', /"5" is not a duration/],
    ['5 m', /not a duration/],
    ['-5m', /not a duration/],
    ['1.5h', /not a duration/],
    ['5M', /units are lower case/],
    ['5min', /not a duration/],
    ['0s', /must be greater than zero/],
    ['999999999999999d', /too long/],
  ])('bad duration %s', (d, reason) => {
    expectProblem(parseHandoff(`timeout: ${d}`), HPATH, 'timeout', reason);
  });

  it.each([
    ['"* * *"', /it has 3 fields/],
    ['"* * * * * * *"', /it has 7 fields/],
    ['"*/2 * * * * * "', /6 fields, the first of seconds: gitbus schedules to the minute/],
    ['"@daily"', /not a cron expression/],
    ['"0 3 * * funday"', /"funday" is not a month or day name/],
    ['"0 3 * * mon; rm -rf /"', /not a cron expression/],
    ['5', /got the number 5/],
  ])('bad cron %s', (c, reason) => {
    expectProblem(parseHandoff(`schedule: ${c}`), HPATH, 'schedule', reason);
  });

  it('a schedule with a seconds field is refused with the five-field line to write instead', () => {
    // The scheduler takes six fields (seconds first), and a watcher dispatches the latest due time at every wake.
    expectProblem(parseHandoff('schedule: "* * * * * *"'), HPATH, 'schedule', /has 6 fields, the first of seconds/, /write 5 fields, minute first: "\* \* \* \* \*"/);
    expectProblem(parseHandoff('schedule: "0 30 3 * * mon-fri"'), HPATH, 'schedule', /the first of seconds/, /"30 3 \* \* mon-fri"/);
    expect(parseHandoff('schedule: "30 3 * * mon-fri"').ok).toBe(true);
  });

  it('`to` must be a node name', () => {
    expectProblem(parseHandoff('to: GPU-Box'), HPATH, 'to', /expected a node name: 1–40 characters/, /write it as "gpu-box"/);
    expectProblem(parseHandoff('to: gpu box'), HPATH, 'to', /expected a node name/, /use a node name/);
    expectProblem(parseHandoff(`to: ${'n'.repeat(41)}`), HPATH, 'to', /expected a node name/);
    expectProblem(parseHandoff('to: [a, b]'), HPATH, 'to', /got a list of 2 items/);
  });

  it('labels must be labels', () => {
    const r = parseHandoff('labels: [gpu, "os linux", -gpu, GPU, 7]');
    expectProblem(r, HPATH, 'labels.1', /expected a label: .*, got the text "os linux"/);
    expectProblem(r, HPATH, 'labels.2', /got the text "-gpu"/);
    expectProblem(r, HPATH, 'labels.3', /got the text "GPU"/, /write it as "gpu"/);
    expectProblem(r, HPATH, 'labels.4', /got the number 7/);
    expect(problems(r).some((p) => p.field === 'labels.0')).toBe(false);
  });

  it('priority range', () => {
    expect(parseHandoff('priority: 1000').ok).toBe(true);
    expect(parseHandoff('priority: -1000').ok).toBe(true);
    expectProblem(parseHandoff('priority: 1001'), HPATH, 'priority', /expected a whole number from -1000 to 1000, got the number 1001/);
    expectProblem(parseHandoff('priority: -1001'), HPATH, 'priority', /got the number -1001/);
    expectProblem(parseHandoff('priority: 1.5'), HPATH, 'priority', /got the number 1.5/);
  });

  it('after must be task ids, not this task', () => {
    expectProblem(parseHandoff('after: [ok, "../x"]'), HPATH, 'after.1', /expected a task id/);
    expectProblem(parseHandoff(`after: [${ID}]`), HPATH, 'after.0', /the task waits for itself/);
  });

  it('workdir must stay inside the work root', () => {
    for (const dir of ['/etc', '../up', 'a/../../b', '~/x', 'C:/x', 'a\\\\b']) {
      expectProblem(parseHandoff(`workdir: "${dir}"`), HPATH, 'workdir', /leaves the work root/, /relative path/);
    }
    expect(parseHandoff('workdir: src/..app/x').ok).toBe(true);
  });

  it("a card's host name ssh could read as an option is a warning on that field; the card stays readable", () => {
    const card = (host: string): ParseResult => parseBusFile('nodes/evil.md', fm(`node: evil\nhost:\n  os: linux\n  hostname: ${JSON.stringify(host)}`));
    for (const bad of ['-oProxyCommand=touch /tmp/x', 'box name', '.hidden']) {
      const r = card(bad);
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      expect(r.warnings).toEqual([expect.objectContaining({ path: 'nodes/evil.md', field: 'host.hostname', severity: 'warning', reason: expect.stringContaining('not a host name'), fix: expect.stringContaining("the machine's host name") })]);
    }
    for (const good of ['gpu-box.lan', 'Build_01', '10.0.0.7']) {
      const r = card(good);
      expect(r.ok && r.warnings).toEqual([]);
    }
  });

  it('attempt and protocol bounds in content', () => {
    const claim = (attempt: string): ParseResult => parseBusFile(`claims/${ID}.1.md`, fm(`id: ${ID}\nattempt: ${attempt}\nnode: n\nclaimed: 2026-11-21T04:30:02Z`));
    for (const a of ['0', '-1', '1000000', '99999999999999999999']) expectProblem(claim(a), `claims/${ID}.1.md`, 'attempt', /expected an attempt number/);
    expectProblem(parseHandoff('protocol: 0'), HPATH, 'protocol', /expected the protocol version/);
  });
});
