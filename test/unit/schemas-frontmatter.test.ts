import { describe, it, expect } from 'vitest';
import { decodeFileText, findConflictMarker } from '../../schemas/file-text.js';
import { parseFrontmatter, parseYamlFile, renderFrontmatter, splitFrontmatter } from '../../schemas/frontmatter.js';
import { parseYaml, renderYaml } from '../../schemas/safe-yaml.js';

const P = 'handoffs/t.md';

function problemsOf(r: { ok: boolean; problems?: unknown }): Array<{ path: string; field: string; reason: string; fix: string; severity: string }> {
  if (r.ok) throw new Error('expected problems');
  return r.problems as Array<{ path: string; field: string; reason: string; fix: string; severity: string }>;
}

describe('splitFrontmatter', () => {
  it('splits YAML from the body, keeping the body byte for byte', () => {
    expect(splitFrontmatter('---\na: 1\n---\n## Task\n\nx\n')).toMatchObject({ ok: true, yaml: 'a: 1\n', body: '## Task\n\nx\n', frontmatterLines: 3 });
    expect(splitFrontmatter('---\na: 1\n---')).toMatchObject({ ok: true, yaml: 'a: 1\n', body: '' });
    expect(splitFrontmatter('---\n---\n')).toMatchObject({ ok: true, yaml: '', body: '' });
    expect(splitFrontmatter('---\r\na: 1\r\n---\r\nbody\r\n')).toMatchObject({ ok: true, yaml: 'a: 1\r\n', body: 'body\r\n' });
    expect(splitFrontmatter('--- \na: 1\n---\t\nb\n')).toMatchObject({ ok: true, yaml: 'a: 1\n', body: 'b\n' });
    // Only the first closing fence ends the frontmatter; later ones are Markdown rules in the body.
    expect(splitFrontmatter('---\na: 1\n---\nx\n---\ny\n')).toMatchObject({ ok: true, body: 'x\n---\ny\n' });
  });

  it.each<[string, RegExp]>([
    ['', /the file is empty/],
    ['\n\n', /the file is empty/],
    ['title: x\n', /no frontmatter: it must start with a line "---", and it starts with "title: x"/],
    ['# Task\n---\na: 1\n---\n', /no frontmatter/],
    [' ---\na: 1\n---\n', /no frontmatter/],
    ['---js\nmodule.exports = {}\n---\n', /first line is "---js", not "---"/],
    ['----\na: 1\n----\n', /first line is "----"/],
    ['---', /not closed/],
    ['---\ntitle: x\n', /not closed/],
    ['---\ntitle: x\n--\n', /not closed/],
    ['---\ntitle: x\n...\n', /not closed/],
  ])('refuses %j', (text, reason) => {
    const r = splitFrontmatter(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toMatch(reason);
      expect(r.fix).toMatch(/start the file with a line ---/);
    }
  });
});

describe('decodeFileText', () => {
  it('drops a byte-order mark from bytes and from text', () => {
    expect(decodeFileText(P, new Uint8Array([0xef, 0xbb, 0xbf, 0x61]))).toEqual({ ok: true, text: 'a' });
    expect(decodeFileText(P, '\uFEFFa')).toEqual({ ok: true, text: 'a' });
  });

  it('reports invalid UTF-8 with the offset instead of crashing', () => {
    const bytes = new Uint8Array([0x2d, 0x2d, 0x2d, 0x0a, 0x61, 0x3a, 0x20, 0xc3, 0x28, 0x0a]);
    const r = decodeFileText(P, bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toMatchObject({ path: P, field: '', severity: 'error', reason: expect.stringMatching(/not valid UTF-8 \(invalid byte sequence at byte offset 8\)/) });
    for (const bad of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x61, 0xe2, 0x82]]) {
      expect(decodeFileText(P, new Uint8Array(bad)).ok).toBe(false);
    }
  });

  it('reports lone surrogates in strings', () => {
    const r = decodeFileText(P, 'a\uD800b');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem.reason).toMatch(/lone UTF-16 surrogate/);
    expect(decodeFileText(P, 'a😀b').ok).toBe(true);
  });

  it('reports NUL bytes with their line', () => {
    const r = decodeFileText(P, '---\na: 1\n---\nx\u0000y\n');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem.reason).toMatch(/NUL byte \(line 4\)/);
  });

  it('checks the size before anything else, in bytes', () => {
    const limit = 256 * 1024;
    expect(decodeFileText(P, 'a'.repeat(limit)).ok).toBe(true);
    const over = decodeFileText(P, 'a'.repeat(limit + 1));
    expect(over.ok).toBe(false);
    if (!over.ok) expect(over.problem.reason).toMatch(/the file is 262145 bytes, more than the limit of 262144 \(256 KiB\); gitbus does not read it/);
    // 100 000 three-byte characters: short as a JS string, 300 000 bytes as a file.
    const wide = decodeFileText(P, '€'.repeat(100_000));
    expect(wide.ok).toBe(false);
    if (!wide.ok) expect(wide.problem.reason).toMatch(/300000 bytes/);
    // Invalid bytes beyond the limit are never even decoded.
    const bytes = new Uint8Array(limit + 1).fill(0xff);
    const big = decodeFileText(P, bytes);
    expect(big.ok).toBe(false);
    if (!big.ok) expect(big.problem.reason).toMatch(/more than the limit/);
    const huge = decodeFileText(P, 'x'.repeat(10 * limit));
    if (!huge.ok) expect(huge.problem.reason).toMatch(/at least 2621440 bytes/);
  });
});

