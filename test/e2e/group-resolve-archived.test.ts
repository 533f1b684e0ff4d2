import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusContext } from '../../bus/context.js';
import { makeBus } from '../helpers/bus.js';
import { ROOT, gitbus, gitCli, json } from '../helpers/cli.js';
import { claimInProcess, respondInProcess } from '../helpers/in-process.js';
import { pushHandoffs } from '../helpers/project.js';

/**
 * `gitbus group` and `gitbus resolve` name the same follow-up as the one that resolved an integration when one of
 * them has been archived (bus/ops/follow-ups.ts): both weigh the live and the archived follow-ups together, on the
 * branch the integration's handoff asks for (model/merged-branches.ts settlingFollowUp). The integration and its
 * follow-ups' results are written as their nodes would write them; the archive takes one follow-up alone.
 */
const GROUP = 'settle';
const BRANCH = `${GROUP}/integration`;
const MERGE = [`${GROUP}/one`, `${GROUP}/two`];
const REPO = '/srv/settle.git';
const INTEGRATION = 'settle-integration';

let bus: Awaited<ReturnType<typeof makeBus>>;
let home: string;

beforeAll(async () => {
  bus = await makeBus({ node: 'alpha' });
  home = bus.home('alpha');
}, 60_000);
afterAll(async () => bus?.cleanup());

async function resolveBy(runnerArgs: string[]): Promise<string> {
  const r = await gitbus(['resolve', INTEGRATION, '--runner', 'manual', ...runnerArgs, '--json'], { home });
  expect(r.code, r.stderr).toBe(0);
  return json<{ id: string }>(r).id;
}

/**
 * An integration task pushed with its claim and its answer as the merge runner writes them: failed at `finished`, the
 * first branch merged and the second conflicting (so `resolve` takes it).
 */
function conflicted(t: { id: string; title: string; group: string; branch: string; merge: string[]; finished: string }, folder: string): void {
  const person = join(bus.dir, folder);
  pushHandoffs(person, bus.remote, [{ id: t.id, frontmatter: { title: `${t.title}: integration`, group: t.group, runner: 'merge', to: 'ghost', repo: REPO, base: 'main', baseCommit: 'b'.repeat(40), branch: t.branch, merge: t.merge } }]);
  mkdirSync(join(person, 'claims'), { recursive: true });
  mkdirSync(join(person, 'responses'), { recursive: true });
  writeFileSync(join(person, 'claims', `${t.id}.1.md`), `---\nid: ${t.id}\nattempt: 1\nnode: ghost\nclaimed: ${t.finished}\n---\n`);
  writeFileSync(join(person, 'responses', `${t.id}.md`), `---\nid: ${t.id}\nstatus: failed\nnode: ghost\nattempt: 1\nfinished: ${t.finished}\nrunner: merge\nreason: 1 of 2 merges conflicts\nproject:\n  repo: ${REPO}\n  branch: ${t.branch}\n  baseCommit: ${'b'.repeat(40)}\n  headCommit: ${'b'.repeat(40)}\n  pushed: false\n  merged: [${t.merge[0]}]\n  conflicts:\n    - branch: ${t.merge[1]}\n      files: [app.txt]\n---\n`);
  gitCli(['add', '-A'], person);
  gitCli(['commit', '-q', '-m', 'the integration conflicted'], person);
  gitCli(['push', '-q', 'origin', 'HEAD:main'], person);
}

/** The follow-up's answer, as its node writes it: succeeded, `branch` pushed with every workstream merged. */
async function resolvedOn(id: string, branch: string, head: string): Promise<void> {
  await claimInProcess(home, id);
  await respondInProcess(home, id, { status: 'succeeded', project: { repo: REPO, branch, baseCommit: 'b'.repeat(40), headCommit: head, pushed: true, merged: MERGE } });
}

async function named(): Promise<{ group: string | null; resolve: string }> {
  const g = await gitbus(['group', GROUP, '--json'], { home });
  expect(g.code, g.stderr).toBe(0);
  const r = await gitbus(['resolve', INTEGRATION, '--runner', 'manual', '--json'], { home });
  expect(r.code).toBe(5);
  return { group: json<{ resolvedBy: string | null }>(g).resolvedBy, resolve: json<{ error: { message: string } }>(r).error.message };
}

