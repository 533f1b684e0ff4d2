import { describe, expect, it } from 'vitest';
import { parseBusFile, renderBusFile, schemaRefFor } from '../../schemas/bus-file.js';
import { fastHandoffText, handoffFieldOk, HANDOFF_SCHEMA_REF } from '../../schemas/handoff-fast.js';
import { HANDOFF_FIELDS } from '../../schemas/handoff-fields.js';
import { handoffSchema, type Handoff } from '../../schemas/handoff.js';
import { knownKeysAt } from '../../schemas/schema-walk.js';
import { pathFor } from '../../schemas/layout.js';
import { pick, pick as pickOne, prng, yamlishString } from '../helpers/seeded-random.js';

const ID = '20261205-101500-5j5m4r';
const OTHER = '20261205-101501-abcdef';
const COMMIT = 'a'.repeat(40);

/** What the schemas make of it: the text renderBusFile writes and whether parseBusFile accepts it. */
function bySchemas(h: Handoff, body: string): { text?: string; ok: boolean } {
  let text: string;
  try {
    text = renderBusFile('handoff', h, body);
  } catch {
    return { ok: false };
  }
  return { text, ok: parseBusFile(pathFor({ kind: 'handoff', id: ID }), text).ok };
}

/** Values of each field, valid and not, drawn so that most handoffs are valid and each rule is hit. */
function field(rand: () => number, key: (typeof HANDOFF_FIELDS)[number]): unknown {
  // Mostly the first two of each list (valid values), else any.
  const v = rand() < 0.7;
  const pick = <T>(r: () => number, items: readonly T[]): T => pickOne(r, v ? items.slice(0, 2) : items);
  const s = () => yamlishString(rand, 4);
  switch (key) {
    case 'title': return v ? s() || 'x' : pick(rand, ['Run the tests', 'fix: the build (again)', "it's \"quoted\"", '- a list?', 'x'.repeat(200), 'x'.repeat(201), '', ' ', 'a\nb', s(), s(), s()]);
    case 'from': return pick(rand, ['bench', 'ada@laptop', s(), 'x'.repeat(101)]);
    case 'created': return pick(rand, ['2026-12-05T10:15:00.853Z', '2026-12-05T10:15:00+01:00', '2026-13-01T00:00:00Z', 'now', 42]);
    case 'to': return pick(rand, ['node-1', 'gpu.box', 'Bad Name', 'x'.repeat(41), s()]);
    case 'labels': return pick(rand, [['gpu'], ['a:b', 'c.d'], [], ['BAD'], [''], [s()], 'gpu', ['1e3', 'true', '0x1f', 'null', '0o17', '1.5', '42']]);
    case 'runner': return pick(rand, ['manual', 'claude', 'shell', 'tmux', 'icecc', 'merge', 'nope']);
    case 'command': return pick(rand, ['make test', 'echo "a: b" # c', 'a\nb', 'x'.repeat(16 * 1024 + 1), '', s(), s()]);
    case 'workdir': return pick(rand, ['src', 'src/project', '../up', '/abs', '~/x', 'a\\b', 'C:x', s()]);
    case 'repo': return pick(rand, ['git@host:team/app.git', '/srv/git/app.git', 'https://host/app.git', 'https://u:p@host/a.git', '-x', 'ext::sh', 'a b', s()]);
    case 'base': return pick(rand, ['main', COMMIT, 'v1.2', '-x', 'a b', s()]);
    case 'baseCommit': return pick(rand, [COMMIT, 'b'.repeat(64), 'xyz', s()]);
    case 'branch': return pick(rand, ['gitbus/' + ID, 'feature/x', 'a..b', 'gitbus/A/B', '-x', 'x.lock', s()]);
    case 'group': case 'workstream': return pick(rand, ['g1', 'fan.out-2', 'Bad', '', s(), '123', '1e3', 'null', '1.5']);
    case 'resumes': return pick(rand, [OTHER, OTHER, 'Bad id', s(), '1e3', 'true', '0o17']);
    case 'after': return pick(rand, [[OTHER], [], [OTHER, OTHER], [ID], ['Bad'], [s()], ['123', 'null', '0x1f']]);
    case 'priority': return pick(rand, [5, -1000, 1000, 0, 1001, 1.5, '3', -0]);
    case 'timeout': return pick(rand, ['30m', '1h30m', '0s', '10', 'x', s()]);
    case 'autoCommit': case 'keep': return pick(rand, [true, false, 'yes']);
    case 'schedule': return pick(rand, ['0 3 * * *', 'x']);
    case 'claude': return pick(rand, [{ model: 'sonnet' }, {}]);
    case 'merge': return pick(rand, [['feature/x'], []]);
    case 'protocol': return pick(rand, [1, 2]);
    case 'id': return ID;
  }
}

