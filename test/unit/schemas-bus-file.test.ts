import { describe, it, expect } from 'vitest';
import { checkBusData, parseArchivedFile, parseBusFile, parseSettingsFile, renderBusFile, renderSettings, type Extras } from '../../schemas/bus-file.js';
import { InvalidBusFileError } from '../../schemas/errors.js';
import { type Handoff } from '../../schemas/handoff.js';
import { effectiveRunner } from '../../schemas/field-limits.js';
import type { KindData } from '../../schemas/kinds.js';
import { pathFor, type BusKind, type BusPath } from '../../schemas/layout.js';
import { archivePathFor } from '../../schemas/archive-layout.js';
import { DEFAULT_SETTINGS, resolveSettings } from '../../schemas/settings.js';
import { expectProblem, fm, HPATH, ID } from './schemas-bus-file-helpers.js';

// ----- a full example of every kind, every field set -----

interface Example<K extends BusKind> {
  kind: K;
  location: BusPath;
  data: KindData[K];
  body: string;
  extras: Extras;
}

const examples: Example<BusKind>[] = [
  {
    kind: 'handoff',
    location: { kind: 'handoff', id: ID },
    data: {
      protocol: 1,
      id: ID,
      title: 'Run the GPU validation suite: "all" of it #1',
      from: 'laptop',
      created: '2026-11-21T04:29:33.412Z',
      to: 'gpu-box',
      labels: ['gpu', 'os:linux', 'cuda.12'],
      runner: 'tmux',
      command: 'set -e\nmake validate \\\n  ARGS="--all"\necho done  \n',
      workdir: 'src/app',
      after: ['20261120-000000-aaaaaa', 'other_task'],
      priority: -5,
      timeout: '2h',
      schedule: '0 3 * * mon-fri',
      keep: true,
    },
    body: '## Task\n\nRun the GPU validation suite.\n\n## Git state\n\n```\nmain 1a2b3c\n```\n',
    extras: { $schema: '../schemas/handoff.schema.json', 'x-ticket': 'OPS-12', 'x-meta': { tags: ['a', 'b'], n: 1.5, ok: null } },
  },
  {
    kind: 'handoff',
    location: { kind: 'handoff', id: 'claude-task' },
    data: {
      title: 'Summarise the logs',
      runner: 'claude',
      claude: { model: 'sonnet', permissionMode: 'acceptEdits', allowedTools: ['Bash(git *)', 'Read'], maxBudgetUsd: 2.5, resume: 'abc-123' },
    },
    body: '',
    extras: {},
  },
  {
    kind: 'claim',
    location: { kind: 'claim', id: ID, attempt: 2 },
    data: { protocol: 1, id: ID, attempt: 2, node: 'gpu-box', claimed: '2026-11-21T04:30:02.118Z', by: 'watcher', reclaims: { attempt: 1, node: 'old-box', reason: 'lease expired' } },
    body: '',
    extras: { 'x-pid': 4242 },
  },
  {
    kind: 'release',
    location: { kind: 'release', id: ID, attempt: 1 },
    data: { id: ID, attempt: 1, node: 'gpu-box', released: '2026-11-21T05:00:00+01:00', reason: 'watcher shutting down\nsecond line' },
    body: 'Shutting down for maintenance.\n',
    extras: {},
  },
  {
    kind: 'cancel',
    location: { kind: 'cancel', id: ID },
    data: { protocol: 1, id: ID, by: 'Ada Lovelace', cancelled: '2026-11-21T06:00:00Z', reason: 'not needed' },
    body: '',
    extras: {},
  },
  {
    kind: 'response',
    location: { kind: 'response', id: ID },
    data: {
      protocol: 1,
      id: ID,
      status: 'timed-out',
      node: 'gpu-box',
      attempt: 2,
      finished: '2026-11-21T06:30:00.000Z',
      started: '2026-11-21T04:30:03.000Z',
      exitCode: null,
      runner: 'claude',
      durationMs: 7_197_000,
      reason: 'the run took longer than 2h',
      claude: { sessionId: 's-1', costUsd: 0.1234, turns: 12, model: 'opus' },
    },
    body: '## Summary\n\nTimed out.\n\n## Output\n\n```\n...\n```\n',
    extras: {},
  },
  {
    kind: 'response',
    location: { kind: 'response', id: 'ok' },
    data: { id: 'ok', status: 'succeeded', node: 'n', finished: '2026-11-21T06:30:00Z', exitCode: 0 },
    body: '',
    extras: {},
  },
  {
    kind: 'node',
    location: { kind: 'node', node: 'gpu-box' },
    data: {
      protocol: 1,
      node: 'gpu-box',
      labels: ['gpu', 'os:linux'],
      runners: ['shell', 'tmux', 'claude'],
      parallel: 2,
      version: '0.1.0',
      host: { os: 'linux', arch: 'x64', cpus: 32, memoryMb: 128_000, hostname: 'gpu-box.lan' },
      joined: '2026-11-01T00:00:00Z',
      updated: '2026-11-21T04:00:00Z',
    },
    body: 'The big box under the desk.\n',
    extras: {},
  },
  {
    kind: 'settings',
    location: { kind: 'settings' },
    data: { protocol: 1, name: 'fleet', lease: '5m', heartbeat: '30s', poll: '30s', archiveAfter: '1d', maxAttempts: 3 },
    body: '',
    extras: { 'x-owner': 'ops' },
  },
];

