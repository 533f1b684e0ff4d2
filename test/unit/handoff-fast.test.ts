import { describe, expect, it } from 'vitest';
import { parseBusFile, renderBusFile, schemaRefFor } from '../../schemas/bus-file.js';
import { fastHandoffText, handoffFieldOk, HANDOFF_SCHEMA_REF } from '../../schemas/handoff-fast.js';
import { HANDOFF_FIELDS } from '../../schemas/handoff-fields.js';
import { handoffSchema, type Handoff } from '../../schemas/handoff.js';
import { knownKeysAt } from '../../schemas/schema-walk.js';
import { pathFor } from '../../schemas/layout.js';
import { pick, prng, yamlishString } from '../helpers/seeded-random.js';
import { BODIES, COMMIT, drawHandoff, field, ID, OTHER } from '../helpers/handoff-draws.js';

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


describe('fastHandoffText (a dispatch\'s handoff without zod or yaml)', () => {
  it('writes exactly what renderBusFile writes, and only files parseBusFile accepts', () => {
    const rand = prng(41);
    let fast = 0;
    let valid = 0;
    for (let i = 0; i < 4000; i++) {
      const h = drawHandoff(rand);
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