function handoff(rand: () => number): Handoff {
  const h: Record<string, unknown> = { id: ID, title: field(rand, 'title'), from: 'bench', created: '2026-12-05T10:15:00.853Z' };
  for (const key of HANDOFF_FIELDS) if (key !== 'id' && key !== 'title' && rand() < (key === 'schedule' || key === 'claude' || key === 'merge' || key === 'protocol' ? 0.02 : 0.12)) h[key] = field(rand, key);
  if (rand() < 0.02) h['unknown'] = 'x';
  if (rand() < 0.02) delete h['title'];
  return h as Handoff;
}

const BODIES = ['## Task\n\nRun the tests\n', '', 'x', '## Task\n\nx\n', '## Task\n\nx\n', 'é\r\n', '---\n', 'a\n---\nb\n', '<<<<<<< HEAD\nx\n', '=======\n', 'é\r\n', 'x'.repeat(256 * 1024)];

describe('fastHandoffText (a dispatch\'s handoff without zod or yaml)', () => {
  it('writes exactly what renderBusFile writes, and only files parseBusFile accepts', () => {
    const rand = prng(41);
    let fast = 0;
    let valid = 0;
    for (let i = 0; i < 4000; i++) {
      const h = handoff(rand);
      const body = pick(rand, BODIES);
      const mine = fastHandoffText(h, body);
      const theirs = bySchemas(h, body);
      if (theirs.ok) valid++;
      if (mine === undefined) continue;
      fast++;
      expect(theirs.ok, JSON.stringify(h)).toBe(true);
      expect(mine, JSON.stringify(h)).toBe(theirs.text);
      // And read back, it is the same handoff and body (core-schema look-alikes such as an id "1e3" stay text).
      const back = parseBusFile(pathFor({ kind: 'handoff', id: h.id as string }), mine);
      expect(back.ok && back.file.body, JSON.stringify(h)).toBe(body);
      expect(back.ok && back.file.data, JSON.stringify(h)).toEqual(Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)));
    }
    // The comparison covers both halves: many handoffs are valid, and most valid ones are taken here.
    expect(valid).toBeGreaterThan(600);
    expect(fast).toBeGreaterThan(valid * 0.6);
  });

  it('takes the handoffs dispatch writes from its flags', () => {
    const base = { id: ID, title: 'Run the tests', from: 'bench', created: '2026-12-05T10:15:00.853Z' };
    const cases: Handoff[] = [
      base,
      { ...base, command: 'make test -j8', to: 'gpu-box', labels: ['gpu', 'linux'], priority: 5, after: [OTHER], timeout: '30m', workdir: 'src/app' },
      { ...base, runner: 'claude', title: 'fix: the flaky test in "auth"' },
      { ...base, runner: 'manual', group: 'release', workstream: 'docs' },
      { ...base, command: 'npm test', repo: 'git@github.com:team/app.git', base: 'main', baseCommit: COMMIT, branch: `gitbus/${ID}`, autoCommit: false },
      { ...base, runner: 'tmux', command: 'htop', keep: true },
      { ...base, runner: 'claude', resumes: OTHER },
    ];
    for (const h of cases) {
      const text = fastHandoffText(h, '## Task\n\nx\n');
      expect(text, JSON.stringify(h)).toBe(renderBusFile('handoff', h, '## Task\n\nx\n'));
    }
  });

  it('leaves to the schemas what breaks a rule or what it does not check itself', () => {
    const base = { id: ID, title: 'Run the tests', from: 'bench', created: '2026-12-05T10:15:00.853Z' };
    const cases: [Handoff, string][] = [
      [{ ...base, title: '' }, 'x'],
      [{ ...base, title: 'a\nb' }, 'x'],
      [{ ...base, title: 'x'.repeat(201) }, 'x'],
      [{ ...base, runner: 'shell' }, 'x'],
      [{ ...base, priority: 1001 }, 'x'],
      [{ ...base, after: [ID] }, 'x'],
      [{ ...base, branch: 'feature/x' }, 'x'],
      [{ ...base, schedule: '0 3 * * *' }, 'x'],
      [{ ...base, runner: 'claude', claude: { model: 'sonnet' } }, 'x'],
      [{ ...base, ['x-note' as 'title']: 'x' }, 'x'],
      [base, '<<<<<<< HEAD\n'],
      [base, 'x'.repeat(256 * 1024)],
    ];
    for (const [h, body] of cases) expect(fastHandoffText(h, body), JSON.stringify(h).slice(0, 200)).toBeUndefined();
  });

  it('takes a field\'s value (as dispatch\'s flags do) only when the field\'s schema does', () => {
    const rand = prng(7);
    let taken = 0;
    for (let i = 0; i < 6000; i++) {
      const key = pick(rand, HANDOFF_FIELDS);
      const value = rand() < 0.5 ? field(rand, key) : yamlishString(rand, 4);
      if (!handoffFieldOk(key, value)) continue;
      taken++;
      expect(handoffSchema.shape[key].safeParse(value).success, `${key}: ${JSON.stringify(value)}`).toBe(true);
    }
    expect(taken).toBeGreaterThan(1500);
  });

  it('takes no list with a hole, which the schema refuses (an every() skips holes)', () => {
    const after: string[] = [];
    after[1] = OTHER;
    const labels: string[] = [];
    labels[2] = 'gpu';
    expect(handoffSchema.shape.after.safeParse(after).success).toBe(false);
    expect(handoffFieldOk('after', after)).toBe(false);
    expect(handoffSchema.shape.labels.safeParse(labels).success).toBe(false);
    expect(handoffFieldOk('labels', labels)).toBe(false);
  });

  it('leaves to the schemas data renderBusFile refuses for its shape: an unknown key even when undefined, fields from a prototype', () => {
    const base = { id: ID, title: 'Run the tests', from: 'bench', created: '2026-12-05T10:15:00.853Z' };
    const inherited = Object.assign(Object.create({ to: 'gpu-box' }) as object, base) as Handoff;
    const cases: Handoff[] = [{ ...base, ['unknown' as 'to']: undefined }, { ...base, ['x-note' as 'to']: undefined }, inherited];
    for (const h of cases) {
      expect(() => renderBusFile('handoff', h, 'x'), JSON.stringify(h)).toThrow();
      expect(fastHandoffText(h, 'x'), JSON.stringify(h)).toBeUndefined();
    }
    // A mapping without a prototype is plain data to renderBusFile, and taken here too.
    const bare = Object.assign(Object.create(null) as object, base) as Handoff;
    expect(fastHandoffText(bare, 'x')).toBe(renderBusFile('handoff', bare, 'x'));
  });

  it('knows the handoff\'s fields in the schema\'s order, and its schema\'s place', () => {
    expect([...HANDOFF_FIELDS]).toEqual(knownKeysAt(handoffSchema, []));
    expect(HANDOFF_SCHEMA_REF).toBe(schemaRefFor('handoff'));
  });
});
