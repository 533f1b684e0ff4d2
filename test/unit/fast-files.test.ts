import { describe, expect, it } from 'vitest';
import { parseBusFile, renderBusFile, schemaRefFor } from '../../schemas/bus-file.js';
import { fastBusFileRead } from '../../schemas/bus-file-fast-read.js';
import { CLAIM, CLAIM_SCHEMA_REF, fastClaimText } from '../../schemas/claim-fast.js';
import { CLAIM_FIELDS } from '../../schemas/claim-fields.js';
import { claimSchema, type Claim } from '../../schemas/claim.js';
import { RUNNERS } from '../../schemas/field-limits.js';
import { isAttempt, isTaskId } from '../../schemas/ids.js';
import { pathFor } from '../../schemas/layout.js';
import { fastResponseText, RESPONSE, RESPONSE_SCHEMA_REF } from '../../schemas/response-fast.js';
import { RESPONSE_FIELDS, RESPONSE_STATUSES } from '../../schemas/response-fields.js';
import { responseSchema, type TaskResponse } from '../../schemas/response.js';
import { knownKeysAt } from '../../schemas/schema-walk.js';
import { EDITS, expectParserReading } from '../helpers/bus-file-edits.js';
import { BODIES, ID } from '../helpers/handoff-draws.js';
import { pick as pickOne, prng, yamlishString } from '../helpers/seeded-random.js';

/**
 * The claims and responses gitbus writes, made and read without zod or yaml (schemas/claim-fast.ts, response-fast.ts,
 * bus-file-fast-read.ts), held to renderBusFile and parseBusFile as test/unit/handoff-fast.test.ts and
 * handoff-fast-read.test.ts hold the handoff's.
 */

const TIME = '2026-12-06T04:38:08.965Z';
const LATER = '2026-12-06T04:38:09.001Z';

/** Mostly valid values (the first two of each list), else any, so that each field's rule is hit. */
function drawer(rand: () => number): { v: <T>(items: readonly T[]) => T; s: () => string } {
  return {
    v: <T>(items: readonly T[]): T => pickOne(rand, rand() < 0.7 ? items.slice(0, 2) : items),
    s: () => yamlishString(rand, 4),
  };
}

function drawClaim(rand: () => number): Claim {
  const { v, s } = drawer(rand);
  const c: Record<string, unknown> = { id: v([ID, ID, 'Bad id', s()]), attempt: v([1, 2, 999_999, 1_000_000, 0, 1.5, '1', -1]), node: v(['w', 'gpu.box', 'Bad Name', s()]), claimed: v([TIME, '2026-12-06T04:38:08+01:00', 'now', s()]) };
  if (rand() < 0.7) c['by'] = v(['watcher', 'ada@laptop', 'x'.repeat(101), s(), 'a\nb']);
  if (rand() < 0.2) c['session'] = v(['9b1d6c1e-5a36-4c36-8d55-2f0b8f1c7a41', s(), 'a\nb', 'x'.repeat(201)]);
  if (rand() < 0.05) c['reclaims'] = { attempt: 1, node: 'w' };
  if (rand() < 0.03) c['protocol'] = 1;
  if (rand() < 0.02) c['unknown'] = 'x';
  if (rand() < 0.03) delete c['node'];
  return c as Claim;
}

function drawResponse(rand: () => number): TaskResponse {
  const { v, s } = drawer(rand);
  const r: Record<string, unknown> = { id: v([ID, ID, 'Bad id']), status: v([...RESPONSE_STATUSES, 'nope', s()]), node: v(['w', 'gpu.box', 'Bad Name', s()]), finished: v([LATER, LATER, 'later', s()]) };
  if (rand() < 0.8) r['attempt'] = v([1, 3, 0, 2.5, '1']);
  if (rand() < 0.8) r['started'] = v([TIME, TIME, LATER.replace('09.001', '10.000'), s()]);
  if (rand() < 0.8) r['exitCode'] = v([0, 1, -1, 137, null, 1.5, '0', -0]);
  if (rand() < 0.8) r['runner'] = v([...RUNNERS, 'nope']);
  if (rand() < 0.8) r['durationMs'] = v([4, 0, 123_456, -1, 1.5]);
  if (rand() < 0.4) r['reason'] = v(['exit code 1', 'timed out after 30m', '', 'a\nb', s(), s()]);
  if (rand() < 0.05) r['claude'] = v([{ costUsd: 0.5 }, { costUsd: 2_000_000 }]);
  if (rand() < 0.03) r['protocol'] = 1;
  if (rand() < 0.02) r['unknown'] = 'x';
  return r as TaskResponse;
}

const RESPONSE_BODIES = ['## Summary\n\n`echo hi` succeeded in 0.0 s.\n\n## Output\n\n```\nhi\nthere\n```\n', '## Summary\n\nfailed.\n\n## Output\n\n```\n---\n=======\n```\n', ...BODIES];

interface Kind<T> {
  name: 'claim' | 'response';
  draw: (rand: () => number) => T;
  fast: (data: T, body: string) => string | undefined;
  path: (data: T) => string;
  bodies: readonly string[];
}

