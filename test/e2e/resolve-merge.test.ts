import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { fanOutPlan, makeProject } from '../helpers/project.js';
import { gitbus, gitCli, json } from '../helpers/cli.js';

const GROUP = 'merge_again';
const PLAN = `---
title: Merge again
workstreams:
  - name: one
    tasks: The first part.
  - name: two
    tasks: The second part.
integrate:
  to: alpha
---
Two parts.
`;

type Json = Record<string, unknown>;

/**
 * `gitbus resolve ID --runner merge`: after an integration that ended with conflicts, the same merge dispatched again
 * after the newest task on each branch (a workstream resumed to rework its branch), whose responses say what the
 * merge runner merges. The merge runner itself is fanout-run's (real watchers); here the bus side.
 */
describe('resolve --runner merge: the integration again', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home: string;
  let project: string;
  let baseCommit: string;
  let out: { integration: string; tasks: { id: string; workstream: string | null }[] };

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha', initArgs: ['--runner', 'merge'] });
    home = bus.home('alpha');
    const made = makeProject(bus.dir);
    project = made.remote;
    baseCommit = made.main();
    out = await fanOutPlan(home, bus.dir, made.checkout, GROUP, PLAN);
  }, 120_000);
  afterAll(async () => bus?.cleanup());

  it('waits for the integration to end, then dispatches the same merge after the newest task on each branch, and only once', async () => {
    const [one, two] = out.tasks.map((t) => t.id);
    const early = await gitbus(['resolve', out.integration, '--runner', 'merge', '--json'], { home });
    expect(early.code).toBe(5);
    expect(json<{ error: { code: string } }>(early).error.code).toBe('TASK_STATE');

    // What the watchers would write: both workstreams succeeded, the integration failed on a conflict in two's branch.
    const clone = join(bus.dir, 'bus-clone');
    gitCli(['clone', '-q', '-b', 'main', bus.remote, clone]);
    const at = '2026-01-01T00:00:00.000Z';
    const file = (path: string, text: string) => {
      mkdirSync(join(clone, path, '..'), { recursive: true });
      writeFileSync(join(clone, path), text);
    };
    file(`claims/${one}.1.md`, `---\nid: ${one}\nattempt: 1\nnode: alpha\nclaimed: ${at}\n---\n`);
    file(`responses/${one}.md`, `---\nid: ${one}\nstatus: succeeded\nnode: alpha\nattempt: 1\nfinished: ${at}\n---\n`);
    file(`claims/${two}.1.md`, `---\nid: ${two}\nattempt: 1\nnode: alpha\nclaimed: ${at}\n---\n`);
    file(`responses/${two}.md`, `---\nid: ${two}\nstatus: succeeded\nnode: alpha\nattempt: 1\nfinished: ${at}\n---\n`);
    file(`claims/${out.integration}.1.md`, `---\nid: ${out.integration}\nattempt: 1\nnode: alpha\nclaimed: ${at}\n---\n`);
    file(
      `responses/${out.integration}.md`,
      `---\nid: ${out.integration}\nstatus: failed\nnode: alpha\nattempt: 1\nfinished: ${at}\nrunner: merge\nreason: 1 of 2 merges conflicts\nproject:\n  repo: ${project}\n  branch: ${GROUP}/integration\n  baseCommit: ${baseCommit}\n  headCommit: ${baseCommit}\n  pushed: false\n  merged: [${GROUP}/one]\n  conflicts:\n    - branch: ${GROUP}/two\n      files: [README]\n---\n`,
    );
    gitCli(['add', '-A'], clone);
    gitCli(['commit', '-q', '-m', 'results by hand'], clone);
    gitCli(['push', '-q', 'origin', 'main'], clone);

    // Workstream one is reworked by a task of the group on its branch (as `gitbus resume` of it would be): not ended.
    const made = await gitbus(['dispatch', 'one: rework', '--group', GROUP, '--repo', project, '--base', 'main', '--branch', `${GROUP}/one`, '--runner', 'shell', '--command', 'true', '--json'], { home });
    expect(made.code, made.stderr).toBe(0);
    const rework = json<{ id: string }>(made).id;

    const withClaude = await gitbus(['resolve', out.integration, '--runner', 'merge', '--model', 'opus', '--json'], { home });
    expect(withClaude.code).toBe(2);
    expect(json<{ error: { message: string } }>(withClaude).error.message).toContain('--runner is merge');

    const r = await gitbus(['resolve', out.integration, '--runner', 'merge', '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    const again = json<{ id: string; integration: string; after: string[]; claude: Json | null }>(r);
    // After the newest task on each branch: the rework of one (not the workstream it replaces), and two.
    expect(again).toMatchObject({ integration: out.integration, after: [rework, two], claude: null });
    const text = json<{ files: { text: string }[] }>(await gitbus(['show', again.id, '--json'], { home })).files[0]?.text ?? '';
    expect(text).toContain('runner: merge');
    expect(text).toContain('title: "Merge again: integration"');
    expect(text).toContain('to: alpha');
    expect(text).toContain(`branch: ${GROUP}/integration`);
    expect(text).toContain(`merge: [${GROUP}/one, ${GROUP}/two]`);
    expect(text).toContain(`after: [${rework}, ${two}]`);
    expect(text).toContain(`group: ${GROUP}`);
    expect(text).toContain(`baseCommit: ${baseCommit}`);
    // The group's integration is the newest merge now, waiting for the rework.
    const g = json<{ integration: { id: string; state: string; waitingFor: string[] } }>(await gitbus(['group', GROUP, '--json'], { home }));
    expect(g.integration).toMatchObject({ id: again.id, state: 'blocked', waitingFor: [rework] });
    // A second one, or an agent's resolve, would push the same branch: refused while the first has not ended.
    for (const runner of ['merge', 'claude']) {
      const twice = await gitbus(['resolve', out.integration, '--runner', runner, '--json'], { home });
      expect(twice.code, runner).toBe(5);
      expect(json<{ error: { message: string } }>(twice).error.message).toContain(`already being resolved by ${again.id}`);
    }

    // Both end, the merge pushed the branch, and a day later the archive takes everything: merging again is still
    // refused, from this home's note of the group's follow-ups.
    gitCli(['pull', '-q', 'origin', 'main'], clone);
    file(`claims/${rework}.1.md`, `---\nid: ${rework}\nattempt: 1\nnode: alpha\nclaimed: ${at}\n---\n`);
    file(`responses/${rework}.md`, `---\nid: ${rework}\nstatus: succeeded\nnode: alpha\nattempt: 1\nfinished: ${at}\n---\n`);
    file(`claims/${again.id}.1.md`, `---\nid: ${again.id}\nattempt: 1\nnode: alpha\nclaimed: ${at}\n---\n`);
    file(`responses/${again.id}.md`, `---\nid: ${again.id}\nstatus: succeeded\nnode: alpha\nattempt: 1\nfinished: ${at}\nrunner: merge\nproject:\n  repo: ${project}\n  branch: ${GROUP}/integration\n  baseCommit: ${baseCommit}\n  headCommit: ${'c'.repeat(40)}\n  pushed: true\n---\n`);
    gitCli(['add', '-A'], clone);
    gitCli(['commit', '-q', '-m', 'the merge again succeeded'], clone);
    gitCli(['push', '-q', 'origin', 'main'], clone);
    const archived = await gitbus(['archive', '--all', '--json'], { home });
    expect(archived.code, archived.stderr).toBe(0);
    const later = await gitbus(['resolve', out.integration, '--runner', 'merge', '--json'], { home });
    expect(later.code, later.stderr).toBe(5);
    expect(json<{ error: { message: string } }>(later).error.message).toContain(`already resolved by ${again.id}`);
  });
});