describe('round trip', () => {
  for (const ex of examples) {
    it(`${ex.kind} ${JSON.stringify(ex.location)}: parse(render(x)) is x, render(parse(text)) is text`, () => {
      const text = renderBusFile(ex.kind, ex.data, ex.body, ex.extras);
      const r = parseBusFile(pathFor(ex.location), text);
      if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
      expect(r.kind).toBe(ex.kind);
      expect(r.location).toEqual(ex.location);
      expect(r.file).toEqual({ data: ex.data, body: ex.body, extras: ex.extras });
      expect(r.warnings).toEqual([]);
      expect(renderBusFile(r.kind, r.file.data, r.file.body, r.file.extras)).toBe(text);
    });
  }

  it('writes the handoff the way PROTOCOL.md shows it', () => {
    const text = renderBusFile(
      'handoff',
      { id: ID, title: 'Run the GPU validation suite', from: 'laptop', created: '2026-11-21T04:29:33.412Z', labels: ['gpu'], runner: 'shell', command: 'make validate', priority: 5 },
      '## Task\n\nRun the GPU validation suite on the gpu-validation branch.\n',
    );
    expect(text).toBe(
      [
        '---',
        '# yaml-language-server: $schema=../schemas/handoff.schema.json',
        `id: ${ID}`,
        'title: Run the GPU validation suite',
        'from: laptop',
        'created: 2026-11-21T04:29:33.412Z',
        'labels: [gpu]',
        'runner: shell',
        'command: make validate',
        'priority: 5',
        '---',
        '## Task',
        '',
        'Run the GPU validation suite on the gpu-validation branch.',
        '',
      ].join('\n'),
    );
  });

  it('writes fields in declared order whatever order the data has, $schema first and x- keys last', () => {
    const text = renderBusFile('claim', { claimed: '2026-11-21T04:30:02Z', node: 'n', attempt: 1, id: ID }, '', { 'x-b': 1, $schema: 's', 'x-a': 2 });
    expect(text).toBe(`---\n# yaml-language-server: $schema=../schemas/claim.schema.json\n$schema: s\nid: ${ID}\nattempt: 1\nnode: n\nclaimed: 2026-11-21T04:30:02Z\nx-b: 1\nx-a: 2\n---\n`);
  });

  it('writes gitbus.yaml as PROTOCOL.md shows it', () => {
    expect(renderSettings({ ...DEFAULT_SETTINGS, name: 'fleet' })).toBe(
      '# gitbus bus settings; see docs/PROTOCOL.md\n# yaml-language-server: $schema=schemas/settings.schema.json\nprotocol: 1\nname: fleet\nlease: 5m\nheartbeat: 30s\npoll: 30s\narchiveAfter: 1d\nmaxAttempts: 3\n',
    );
  });

  it('round-trips awkward text in every text field', () => {
    // A fixed pseudo-random generator, so failures reproduce.
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pieces = ['a', ' ', '  ', ':', ': ', ' #', '#', '-', '- ', '?', '[', ']', '{', '}', ',', '&', '*', '!', '|', '>', "'", '"', '%', '@', '`', '\\', 'true', 'null', '~', '0x1f', '1e3', '.inf', '0', '-1', '😀', 'é', '\t', '\n', '\n\n', '\r\n', '---', '...', '<<', 'yes', '\u00a0', '\u2028'];
    for (let i = 0; i < 300; i++) {
      let text = '';
      const n = 1 + next(12);
      for (let j = 0; j < n; j++) text += pieces[next(pieces.length)];
      const reason = text.replace(/\u2028/g, '');
      if (reason.trim() === '') continue;
      const title = reason.replace(/[\t\n\r]/g, ' ');
      if (title.trim() === '') continue;
      const data: Handoff = { title, command: reason, runner: 'shell' };
      const body = `${reason}\n`;
      const rendered = renderBusFile('handoff', data, body, { 'x-free': reason });
      const r = parseBusFile('handoffs/t.md', rendered);
      if (!r.ok) throw new Error(`${JSON.stringify(reason)}: ${JSON.stringify(r.problems)}\n${rendered}`);
      expect(r.file).toEqual({ data, body, extras: { 'x-free': reason } });
      expect(renderBusFile(r.kind, r.file.data, r.file.body, r.file.extras)).toBe(rendered);
    }
  });

  it('accepts CRLF line endings and a byte-order mark, as text or as bytes', () => {
    const lf = fm(`id: ${ID}\ntitle: x\nlabels: [gpu]`, 'body\n');
    const crlf = `\uFEFF${lf.replace(/\n/g, '\r\n')}`;
    for (const content of [crlf, new TextEncoder().encode(crlf)]) {
      const r = parseBusFile(HPATH, content);
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      expect(r.file.data).toEqual({ id: ID, title: 'x', labels: ['gpu'] });
      expect(r.file.body).toBe('body\r\n');
    }
  });
});