const CLAIMS: Kind<Claim> = {
  name: 'claim',
  draw: drawClaim,
  fast: fastClaimText,
  path: (c) => (isTaskId(c.id) && isAttempt(c.attempt) ? pathFor({ kind: 'claim', id: c.id, attempt: c.attempt }) : `claims/${ID}.1.md`),
  bodies: ['', ...BODIES],
};
const RESPONSES: Kind<TaskResponse> = { name: 'response', draw: drawResponse, fast: fastResponseText, path: (r) => pathFor({ kind: 'response', id: isTaskId(r.id) ? r.id : ID }), bodies: RESPONSE_BODIES };

describe.each([CLAIMS, RESPONSES] as Kind<Claim | TaskResponse>[])('the $name gitbus writes, without zod or yaml', (kind) => {
  it('is written exactly as renderBusFile writes it, only when parseBusFile takes it back unchanged, and read back as parseBusFile reads it', () => {
    const rand = prng(kind.name === 'claim' ? 17 : 23);
    let valid = 0;
    let written = 0;
    let read = 0;
    for (let i = 0; i < 8000; i++) {
      const data = kind.draw(rand);
      const body = pickOne(rand, kind.bodies);
      const path = kind.path(data);
      let rendered: string | undefined;
      try {
        rendered = renderBusFile(kind.name, data, body);
      } catch {
        rendered = undefined;
      }
      if (rendered !== undefined && parseBusFile(path, rendered).ok) valid++;
      const mine = kind.fast(data, body);
      if (mine === undefined) continue;
      written++;
      expect(mine, JSON.stringify(data)).toBe(rendered);
      const back = parseBusFile(path, mine);
      expect(back.ok, JSON.stringify(data)).toBe(true);
      if (back.ok) {
        expect(back.file.body).toBe(body);
        expect(back.file.data, JSON.stringify(data)).toEqual(Object.fromEntries(Object.entries(data).filter(([, x]) => x !== undefined)));
      }
      if (expectParserReading(path, mine)) read++;
      expectParserReading(path, Buffer.from(mine, 'utf8'));
    }
    expect(valid).toBeGreaterThan(800);
    expect(written).toBeGreaterThan(valid * 0.6);
    // Only a response whose rules warn (started after finished) is written but left to the schemas to read.
    expect(read).toBeGreaterThan(written * 0.9);
  });

  it('never reads an edited file otherwise than parseBusFile', () => {
    const rand = prng(kind.name === 'claim' ? 170 : 230);
    let edited = 0;
    for (let i = 0; i < 12000; i++) {
      const data = kind.draw(rand);
      const text = kind.fast(data, pickOne(rand, kind.bodies));
      if (text === undefined) continue;
      const changed = pickOne(rand, EDITS)(text, rand);
      if (changed === text) continue;
      edited++;
      expectParserReading(kind.path(data), changed);
    }
    expect(edited).toBeGreaterThan(800);
  });
});

describe('the fast kinds and their schemas', () => {
  it('know the fields in the schemas\' order, and the schemas\' places', () => {
    expect([...CLAIM_FIELDS]).toEqual(knownKeysAt(claimSchema, []));
    expect([...RESPONSE_FIELDS]).toEqual(knownKeysAt(responseSchema, []));
    expect(CLAIM_SCHEMA_REF).toBe(schemaRefFor('claim'));
    expect(RESPONSE_SCHEMA_REF).toBe(schemaRefFor('response'));
  });

  it('take a field\'s value only when the field\'s schema does', () => {
    const rand = prng(4911);
    const values = (): unknown => pickOne(rand, [yamlishString(rand, 4), ID, 'w', TIME, 0, 1, -1, 999_999, 1_000_000, 2 ** 53, -(2 ** 53), 1.5, -0, NaN, Infinity, null, true, '1', ...RESPONSE_STATUSES, ...RUNNERS, 'x'.repeat(201), 'a\nb', '']);
    let taken = 0;
    for (const [kind, schema] of [[CLAIM, claimSchema], [RESPONSE, responseSchema]] as const) {
      for (const [key, check] of Object.entries(kind.checks)) {
        const field = (schema.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>)[key];
        expect(field, key).toBeDefined();
        for (let i = 0; i < 400; i++) {
          const value = values();
          if (check?.(value) !== true) continue;
          taken++;
          expect(field?.safeParse(value).success, `${key}: ${JSON.stringify(value)}`).toBe(true);
        }
      }
    }
    expect(taken).toBeGreaterThan(1000);
  });

  it('read a claim or response only at its own path', () => {
    const claim = fastClaimText({ id: ID, attempt: 2, node: 'w', claimed: TIME, by: 'watcher' }, '');
    expect(fastBusFileRead(`claims/${ID}.2.md`, claim as string)?.data).toEqual({ id: ID, attempt: 2, node: 'w', claimed: TIME, by: 'watcher' });
    expect(fastBusFileRead(`claims/${ID}.1.md`, claim as string)).toBeUndefined();
    expect(parseBusFile(`claims/${ID}.1.md`, claim as string).ok).toBe(false);
    const response = fastResponseText({ id: ID, status: 'succeeded', node: 'w', finished: LATER }, 'x');
    expect(fastBusFileRead(`responses/${ID}.md`, response as string)?.data).toEqual({ id: ID, status: 'succeeded', node: 'w', finished: LATER });
    expect(fastBusFileRead('responses/20261205-101501-abcdef.md', response as string)).toBeUndefined();
    expect(fastBusFileRead(`nodes/w.md`, response as string)).toBeUndefined();
  });
});
