import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json, neutralCwd } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

type Json = Record<string, unknown>;

const GROUP = 'conversation_system';
const PLAN = `---
title: Conversation system
labels: [linux]
claude: {model: sonnet}
workstreams:
  - name: core-pipeline
    tasks: |
      ## Your Mission
      Build the pipeline.

      ## Implementation Checklist
      - [ ] parse
      - [ ] answer
  - name: robustness
    tasks: Retries and timeouts.
    timeout: 2h
  - name: architecture
    title: Split the conversation module
    tasks: Split it.
    to: alpha
  - name: testing
    tasks: Write the tests.
    runner: shell
    command: npm test
integrate:
  to: alpha
---
The conversation system lets users talk to the app.
`;

/**
 * gitbus fanout, group and resolve on a local bus, with a real project repository and its bare
 * remote. The watchers doing the work and the merge are the lead's end-to-end run; here the bus side: one commit,
 * the fields, the view of the group, refusals, and the follow-up built from a reported conflict.
 */
describe('fan-out: gitbus fanout, group, resolve', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home: string;
  let project: string;
  let work: string;
  let baseCommit: string;
  let planFile: string;
  let busClone: string;
  const busLog = () => execFileSync('git', ['--git-dir', bus.remote, 'log', '--format=%s', 'main'], { encoding: 'utf8' }).trim().split('\n');
  let out: { group: string; commit: string; integration: string; tasks: { id: string; workstream: string | null; branch: string }[] };

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    home = bus.home('alpha');
    project = join(bus.dir, 'project.git');
    work = join(bus.dir, 'work');
    gitCli(['init', '-q', '--bare', '-b', 'main', project]);
    gitCli(['init', '-q', '-b', 'main', work]);
    gitCli(['remote', 'add', 'origin', project], work);
    writeFileSync(join(work, 'README'), 'app\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'base'], work);
    gitCli(['push', '-q', '-u', 'origin', 'main'], work);
    baseCommit = gitCli(['rev-parse', 'HEAD'], work).trim();
    mkdirSync(join(bus.dir, 'specs'));
    // Seed 003 names its plans like this; the group comes from the file name.
    planFile = join(bus.dir, 'specs', `2025_06_07_14_35_00_${GROUP}.md`);
    writeFileSync(planFile, PLAN);
    const before = busLog().length;
    // Run inside the project's checkout: repo, base and base commit come from it.
    // alpha here offers only the manual runner: the nodes doing the work are fanout-run's; --force as a person would.
    const r = await gitbus(['fanout', planFile, '--force', '--json'], { home, cwd: work });
    expect(r.code, r.stderr).toBe(0);
    out = json(r);
    expect(busLog().length).toBe(before + 1);
  });
  afterAll(async () => bus?.cleanup());

  it('fanout, group and resolve have --help and --json; a bad group name is a usage error', async () => {
    for (const cmd of ['fanout', 'group', 'resolve']) {
      const r = await gitbus([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toContain(`Usage: gitbus ${cmd}`);
      expect(r.stdout, cmd).toContain('--json');
    }
    const bad = await gitbus(['group', 'Not A Name', '--json'], { home });
    expect(bad.code).toBe(2);
    const unknown = await gitbus(['group', 'no-such-group', '--json'], { home });
    expect(unknown.code).toBe(4);
    expect(json<{ error: { code: string } }>(unknown).error.code).toBe('UNKNOWN_GROUP');
  });

  it('puts four workstreams and the integration task on the bus in exactly one commit', async () => {
    expect(busLog()[0]).toBe(`gitbus: fanout ${GROUP} (5 tasks)`);
    const files = execFileSync('git', ['--git-dir', bus.remote, 'show', '--name-only', '--format=', 'main'], { encoding: 'utf8' }).trim().split('\n').sort();
    expect(files).toEqual(out.tasks.map((t) => `handoffs/${t.id}.md`).sort());
    expect(out.commit).toBe(execFileSync('git', ['--git-dir', bus.remote, 'rev-parse', 'main'], { encoding: 'utf8' }).trim());
  });

  it('gives every handoff the right fields: one base, a branch per workstream, the integration after all four', async () => {
    const handoff = async (id: string) => {
      const shown = json<{ files: { path: string; text: string }[] }>(await gitbus(['show', id, '--json'], { home }));
      return shown.files[0]?.text ?? '';
    };
    const names = ['core-pipeline', 'robustness', 'architecture', 'testing'];
    expect(out.tasks.map((t) => t.workstream)).toEqual([...names, null]);
    const ids = out.tasks.map((t) => t.id);
    const texts = await Promise.all(ids.map(handoff));
    for (const [i, name] of names.entries()) {
      const text = texts[i] ?? '';
      expect(text).toContain(`repo: ${project}\n`);
      expect(text).toContain('base: main\n');
      expect(text).toContain(`baseCommit: ${baseCommit}\n`);
      expect(text).toContain(`branch: ${GROUP}/${name}\n`);
      expect(text).toContain(`group: ${GROUP}\n`);
      expect(text).toContain(`workstream: ${name}\n`);
      // The body: the shared brief, this workstream's tasks, and how to work.
      expect(text).toContain('The conversation system lets users talk to the app.');
      expect(text).toContain(`RESULTS/${name}.md`);
    }
    const [core, robust, arch, testing, integration] = texts;
    expect(core).toMatch(/runner: claude\n[\s\S]*claude:\n {2}model: sonnet\n/);
    expect(core).toContain('- [ ] parse');
    expect(core).toContain('labels: [linux]');
    expect(robust).toContain('timeout: 2h');
    expect(arch).toContain('title: Split the conversation module');
    expect(arch).toContain('to: alpha');
    expect(testing).toContain('runner: shell');
    expect(testing).toContain('command: npm test');
    expect(testing).not.toContain('claude:');
    expect(integration).toContain('runner: merge');
    expect(integration).toContain(`branch: ${GROUP}/integration`);
    expect(integration).toContain(`baseCommit: ${baseCommit}`);
    expect(integration).toContain(`merge: [${names.map((n) => `${GROUP}/${n}`).join(', ')}]`);
    expect(integration).toContain(`after: [${ids.slice(0, 4).join(', ')}]`);
    // integrate: {to} says where the merge runs, without the workstreams' labels.
    expect(integration).toContain('to: alpha');
    expect(integration).not.toContain('labels:');
  });

  it('group NAME --json lists the workstreams in plan order and the integration waiting for them', async () => {
    const r = await gitbus(['group', GROUP, '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    const g = json<{ title: string; repo: string; baseCommit: string; workstreams: Json[]; integration: Json }>(r);
    expect(g).toMatchObject({ title: 'Conversation system', repo: project, baseCommit });
    expect(g.workstreams.map((w) => [w['workstream'], w['id'], w['state'], w['branch']])).toEqual(out.tasks.slice(0, 4).map((t) => [t.workstream, t.id, 'pending', t.branch]));
    expect(g.integration).toMatchObject({ id: out.integration, state: 'blocked', runner: 'merge' });
    expect(g.integration['waitingFor']).toEqual(out.tasks.slice(0, 4).map((t) => t.id));
    const human = await gitbus(['group', GROUP], { home });
    expect(human.stdout).toContain('core-pipeline');
    expect(human.stdout).toContain('waiting for 4 tasks');
  });

  it('refuses a group that already has live tasks, naming it and how to pick another name; writes nothing', async () => {
    const before = busLog().length;
    const r = await gitbus(['fanout', planFile, '--json'], { home, cwd: work });
    expect(r.code).toBe(5);
    const e = json<{ error: { code: string; message: string; fix: string } }>(r).error;
    expect(e.code).toBe('GROUP_LIVE');
    expect(e.message).toContain(`group "${GROUP}" already has live tasks`);
    expect(e.fix).toContain(`--group ${GROUP}-2 (no live task or project branch has it)`);
    expect(busLog().length).toBe(before);
    // --dry-run under another name checks everything and writes nothing.
    const dry = await gitbus(['fanout', planFile, '--group', `${GROUP}-2`, '--dry-run', '--force', '--json'], { home, cwd: work });
    expect(dry.code, dry.stderr).toBe(0);
    expect(json<{ dryRun: boolean; tasks: unknown[] }>(dry)).toMatchObject({ dryRun: true, group: `${GROUP}-2` });
    expect(busLog().length).toBe(before);
  });

  it('refuses a group whose branches the project remote already has (an earlier fan-out archived since), naming them and the fix; writes nothing', async () => {
    const before = busLog().length;
    // reused-2 is taken on the project remote too: the name suggested is one that is free.
    for (const b of ['reused/core-pipeline', 'reused/integration-moved-0123abcd', 'reused-other/x', 'reused-2/x']) gitCli(['push', '-q', 'origin', `main:refs/heads/${b}`], work);
    type Refused = { error: { code: string; message: string; fix: string; data: { branches: string[] } } };
    const given = ['--repo', project, '--base', 'main', '--base-commit', baseCommit];
    for (const args of [[], given]) {
      const r = await gitbus(['fanout', planFile, '--group', 'reused', ...args, '--force', '--json'], { home, cwd: work });
      expect(r.code, r.stderr).toBe(5);
      const e = json<Refused>(r).error;
      expect(e).toMatchObject({ code: 'GROUP_BRANCHES_TAKEN', message: expect.stringContaining(`the project remote ${project} already has branches of group "reused" (reused/core-pipeline, reused/integration-moved-0123abcd)`) });
      expect(e.data.branches).toEqual(['reused/core-pipeline', 'reused/integration-moved-0123abcd']);
      expect(e.fix).toContain('--group reused-3 (no live task or project branch has it)');
      expect(e.fix).toContain(`git push ${project} --delete reused/core-pipeline reused/integration-moved-0123abcd`);
    }
    expect(busLog().length).toBe(before);
    // A group whose name merely starts the same is free.
    const other = await gitbus(['fanout', planFile, '--group', 'reused-o', '--dry-run', '--force', '--json'], { home, cwd: work });
    expect(other.code, other.stderr).toBe(0);
  });

  it('refuses tasks addressed to a node that is not on the bus or cannot run them, naming the field, unless --force', async () => {
    const before = busLog().length;
    type Refused = { error: { code: string; message: string; fix: string; data: { problems: { field: string; reason: string; fix: string }[] } } };
    const r = await gitbus(['fanout', planFile, '--group', `${GROUP}-to`, '--to', 'nosuch', '--json'], { home, cwd: work });
    expect(r.code, r.stderr).toBe(8);
    const problems = json<Refused>(r).error.data.problems;
    // The plan's own `to: alpha` (alpha offers only the manual runner) and --to where the plan says nothing.
    expect(problems).toEqual(expect.arrayContaining([
      expect.objectContaining({ field: 'workstreams.1.to', reason: expect.stringMatching(/no node named "nosuch".*\(set by --to\)$/), fix: expect.stringContaining('--force') }),
      expect.objectContaining({ field: 'workstreams.3.to', reason: expect.stringContaining('node alpha cannot run this task'), fix: expect.stringContaining('--force') }),
      expect.objectContaining({ field: 'integrate.to' }),
    ]));
    expect(busLog().length).toBe(before);
    const forced = await gitbus(['fanout', planFile, '--group', `${GROUP}-to`, '--to', 'nosuch', '--dry-run', '--force', '--json'], { home, cwd: work });
    expect(forced.code, forced.stderr).toBe(0);
    expect(json<{ warnings: string[] }>(forced).warnings).toEqual(expect.arrayContaining([expect.stringContaining('nosuch')]));
  });

  it('the same problem on many workstreams is one line naming their runs, in the text; --json keeps every problem', async () => {
    const many = join(bus.dir, 'specs', 'many.md');
    const n = 12;
    writeFileSync(many, `---\ntitle: Many\nworkstreams:\n${Array.from({ length: n }, (_, i) => `  - name: w${i + 1}\n    tasks: t\n`).join('')}---\nbrief\n`);
    const text = await gitbus(['fanout', many, '--group', 'many-to', '--to', 'nosuch', '--dry-run'], { home, cwd: work });
    expect(text.code, text.stderr).toBe(8);
    expect(text.stderr).toContain(`${many} (field workstreams.1.to): no node named "nosuch"`);
    expect(text.stderr).toMatch(new RegExp(`also error \\(${n - 1} times\\): ${many.replace(/[/.]/g, '\\$&')} \\(workstreams\\.2-${n}\\.to\\): no node named "nosuch"`));
    // The first, the other workstreams' line, the integration's own (its fix differs): not one line each.
    expect(text.stderr.split('\n').filter((l) => l.includes('no node named "nosuch"'))).toHaveLength(3);
    const all = await gitbus(['fanout', many, '--group', 'many-to', '--to', 'nosuch', '--dry-run', '--json'], { home, cwd: work });
    expect(all.code, all.stderr).toBe(8);
    const problems = json<{ error: { data: { problems: { field: string }[] } } }>(all).error.data.problems;
    expect(problems.map((p) => p.field)).toEqual([...Array.from({ length: n }, (_, i) => `workstreams.${i + 1}.to`), 'integrate.to']);

    // The plan's own problems too: every workstream without its tasks is one line.
    writeFileSync(many, `---\ntitle: Many\nworkstreams:\n${Array.from({ length: n }, (_, i) => `  - name: w${i + 1}\n`).join('')}---\nbrief\n`);
    const parsed = await gitbus(['fanout', many, '--dry-run'], { home, cwd: work });
    expect(parsed.code, parsed.stderr).toBe(8);
    expect(parsed.stderr).toContain(`${many} (field workstreams.1.tasks): the required field "tasks" is missing`);
    expect(parsed.stderr).toContain(`also error (${n - 1} times): ${many} (workstreams.2-${n}.tasks): the required field "tasks" is missing`);
    expect(parsed.stderr.split('\n').filter((l) => l.includes('the required field "tasks" is missing'))).toHaveLength(2);
  });

  it('--repo with a user name over https is recorded without it, with a warning, as dispatch does, also with --base-commit given', async () => {
    type Dry = { repo: string; warnings: string[]; tasks: { text: string }[] };
    const given = ['--repo', 'https://bot@127.0.0.1:1/app.git', '--base', 'main', '--base-commit', baseCommit];
    const r = await gitbus(['fanout', planFile, ...given, '--group', `${GROUP}-creds`, '--dry-run', '--force', '--json'], { home, cwd: neutralCwd() });
    expect(r.code, r.stderr).toBe(0);
    const dry = json<Dry>(r);
    expect(dry.repo).toBe('https://127.0.0.1:1/app.git');
    expect(dry.tasks.map((t) => t.text).join('')).not.toContain('bot@');
    expect(dry.warnings).toEqual(expect.arrayContaining([expect.stringContaining('carries credentials')]));
    const text = await gitbus(['fanout', planFile, ...given, '--group', `${GROUP}-creds`, '--dry-run', '--force'], { home, cwd: neutralCwd() });
    expect(text.stderr).toContain('gitbus: warning: the --repo URL carries credentials');
    // A remote of the checkout by name is its URL, as for dispatch (it was taken for a folder "origin" there).
    const byName = await gitbus(['fanout', planFile, '--repo', 'origin', '--base', 'main', '--base-commit', baseCommit, '--group', `${GROUP}-creds`, '--dry-run', '--force', '--json'], { home, cwd: work });
    expect(byName.code, byName.stderr).toBe(0);
    expect(json<Dry>(byName).repo).toBe(project);
  });

  it('a bad plan gives a clear error naming the file, the field and the fix', async () => {
    const bad = join(bus.dir, 'specs', 'bad.md');
    writeFileSync(bad, '---\ntitle: Bad\nworkstreams:\n  - name: ui\n    tasks: t\n  - name: api\n    taks: t\n---\nbrief\n');
    const r = await gitbus(['fanout', bad, '--json'], { home, cwd: work });
    expect(r.code).toBe(8);
    const e = json<{ error: { code: string; data: { problems: { path: string; field: string; fix: string }[] } } }>(r).error;
    expect(e.code).toBe('INVALID_PLAN');
    expect(e.data.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: bad, field: 'workstreams.2.tasks' }),
        expect.objectContaining({ path: bad, field: 'workstreams.2.taks', fix: 'remove it or rename it to "tasks"' }),
      ]),
    );
    const text = await gitbus(['fanout', bad], { home, cwd: work });
    expect(text.stderr).toContain(`${bad} (field workstreams.2.tasks): the required field "tasks" is missing`);
  });

  it('reads a plan only to its cap: a larger file, or a device that never ends, is refused, naming the file and the limit', async () => {
    const big = join(bus.dir, 'specs', 'big.md');
    writeFileSync(big, `---\ntitle: Big\nworkstreams:\n  - name: ui\n    tasks: t\n---\n${'brief\n'.repeat(50_000)}`);
    for (const file of [big, '/dev/zero']) {
      const r = await gitbus(['fanout', file, '--dry-run', '--json'], { home, cwd: work, timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(8);
      expect(json<{ error: { code: string; message: string } }>(r).error).toMatchObject({ code: 'INVALID_PLAN', message: expect.stringMatching(new RegExp(`^${file}: the plan is (\\d+ bytes, )?more than 256 KiB`)) });
    }
  });

  it('offline, the whole fan-out waits in the queue and later reaches the bus in one commit', async () => {
    const before = busLog().length;
    const away = `${bus.remote}.away`;
    renameSync(bus.remote, away);
    let r;
    try {
      r = await gitbus(['fanout', planFile, '--group', 'offline-run', '--force', '--json'], { home, cwd: work });
    } finally {
      renameSync(away, bus.remote);
    }
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ queued: { reason: string }; commit: null }>(r)).toMatchObject({ queued: expect.any(Object), commit: null });
    // Any later command of the node delivers it.
    expect((await gitbus(['status'], { home })).code).toBe(0);
    expect(busLog().length).toBe(before + 1);
    expect(busLog()[0]).toBe('gitbus: fanout offline-run (5 tasks)');
  });

  it('group shows sessions, costs and diffstats from claims and responses; resolve follows up on conflicts', async () => {
    const [core, robust, , , integration] = out.tasks.map((t) => t.id);
    // What watchers would write, committed by hand in a clone of the bus.
    busClone = join(bus.dir, 'bus-clone');
    gitCli(['clone', '-q', '-b', 'main', bus.remote, busClone]);
    const at = '2026-01-01T00:00:00.000Z';
    const file = (path: string, text: string) => {
      mkdirSync(join(busClone, path, '..'), { recursive: true });
      writeFileSync(join(busClone, path), text);
    };
    file(`claims/${core}.1.md`, `---\nid: ${core}\nattempt: 1\nnode: alpha\nclaimed: ${at}\nsession: 11111111-2222-3333-4444-555555555555\n---\n`);
    file(`claims/${robust}.1.md`, `---\nid: ${robust}\nattempt: 1\nnode: alpha\nclaimed: ${at}\n---\n`);
    file(
      `responses/${robust}.md`,
      `---\nid: ${robust}\nstatus: succeeded\nnode: alpha\nattempt: 1\nfinished: ${at}\nclaude:\n  sessionId: robust-session\n  costUsd: 0.42\nproject:\n  repo: ${project}\n  branch: ${GROUP}/robustness\n  baseCommit: ${baseCommit}\n  headCommit: ${'a'.repeat(40)}\n  pushed: true\n  commits: 3\n  files: 5\n  insertions: 120\n  deletions: 4\n---\n## Summary\n\ndone\n`,
    );
    file(`claims/${integration}.1.md`, `---\nid: ${integration}\nattempt: 1\nnode: alpha\nclaimed: ${at}\n---\n`);
    file(
      `responses/${integration}.md`,
      `---\nid: ${integration}\nstatus: failed\nnode: alpha\nattempt: 1\nfinished: ${at}\nrunner: merge\nreason: 1 of 4 merges conflicts\nproject:\n  repo: ${project}\n  branch: ${GROUP}/integration\n  baseCommit: ${baseCommit}\n  headCommit: ${baseCommit}\n  pushed: false\n  merged: [${GROUP}/core-pipeline, ${GROUP}/architecture, ${GROUP}/testing]\n  conflicts:\n    - branch: ${GROUP}/robustness\n      files: [src/chat.py, README]\n---\n`,
    );
    gitCli(['add', '-A'], busClone);
    gitCli(['commit', '-q', '-m', 'results by hand'], busClone);
    gitCli(['push', '-q', 'origin', 'main'], busClone);

    const g = json<{ workstreams: Json[]; integration: Json; costUsd: number }>(await gitbus(['group', GROUP, '--json'], { home }));
    expect(g.workstreams[0]).toMatchObject({ id: core, state: 'claimed', node: 'alpha', attempt: 1, session: '11111111-2222-3333-4444-555555555555' });
    expect(g.workstreams[1]).toMatchObject({ id: robust, state: 'succeeded', session: 'robust-session', costUsd: 0.42, project: { commits: 3, files: 5, insertions: 120, deletions: 4, pushed: true } });
    expect(g.integration).toMatchObject({ state: 'failed', reason: '1 of 4 merges conflicts', project: { conflicts: [{ branch: `${GROUP}/robustness`, files: ['src/chat.py', 'README'] }] } });
    expect(g.costUsd).toBe(0.42);
    const human = await gitbus(['group', GROUP], { home });
    expect(human.stdout).toContain(`${GROUP}/robustness: src/chat.py, README`);
    expect(human.stdout).toContain(`gitbus resolve ${integration}`);
    expect(human.stdout).toContain('3 commits, 5 files +120 -4, pushed');

    const notMerge = await gitbus(['resolve', core as string, '--json'], { home });
    expect(notMerge.code).toBe(5);
    // As dispatch --to: a node that is not on the bus is refused, and nothing is dispatched.
    const nosuch = await gitbus(['resolve', integration as string, '--to', 'nosuch', '--json'], { home });
    expect(nosuch.code, nosuch.stderr).toBe(4);
    expect(json<{ error: { code: string; fix: string } }>(nosuch).error).toMatchObject({ code: 'UNKNOWN_NODE', fix: expect.stringContaining('--force') });
    const r = await gitbus(['resolve', (integration as string).slice(-6), '--to', 'alpha', '--force', '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    const res = json<{ id: string; integration: string; commit: string; claude: Json | null; claudeFromWorkstreams: Json | null }>(r);
    expect(res.integration).toBe(integration);
    // The plan's claude: (model sonnet, which the three claude workstreams got) is the follow-up's too.
    expect(res).toMatchObject({ claude: { model: 'sonnet' }, claudeFromWorkstreams: { model: 'sonnet' } });
    const text = json<{ files: { text: string }[] }>(await gitbus(['show', res.id, '--json'], { home })).files[0]?.text ?? '';
    expect(text).toContain('runner: claude');
    expect(text).toMatch(/claude:\n\s+model: sonnet\n/);
    expect(text).toContain('to: alpha');
    expect(text).toContain(`branch: ${GROUP}/integration`);
    expect(text).toContain(`baseCommit: ${baseCommit}`);
    expect(text).toContain(`group: ${GROUP}`);
    expect(text).toContain(`merge: [${['core-pipeline', 'robustness', 'architecture', 'testing'].map((n) => `${GROUP}/${n}`).join(', ')}]`);
    expect(text).toContain(`- \`${GROUP}/robustness\`: \`src/chat.py\`, \`README\``);
    expect(text).toContain(`git merge --no-ff origin/${GROUP}/robustness`);
    // The follow-up belongs to the group: `group` lists it with the others.
    const after = json<{ others: Json[]; resolvedBy: string | null }>(await gitbus(['group', GROUP, '--json'], { home }));
    expect(after.others.map((o) => o['id'])).toEqual([res.id]);
    expect(after.resolvedBy).toBeNull();
    // Asked again while the first follow-up is pending: a second would merge the same branches on the same branch.
    const again = await gitbus(['resolve', integration as string, '--json'], { home });
    expect(again.code, again.stderr).toBe(5);
    expect(json<{ error: { code: string; message: string; fix: string } }>(again).error).toMatchObject({ code: 'TASK_STATE', message: expect.stringContaining(`already being resolved by ${res.id} (pending)`), fix: expect.stringContaining(`gitbus cancel ${res.id}`) });

    // Once the follow-up succeeded and pushed, group says so, and resolve refuses a second paid run unless --force.
    gitCli(['pull', '-q', '--rebase', 'origin', 'main'], busClone);
    file(`claims/${res.id}.1.md`, `---\nid: ${res.id}\nattempt: 1\nnode: alpha\nclaimed: ${at}\n---\n`);
    file(`responses/${res.id}.md`, `---\nid: ${res.id}\nstatus: succeeded\nnode: alpha\nattempt: 1\nfinished: ${at}\nproject:\n  repo: ${project}\n  branch: ${GROUP}/integration\n  baseCommit: ${baseCommit}\n  headCommit: ${'b'.repeat(40)}\n  pushed: true\n---\n`);
    gitCli(['add', '-A'], busClone);
    gitCli(['commit', '-q', '-m', 'resolved by hand'], busClone);
    gitCli(['push', '-q', 'origin', 'main'], busClone);
    expect(json<{ resolvedBy: string | null }>(await gitbus(['group', GROUP, '--json'], { home })).resolvedBy).toBe(res.id);
    const resolved = (await gitbus(['group', GROUP], { home })).stdout;
    expect(resolved).toContain(`resolved by ${res.id}: git fetch ${project} refs/heads/${GROUP}/integration`);
    expect(resolved).not.toContain(`gitbus resolve ${integration}`);
    const twice = await gitbus(['resolve', integration as string, '--json'], { home });
    expect(twice.code, twice.stderr).toBe(5);
    expect(json<{ error: { code: string; message: string; fix: string } }>(twice).error).toMatchObject({ code: 'TASK_STATE', message: expect.stringContaining(`already resolved by ${res.id}`), fix: expect.stringContaining(`fetch its result: git fetch ${project} refs/heads/${GROUP}/integration; to resolve it again anyway, add --force`) });
    // The claude flags go into the follow-up's claude: requests; with --runner manual they are refused.
    const manual = await gitbus(['resolve', integration as string, '--runner', 'manual', '--model', 'opus', '--force', '--json'], { home });
    expect(manual.code).toBe(2);
    expect(json<{ error: { message: string } }>(manual).error.message).toContain('for the claude runner');
    // A resolve starts a new session: it has no --resume-session (commander's unknown option, exit 2).
    const resumed = await gitbus(['resolve', integration as string, '--resume-session', '0b1d6c1e-5a36-4c36-8d55-2f0b8f1c7a41', '--json'], { home });
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain("unknown option '--resume-session'");
    expect((await gitbus(['resolve', '--help'], { home })).stdout).not.toContain('--resume-session');
    const forced = await gitbus(['resolve', integration as string, '--to', 'alpha', '--force', '--model', 'opus', '--max-budget-usd', '3', '--json'], { home });
    expect(forced.code, forced.stderr).toBe(0);
    const forcedText = json<{ files: { text: string }[] }>(await gitbus(['show', json<{ id: string }>(forced).id, '--json'], { home })).files[0]?.text ?? '';
    expect(forcedText).toMatch(/claude:\n\s+model: opus\n\s+maxBudgetUsd: 3\n/);
  });
});