describe('rules across fields', () => {
  it('shell, tmux and icecc tasks need a command', () => {
    expectProblem(parseBusFile(HPATH, fm('title: x\nrunner: tmux')), HPATH, 'command', /the tmux runner needs a command, and there is none/, /runner: manual/);
    expect(parseBusFile(HPATH, fm('title: x')).ok).toBe(true);
    expect(parseBusFile(HPATH, fm('title: x\nrunner: claude')).ok).toBe(true);
  });

  it('warns about settings that do not apply', () => {
    const r = parseBusFile(HPATH, fm('title: x\ncommand: make\nkeep: true\nclaude: {model: x}\nafter: [a, a]'));
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.warnings.map((w) => [w.field, w.severity])).toEqual([
      ['keep', 'warning'],
      ['claude', 'warning'],
      ['after.1', 'warning'],
    ]);
  });

  it('a reclaim names an earlier attempt', () => {
    const r = parseBusFile(`claims/${ID}.2.md`, fm(`id: ${ID}\nattempt: 2\nnode: n\nclaimed: 2026-11-21T04:30:02Z\nreclaims: {attempt: 2, node: m}`));
    expectProblem(r, `claims/${ID}.2.md`, 'reclaims.attempt', /only an earlier attempt can be reclaimed/);
  });

  it('the default runner', () => {
    expect(effectiveRunner({ command: 'make' })).toBe('shell');
    expect(effectiveRunner({})).toBe('manual');
    expect(effectiveRunner({ runner: 'tmux', command: 'x' })).toBe('tmux');
  });
});

describe('protocol versions', () => {
  it('a file for a newer protocol is unsupported, not invalid, even with fields this version does not know', () => {
    const r = parseBusFile(HPATH, fm('protocol: 2\ntitle: x\nnewField: 1'));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.unsupportedProtocol).toBe(2);
      expect(r.location).toEqual({ kind: 'handoff', id: ID });
      expect(r.problems).toEqual([expect.objectContaining({ field: 'protocol', severity: 'warning' })]);
    }
    const s = parseSettingsFile('protocol: 3\n');
    expect(s.ok === false && s.unsupportedProtocol).toBe(3);
  });
});

describe('settings', () => {
  it('defaults and resolution', () => {
    expect(DEFAULT_SETTINGS).toEqual({ protocol: 1, lease: '5m', heartbeat: '30s', poll: '30s', archiveAfter: '1d', maxAttempts: 3 });
    expect(resolveSettings({ protocol: 1 })).toEqual({ protocol: 1, leaseMs: 300_000, heartbeatMs: 30_000, pollMs: 30_000, archiveAfterMs: 86_400_000, maxAttempts: 3 });
    const r = parseSettingsFile('protocol: 1\nname: fleet\nlease: 10m\n');
    expect(r).toMatchObject({ ok: true, settings: { protocol: 1, name: 'fleet', leaseMs: 600_000, heartbeatMs: 30_000 } });
    expect(r.ok && r.file.data).toEqual({ protocol: 1, name: 'fleet', lease: '10m' });
  });

  it('comments in gitbus.yaml are fine; rules are checked', () => {
    expect(parseSettingsFile('# hello\nprotocol: 1 # v1\n').ok).toBe(true);
    expectProblem(parseBusFile('gitbus.yaml', 'protocol: 1\nmaxAttempts: 0\n'), 'gitbus.yaml', 'maxAttempts', /expected a whole number from 1 to 100, got the number 0/);
    expectProblem(parseBusFile('gitbus.yaml', 'protocol: 1\nlease: 0s\n'), 'gitbus.yaml', 'lease', /greater than zero/);
    expect(parseBusFile('gitbus.yaml', 'protocol: 1\narchiveAfter: 0s\n').ok).toBe(true);
    const w = parseSettingsFile('protocol: 1\nlease: 30s\nheartbeat: 1m\n');
    expect(w.ok && w.warnings[0]).toMatchObject({ field: 'heartbeat', severity: 'warning', reason: expect.stringMatching(/not shorter than the lease/) });
    const slow = parseSettingsFile('protocol: 1\nlease: 1m\nheartbeat: 40s\npoll: 45s\n');
    expect(slow.ok && slow.warnings[0]).toMatchObject({ field: 'heartbeat', severity: 'warning', reason: expect.stringMatching(/longer than half the lease/) });
    expect(parseSettingsFile('protocol: 1\nlease: 1m\nheartbeat: 40s\npoll: 20s\n')).toMatchObject({ ok: true, warnings: [] });
  });

  it('gitbus.yaml is YAML, not frontmatter: a body after a second document is an error', () => {
    expect(parseBusFile('gitbus.yaml', '---\nprotocol: 1\n').ok).toBe(true);
    expectProblem(parseBusFile('gitbus.yaml', '---\nprotocol: 1\n---\nSome notes\n'), 'gitbus.yaml', '', /YAML syntax error .*multiple documents/);
  });
});

