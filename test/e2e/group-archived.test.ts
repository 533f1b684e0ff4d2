import { renameSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { fanOutPlan, makeProject } from '../helpers/project.js';
import { gitbus, json } from '../helpers/cli.js';

const GROUP = 'archived_fanout';
const PLAN = `---
title: Archived fan-out
workstreams:
  - name: one
    tasks: The first part.
  - name: two
    tasks: The second part.
---
Two parts.
`;

/**
 * `gitbus group NAME` once the archive has taken the whole fan-out (the watchers archive what ended a day before):
 * main no longer names any of its tasks, and the node that made the fan-out finds them through its note of it
 * (`<home>/groups.jsonl`, bus/groups-ledger.ts); another node cannot.
 */
describe('group of a fan-out the archive took whole', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home: string;
  let out: { integration: string; tasks: { id: string; workstream: string | null }[] };
  let extraId: string;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    home = bus.home('alpha');
    await bus.addNode('beta');
    out = await fanOutPlan(home, bus.dir, makeProject(bus.dir).checkout, GROUP, PLAN);
    // A task a script adds to the group (a batch line with `group:`), noted as the fan-out's follow-ups are.
    const extra = await gitbus(['dispatch', '--from', '-', '--no-git', '--json'], { home, input: `${JSON.stringify({ title: 'an extra check', group: GROUP, runner: 'shell', command: 'true' })}\n` });
    expect(extra.code, extra.stderr).toBe(0);
    extraId = json<{ ids: string[] }>(extra).ids[0] as string;
    // Every task ends (cancelled), and the archive takes them all.
    expect((await gitbus(['cancel', '--group', GROUP, '--json'], { home })).code).toBe(0);
    const a = await gitbus(['archive', '--all', '--json'], { home });
    expect(a.code, a.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => bus?.cleanup());

  it('is still shown, from the archive, on the node that made it: every workstream and the integration, with their archive month', async () => {
    const ids = out.tasks.map((t) => t.id);
    expect(json<{ tasks: { id: string }[] }>(await gitbus(['status', '--json'], { home })).tasks.filter((t) => ids.includes(t.id))).toEqual([]);
    const r = await gitbus(['group', GROUP, '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    const g = json<{ title: string; workstreams: { id: string; workstream: string; state: string; archived: string | null }[]; integration: { id: string; state: string; archived: string | null } }>(r);
    expect(g.title).toBe('Archived fan-out');
    expect(g.workstreams.map((w) => [w.workstream, w.state])).toEqual([['one', 'cancelled'], ['two', 'cancelled']]);
    expect(g.workstreams.every((w) => /^\d{4}-\d{2}$/.test(w.archived ?? ''))).toBe(true);
    expect(g.integration).toMatchObject({ id: out.integration, state: 'cancelled', archived: expect.stringMatching(/^\d{4}-\d{2}$/) });
    expect(json<{ others: { id: string; state: string }[] }>(r).others).toEqual([expect.objectContaining({ id: extraId, state: 'cancelled' })]);
    expect((await gitbus(['group', GROUP], { home })).stdout).toContain('cancelled');
  });

  it('offline, on the node that made it: the remote is the error (exit 6), not an unknown group', async () => {
    const away = `${bus.remote}.away`;
    renameSync(bus.remote, away);
    try {
      const r = await gitbus(['group', GROUP, '--json'], { home });
      expect(r.code, r.stderr).toBe(6);
      expect(json<{ error: { code: string } }>(r).error.code).not.toBe('UNKNOWN_GROUP');
    } finally {
      renameSync(away, bus.remote);
    }
  });

  it('is UNKNOWN_GROUP (exit 4) on a node that did not make it: the archive is read by id, never scanned', async () => {
    const r = await gitbus(['group', GROUP, '--json'], { home: bus.home('beta') });
    expect(r.code).toBe(4);
    expect(json<{ error: { code: string; fix: string } }>(r).error).toMatchObject({ code: 'UNKNOWN_GROUP', fix: expect.stringContaining('the node that ran') });
  });
});
