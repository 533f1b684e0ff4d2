import { describe, expect, it } from 'vitest';
import { parseBusFile, renderBusFile } from '../../schemas/bus-file.js';
import { fastBusFileRead } from '../../schemas/bus-file-fast-read.js';
import { fastHandoffText } from '../../schemas/handoff-fast.js';
import type { Handoff } from '../../schemas/handoff.js';
import { pathFor } from '../../schemas/layout.js';
import { pick, prng } from '../helpers/seeded-random.js';
import { BODIES, drawHandoff, ID, OTHER } from '../helpers/handoff-draws.js';
import { EDITS, expectParserReading } from '../helpers/bus-file-edits.js';

const PATH = pathFor({ kind: 'handoff', id: ID });

describe('fastBusFileRead on a handoff (one dispatch wrote, read without zod or yaml)', () => {
  it('reads every handoff fastHandoffText writes as parseBusFile does, key order and body included', () => {
    const rand = prng(49);
    let written = 0;
    let read = 0;
    for (let i = 0; i < 6000; i++) {
      const h = drawHandoff(rand);
      const body = pick(rand, BODIES);
      const text = fastHandoffText(h, body);
      if (text === undefined) continue;
      written++;
      if (expectParserReading(PATH, text)) read++;
      // The same bytes from the object store.
      expectParserReading(PATH, Buffer.from(text, 'utf8'));
    }
    // Only the handoffs whose rules warn (a claude task without a repo, say) are left to the schemas.
    expect(written).toBeGreaterThan(1000);
    expect(read).toBeGreaterThan(written * 0.75);
  });

  it('never reads a file otherwise than parseBusFile, whatever was edited in it', () => {
    const rand = prng(4949);
    let edited = 0;
    let taken = 0;
    for (let i = 0; i < 8000; i++) {
      const h = drawHandoff(rand);
      const text = fastHandoffText(h, pick(rand, BODIES));
      if (text === undefined) continue;
      const changed = pick(rand, EDITS)(text, rand);
      if (changed === text) continue;
      edited++;
      if (expectParserReading(PATH, changed)) taken++;
    }
    expect(edited).toBeGreaterThan(1000);
    // Most edits send the file to the schemas; those taken are edits that changed a value in the writer's own form.
    expect(taken).toBeLessThan(edited * 0.5);
  });

  it('leaves to the schemas a file renderBusFile writes with what the fast writer leaves to yaml', () => {
    const base: Handoff = { id: ID, title: 'Run the tests', from: 'bench', created: '2026-12-05T10:15:00.853Z', runner: 'manual' };
    const cases: Handoff[] = [
      { ...base, title: '%x' },
      { ...base, title: '--- a rule' },
      { ...base, schedule: '0 3 * * *' },
      { ...base, runner: 'claude', claude: { model: 'sonnet' } },
      { ...base, protocol: 1 },
    ];
    for (const h of cases) {
      const text = renderBusFile('handoff', h, '## Task\n\nx\n');
      expect(parseBusFile(PATH, text).ok, JSON.stringify(h)).toBe(true);
      expect(fastBusFileRead(PATH, text), JSON.stringify(h)).toBeUndefined();
    }
  });

  it('reads a file only at its own path: another id in the name is the schemas\' to word', () => {
    const text = fastHandoffText({ id: ID, title: 'x', from: 'bench', created: '2026-12-05T10:15:00.853Z', runner: 'manual' }, 'x');
    expect(text).toBeDefined();
    expect(fastBusFileRead(PATH, text as string)?.data.id).toBe(ID);
    expect(fastBusFileRead(pathFor({ kind: 'handoff', id: OTHER }), text as string)).toBeUndefined();
    expect(parseBusFile(pathFor({ kind: 'handoff', id: OTHER }), text as string).ok).toBe(false);
  });
});