describe('conflict markers', () => {
  const conflicted = '---\n<<<<<<< HEAD\ntitle: ours\n=======\ntitle: theirs\n>>>>>>> feature\n---\n';

  it('are reported as such, with the line', () => {
    const problems = problemsOf(parseFrontmatter(P, conflicted));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: P, field: '', severity: 'error' });
    expect(problems[0]?.reason).toMatch(/git conflict marker "<<<<<<<" at line 2/);
    expect(problems[0]?.fix).toMatch(/resolve the conflict/);
  });

  it('are found in the body, in diff3 style and with CRLF', () => {
    expect(problemsOf(parseFrontmatter(P, '---\ntitle: x\n---\nbody\n>>>>>>> theirs\n'))[0]?.reason).toMatch(/">>>>>>>" at line 5/);
    expect(problemsOf(parseFrontmatter(P, '---\ntitle: x\n---\n|||||||\n'))[0]?.reason).toMatch(/"\|\|\|\|\|\|\|"/);
    expect(problemsOf(parseFrontmatter(P, '---\r\n<<<<<<<\r\ntitle: x\r\n---\r\n'))[0]?.reason).toMatch(/conflict marker/);
  });

  it('count a lone ======= only inside the YAML, not as a Markdown heading underline', () => {
    expect(problemsOf(parseFrontmatter(P, '---\ntitle: x\n=======\n---\n'))[0]?.reason).toMatch(/"=======" at line 3/);
    const ok = parseFrontmatter(P, '---\ntitle: x\n---\nHeading\n=======\n\ntext\n');
    expect(ok.ok).toBe(true);
    expect(findConflictMarker('a\n<<<<<<<< not eight\n')).toBeUndefined();
    expect(findConflictMarker('a <<<<<<< inline\n')).toBeUndefined();
  });

  it('are reported in gitbus.yaml too', () => {
    expect(problemsOf(parseYamlFile('gitbus.yaml', 'protocol: 1\n<<<<<<< HEAD\nlease: 5m\n=======\nlease: 6m\n>>>>>>> x\n'))[0]?.reason).toMatch(
      /conflict marker "<<<<<<<" at line 2/,
    );
  });
});