describe('renderBusFile refuses invalid data', () => {
  it('throws InvalidBusFileError with the problems', () => {
    expect(() => renderBusFile('handoff', { title: '' }, '')).toThrow(InvalidBusFileError);
    try {
      renderBusFile('claim', { id: ID, attempt: 0, node: 'N', claimed: 'now' }, '');
      expect.unreachable();
    } catch (err) {
      const e = err as InvalidBusFileError;
      expect(e.code).toBe('INVALID_BUS_FILE');
      expect(e.problems.map((p) => p.field)).toEqual(['attempt', 'node', 'claimed']);
      expect(e.problems[0]?.path).toBe('claims/(new claim)');
    }
    expect(() => renderBusFile('handoff', { title: 'x', runner: 'shell' }, '')).toThrow(/needs a command/);
    expect(() => renderBusFile('handoff', { title: 'x', bogus: 1 } as Handoff, '')).toThrow(/unknown field "bogus"/);
    expect(() => renderBusFile('handoff', { title: 'x' }, '', { notExtra: 1 })).toThrow(/"notExtra" is not an extra field/);
    expect(() => renderBusFile('handoff', { title: 'x' }, '', { 'x-fn': () => 1 })).toThrow(/not plain data/);
    expect(() => renderBusFile('handoff', { title: 'x' }, '', { 'x-date': new Date() })).toThrow(/not plain data/);
    expect(() => renderBusFile('settings', { protocol: 1 }, 'body')).toThrow(/gitbus.yaml has no body/);
  });

  it('leaves out keys whose value is undefined', () => {
    const text = renderBusFile('handoff', { title: 'x', to: undefined, claude: undefined }, '', { 'x-a': undefined });
    expect(text).toBe('---\n# yaml-language-server: $schema=../schemas/handoff.schema.json\ntitle: x\n---\n');
  });

  it('checkBusData reports without throwing', () => {
    expect(checkBusData('handoff', { title: 'x', command: 'make' })).toEqual([]);
    expect(checkBusData('node', { node: 'Bad' }).map((p) => [p.path, p.field])).toEqual([['nodes/(new node)', 'node']]);
  });
});

describe('archived files', () => {
  it('parse like live ones, identity checked against the archive path', () => {
    const text = renderBusFile('claim', { id: ID, attempt: 1, node: 'n', claimed: '2026-11-21T04:30:02Z' }, '');
    const path = archivePathFor('2026-11', { kind: 'claim', id: ID, attempt: 1 });
    const r = parseArchivedFile(path, text);
    expect(r.ok && r.location).toEqual({ kind: 'claim', id: ID, attempt: 1 });
    const wrong = parseArchivedFile(`2026-11/${ID}/claim.2.md`, text);
    expectProblem(wrong, `2026-11/${ID}/claim.2.md`, 'attempt', /does not match the file name, which says 2/);
    expectProblem(parseArchivedFile(`2026-11/${ID}/notes.md`, text), `2026-11/${ID}/notes.md`, '', /not an archived file name/);
    expectProblem(parseArchivedFile(`2026-11/other/response.md`, renderBusFile('response', { id: ID, status: 'failed', node: 'n', finished: '2026-11-21T06:00:00Z' }, '')), '2026-11/other/response.md', 'id', /does not match/);
  });
});
