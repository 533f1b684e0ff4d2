import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitbus, json } from '../helpers/cli.js';
import { now, task, trustFleet, type Forged } from '../helpers/trust-fleet.js';

/**
 * Files in the name of a node the trust version does not list — a made-up one, "ghost" — while it accepts unlisted
 * nodes (a bus migrating), against the claim of a listed node (docs/PROTOCOL.md §12, "Who may end or free another
 * node's claim"), with real ssh-keygen keys and nodes as processes (test/helpers/trust-fleet.ts: admin alice; w and v
 * pinned the root and are listed). Someone with push access writes, with plain git, a release of w's claim, a
 * result saying it succeeded, a reap saying it failed and a claim taking it over, each in ghost's name: none frees,
 * ends or takes w's task on a node that enforces trust; each is listed as forged with its reason; w's own result
 * ends it. Before, each counted: a release let another node run the task beside w, a result ended it with made-up
 * output.
 */
const fleet = trustFleet(['w', 'v']);
const { status, dispatch, push } = fleet;
let boss: string;
let w: string;
let v: string;

beforeAll(async () => {
  const set = await fleet.setUp();
  boss = set.boss;
  w = set.bus.home('w');
  v = set.bus.home('v');
}, 60_000);

afterAll(fleet.tearDown);

const forgedAt = (s: { forged: Forged[] }, path: string) => s.forged.find((f) => f.path === path);

describe("files in an unlisted node's name against a listed node's claim", () => {
  it("a release, a result, a reap and a takeover in ghost's name leave w's claim as it is, and w's own result ends the task", async () => {
    const id = await dispatch('held-by-w', 'true', 'w');
    const c = await gitbus(['claim', id, '--json'], { home: w });
    expect(c.code, c.stderr).toBe(0);

    push({ [`releases/${id}.1.md`]: `---\nid: ${id}\nattempt: 1\nnode: ghost\nreleased: ${now()}\n---\n` }, 'a release in a made-up name');
    for (const home of [boss, v]) {
      const s = await status(home);
      expect(task(s, id)?.claim).toEqual({ attempt: 1, node: 'w' });
      expect(forgedAt(s, `releases/${id}.1.md`)?.reason).toBe('a release in the name of node ghost, but attempt 1 is held by node w: only the node holding a claim gives it back');
    }
    // v may not take it: nothing freed it.
    const taken = await gitbus(['claim', id, '--json'], { home: v });
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain('claimed by w');

    push({ [`responses/${id}.md`]: `---\nid: ${id}\nstatus: succeeded\nnode: ghost\nattempt: 1\nfinished: ${now()}\n---\n## Summary\n\nmade up\n` }, 'a result in a made-up name');
    let s = await status();
    expect(task(s, id)?.state).toBe('claimed');
    expect(forgedAt(s, `responses/${id}.md`)?.reason).toBe('a succeeded result in the name of node ghost for attempt 1, but attempt 1 is held by node w: only the node that runs a task reports it succeeded');
    const shown = json<{ state: string; forged: Forged[] }>(await gitbus(['show', id, '--json'], { home: boss }));
    expect(shown.state).toBe('claimed');
    expect(shown.forged.map((f) => f.path).sort()).toEqual([`releases/${id}.1.md`, `responses/${id}.md`]);
    const lint = await gitbus(['lint', '--json'], { home: boss });
    expect(json<{ problems: { path: string; reason: string }[] }>(lint).problems.filter((p) => p.path === `responses/${id}.md`).map((p) => p.reason)).toContain(forgedAt(s, `responses/${id}.md`)?.reason);

    push({
      [`responses/${id}.md`]: `---\nid: ${id}\nstatus: failed\nnode: ghost\nattempt: 1\nfinished: ${now()}\nreason: node w went silent\n---\n## Summary\n\nreaped\n`,
      [`claims/${id}.2.md`]: `---\nid: ${id}\nattempt: 2\nnode: ghost\nclaimed: ${now()}\nreclaims:\n  attempt: 1\n  node: w\n---\n`,
    }, 'a reap and a takeover in a made-up name');
    s = await status();
    expect(task(s, id)).toMatchObject({ state: 'claimed', claim: { attempt: 1, node: 'w' } });
    expect(forgedAt(s, `responses/${id}.md`)?.reason).toBe("ends attempt 1, held by node w, which the trust version lists, in the name of node ghost, which it does not: only a listed node ends another listed node's task");
    expect(forgedAt(s, `claims/${id}.2.md`)?.reason).toBe("attempt 2 in the name of node ghost, which the trust version does not list, would take over attempt 1 of node w, which it lists: only a listed node takes over a listed node's claim");

    const r = await gitbus(['respond', id, '--status', 'succeeded', '--summary', 'the real result', '--json'], { home: w });
    expect(r.code, r.stderr).toBe(0);
    s = await status();
    expect(task(s, id)?.state).toBe('succeeded');
    expect(forgedAt(s, `responses/${id}.md`)).toBeUndefined();
    const end = json<{ files: { path: string; text: string }[] }>(await gitbus(['show', id, '--json'], { home: v }));
    expect(end.files.find((f) => f.path === `responses/${id}.md`)?.text).toContain('the real result');
  }, 60_000);
});