describe('parseYaml', () => {
  it('reads the core schema: timestamps and yes/no stay text', () => {
    const r = parseYaml(P, 'a: 2026-11-21T04:29:33Z\nb: yes\nc: 0x1f\nd: 1e3\ne: ~\nf: "1"\ng: !!str 2\n');
    expect(r).toEqual({ ok: true, value: { a: '2026-11-21T04:29:33Z', b: 'yes', c: 31, d: 1000, e: null, f: '1', g: '2' } });
  });

  it('reports syntax errors with the file line', () => {
    const problems = problemsOf(parseYaml(P, 'title: "unclosed\n', 2));
    expect(problems[0]).toMatchObject({ path: P, field: '', severity: 'error' });
    expect(problems[0]?.reason).toMatch(/^YAML syntax error at line \d+, column \d+: /);
    expect(problemsOf(parseYaml(P, 'a: 1\n  b: 2\n', 2))[0]?.reason).toMatch(/YAML syntax error at line 2, column 4/);
  });

  it('reports duplicate keys with their field path', () => {
    const top = problemsOf(parseYaml(P, 'title: a\ntitle: b\n', 2));
    expect(top).toHaveLength(1);
    expect(top[0]).toMatchObject({ field: 'title', reason: 'the field "title" appears twice (again at line 3)' });
    expect(problemsOf(parseYaml(P, 'claude:\n  model: a\n  model: b\n'))[0]).toMatchObject({ field: 'claude.model' });
    expect(problemsOf(parseYaml(P, '"a": 1\na: 2\n'))[0]).toMatchObject({ field: 'a' });
  });

  it.each([
    ['title: !!js/function "function () { return process.exit(1) }"\n', 'title', '!!js/function'],
    ['title: !foo x\n', 'title', '!foo'],
    ['data: !!binary aGk=\n', 'data', '!!binary'],
    ['when: !!timestamp 2001-12-14\n', 'when', '!!timestamp'],
    ['s: !!set {a, b}\n', 's', '!!set'],
    ['l: !<tag:example.com,2000:x> [1]\n', 'l', 'tag:example.com,2000:x'],
    ['x: ! y\n', 'x', '!'],
  ])('refuses the custom tag in %j', (yaml, field, tag) => {
    const problems = problemsOf(parseYaml(P, yaml));
    expect(problems[0]).toMatchObject({ field, severity: 'error' });
    expect(problems[0]?.reason).toContain(`the YAML tag "${tag}" is not allowed`);
  });

  it('stops a billion-laughs alias expansion', () => {
    let yaml = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 10; i++) yaml += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    const started = Date.now();
    const problems = problemsOf(parseYaml(P, yaml));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(problems[0]?.reason).toMatch(/expands aliases more than 100 times \(a "billion laughs" attack/);
    // A few aliases are fine.
    expect(parseYaml(P, 'a: &x [1]\nb: *x\n')).toEqual({ ok: true, value: { a: [1], b: [1] } });
    expect(problemsOf(parseYaml(P, 'b: *nothing\n'))[0]?.reason).toMatch(/YAML|alias/);
  });

  it('does not treat << as a merge key', () => {
    expect(parseYaml(P, 'base: &b {x: 1}\n<<: *b\n')).toEqual({ ok: true, value: { base: { x: 1 }, '<<': { x: 1 } } });
  });

  it('refuses keys that are not text', () => {
    expect(problemsOf(parseYaml(P, '? [a]\n: 1\n'))[0]?.reason).toMatch(/a field name is not text/);
    expect(problemsOf(parseYaml(P, '1: a\n'))[0]?.reason).toMatch(/a field name is the number 1/);
    expect(problemsOf(parseYaml(P, '~: a\n'))[0]?.reason).toMatch(/null value/);
    expect(problemsOf(parseYaml(P, 'a:\n  true: 1\n'))[0]).toMatchObject({ field: 'a', reason: expect.stringMatching(/boolean true/) });
  });

  it('keeps __proto__ and constructor keys as plain data, changing no prototype', () => {
    const r = parseYaml(P, '__proto__: {polluted: yes}\nconstructor: {prototype: {polluted: yes}}\nnested: {__proto__: {polluted: yes}}\n');
    expect(r.ok).toBe(true);
    const value = (r as { value: Record<string, unknown> }).value;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'constructor', 'nested']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(value['nested'])).toBe(Object.prototype);
  });

  // Speed is measured in benchmarks; the bound here only catches a parse that blows up (seconds to hours), on a busy machine too.
  it('survives hostile nesting and long lines within the size limit without blowing up', () => {
    const cases = [
      `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`,
      `a: ${'{a: '.repeat(20_000)}1${'}'.repeat(20_000)}\n`,
      `a:\n${Array.from({ length: 600 }, (_, i) => `${' '.repeat(i + 1)}- \n`).join('')}`,
      `a: ${'x '.repeat(120_000)}\n`,
      `a: "${' \\t'.repeat(60_000)}x"\n`,
      `${Array.from({ length: 20_000 }, (_, i) => `k${i}: ${i}`).join('\n')}\n`,
    ];
    for (const yaml of cases) {
      const started = Date.now();
      const r = parseYaml(P, yaml);
      expect(Date.now() - started).toBeLessThan(30_000);
      if (!r.ok) expect(r.problems[0]?.reason.length).toBeGreaterThan(0);
    }
    expect(problemsOf(parseYaml(P, `a: ${'['.repeat(100)}${']'.repeat(100)}\n`))[0]?.reason).toMatch(/nested more than 64 levels deep/);
  }, 120_000);

  it("says nesting deep enough to exhaust the YAML library's recursion once, as nesting, never as a syntax error with the wrong fix", () => {
    const nested = { field: '', reason: 'the YAML is nested more than 64 levels deep', fix: 'flatten the value' };
    for (const yaml of [`a: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`, `a:\n${Array.from({ length: 3_000 }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}1\n`]) {
      const r = parseYaml(P, yaml);
      expect(r.ok).toBe(false);
      const problems = r.ok ? [] : r.problems;
      expect(problems.map((p) => p.reason)).toEqual([nested.reason]);
      expect(problems[0]?.fix).toBe(nested.fix);
    }
  });
});