describe('the follow-up that resolved an integration, one of them archived', () => {
  it('is the same task for group and resolve: the archived one alone, then it before a newer live one beside the branch', async () => {
    // The integration ended on a conflict, a moment from now by its response, so the archive leaves it on main.
    conflicted({ id: INTEGRATION, title: 'Settle', group: GROUP, branch: BRANCH, merge: MERGE, finished: new Date(Date.now() + 3_600_000).toISOString() }, 'person');

    // A follow-up resolves it on the branch itself, and the archive takes that follow-up (the integration stays).
    const first = await resolveBy([]);
    await resolvedOn(first, BRANCH, 'c'.repeat(40));
    const ops = (await import(pathToFileURL(join(ROOT, 'dist', 'bus/ops/archive.js')).href)) as typeof import('../../bus/ops/archive.js');
    const { openBus } = (await import(pathToFileURL(join(ROOT, 'dist', 'bus/context.js')).href)) as { openBus: (home: string) => Promise<BusContext> };
    const ctx = await openBus(home);
    try {
      expect((await ops.archive(ctx, { olderThanMs: 1, now: new Date(Date.now() + 60_000) })).archived).toEqual([first]);
    } finally {
      await ctx.repo.close();
    }
    const alone = await named();
    expect(alone.group).toBe(first);
    expect(alone.resolve).toContain(`already resolved by ${first}`);
    const text = (await gitbus(['group', GROUP], { home })).stdout;
    expect(text).toContain(`resolved by ${first}: git fetch`);

    // A newer follow-up (forced) whose push went beside the branch: the one on the branch itself is still named, by both.
    const second = await resolveBy(['--force']);
    await resolvedOn(second, `${BRANCH}-moved-dddddddd`, 'd'.repeat(40));
    const both = await named();
    expect(both.group).toBe(first);
    expect(both.resolve).toContain(`already resolved by ${first}`);
  }, 120_000);
});

describe('the follow-up that resolved an integration, the integration archived', () => {
  it('is named by group while the follow-up is live and the integration is in the archive, by this home\'s note of the fan-out', async () => {
    const group = 'gone';
    const integration = 'gone-integration';
    const branch = `${group}/integration`;
    const merge = [`${group}/one`, `${group}/two`];
    // The integration conflicted two hours ago.
    const earlier = new Date(Date.now() - 7_200_000).toISOString();
    conflicted({ id: integration, title: 'Gone', group, branch, merge, finished: earlier }, 'person-gone');
    // What `gitbus fanout` notes in the home that fanned out (bus/groups-ledger.ts).
    const ledger = (await import(pathToFileURL(join(ROOT, 'dist', 'bus/groups-ledger.js')).href)) as typeof import('../../bus/groups-ledger.js');
    ledger.noteGroup(home, { kind: 'fanout', group, integration, ids: [integration], at: earlier });

    const r = await gitbus(['resolve', integration, '--runner', 'manual', '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    const followUp = json<{ id: string }>(r).id;
    await claimInProcess(home, followUp);
    await respondInProcess(home, followUp, { status: 'succeeded', project: { repo: REPO, branch, baseCommit: 'b'.repeat(40), headCommit: 'e'.repeat(40), pushed: true, merged: merge } });
    // The archive takes the integration, which ended two hours ago, and leaves the follow-up that just ended.
    const ops = (await import(pathToFileURL(join(ROOT, 'dist', 'bus/ops/archive.js')).href)) as typeof import('../../bus/ops/archive.js');
    const { openBus } = (await import(pathToFileURL(join(ROOT, 'dist', 'bus/context.js')).href)) as { openBus: (home: string) => Promise<BusContext> };
    const ctx = await openBus(home);
    try {
      expect((await ops.archive(ctx, { olderThanMs: 3_600_000 })).archived).toEqual([integration]);
    } finally {
      await ctx.repo.close();
    }
    const g = await gitbus(['group', group, '--json'], { home });
    expect(g.code, g.stderr).toBe(0);
    const view = json<{ integration: { id: string } | null; resolvedBy: string | null; others: { id: string }[] }>(g);
    expect(view.integration?.id).toBe(integration);
    expect(view.others.map((o) => o.id)).toEqual([followUp]);
    expect(view.resolvedBy).toBe(followUp);
    expect((await gitbus(['group', group], { home })).stdout).toContain(`resolved by ${followUp}`);
  }, 120_000);
});