describe('parseFrontmatter', () => {
  it.each<[string, RegExp]>([
    ['---\n- a\n- b\n---\n', /the frontmatter is a list, not a mapping of fields/],
    ['---\njust text\n---\n', /the frontmatter is a single text value, not a mapping/],
    ['---\n42\n---\n', /a single number value/],
    ['---\n---\n', /the frontmatter is empty, not a mapping/],
    ['---\n# only a comment\n---\n', /empty/],
    ['---\n~\n---\n', /empty/],
  ])('refuses non-mapping frontmatter %j', (text, reason) => {
    const problems = problemsOf(parseFrontmatter(P, text));
    expect(problems[0]).toMatchObject({ path: P, field: '', severity: 'error' });
    expect(problems[0]?.reason).toMatch(reason);
    expect(problems[0]?.fix).toMatch(/"name: value" lines/);
  });

  it('reads CRLF, BOM and bytes alike', () => {
    const expected = { ok: true, data: { title: 'x', labels: ['gpu'] }, body: 'b\n' };
    expect(parseFrontmatter(P, '---\ntitle: x\nlabels: [gpu]\n---\nb\n')).toEqual(expected);
    expect(parseFrontmatter(P, '\uFEFF---\ntitle: x\nlabels: [gpu]\n---\nb\n')).toEqual(expected);
    expect(parseFrontmatter(P, new TextEncoder().encode('\uFEFF---\r\ntitle: x\r\nlabels: [gpu]\r\n---\r\nb\n'))).toEqual(expected);
  });

  it('reports YAML errors at file lines', () => {
    expect(problemsOf(parseFrontmatter(P, '---\ntitle: ok\nbad: [\n---\n'))[0]?.reason).toMatch(/YAML syntax error at line [34]/);
  });
});

describe('rendering', () => {
  it('writes the schema comment, the YAML and the body', () => {
    expect(renderFrontmatter({ title: 'x', labels: ['gpu', 'os:linux'] }, '## Task\n', '../schemas/handoff.schema.json')).toBe(
      '---\n# yaml-language-server: $schema=../schemas/handoff.schema.json\ntitle: x\nlabels: [gpu, os:linux]\n---\n## Task\n',
    );
    expect(renderFrontmatter({ a: 1 }, '')).toBe('---\na: 1\n---\n');
  });

  it('quotes what YAML would read as another type, and reads it back', () => {
    const value = { a: 'true', b: '123', c: 'null', d: '~', e: '0x1f', f: '1e3', g: '.inf', h: '', i: ' lead', j: 'a: b', k: 'a #b', l: '- x', m: '[x]', n: '*x', o: '&x', p: '!x', q: '%x', r: '@x', s: '`x', t: '"', u: "'", v: 'yes' };
    const text = renderYaml(value);
    expect(parseYaml(P, text)).toEqual({ ok: true, value });
  });

  it('never writes aliases, even for shared objects', () => {
    const shared = ['gpu'];
    const text = renderYaml({ a: shared, b: shared, c: { x: shared } });
    expect(text).not.toMatch(/[&*]/);
  });

  it('does not fold long lines', () => {
    const long = 'word '.repeat(100).trim();
    expect(renderYaml({ title: long })).toBe(`title: ${long}\n`);
  });
});
