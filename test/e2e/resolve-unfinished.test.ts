import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { gitbus, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { branchFiles, fanOutPlan, makeProject, pushHandoffs, README_CLASH_PLAN, responseOf, workUntilIdle, type FannedGroup } from '../helpers/project.js';

/**
 * A resolve follow-up whose run does not succeed pushes nothing (docs/PROTOCOL.md §3a step 5): its branch is the
 * integration's, on which the merge runner dispatched again starts when the project remote has it, so a half-done
 * merge pushed there would come back "integrated" from a merge that adds nothing. Real watchers on one node; the
 * follow-up is a shell task that merges both workstreams, commits, and fails as tests would.
 */
const GROUP = 'halfway';
type Json = Record<string, unknown>;

let bus: Awaited<ReturnType<typeof makeBus>>;
let project: ReturnType<typeof makeProject>;
let home: string;

beforeAll(async () => {
  bus = await makeBus();
  home = bus.home('alpha');
  project = makeProject(bus.dir);
  await bus.addNode('box1', [], ['--runner', 'shell', '--runner', 'merge']);
}, 60_000);
afterAll(async () => bus?.cleanup());

describe('a resolve that does not succeed', () => {
  it('leaves the integration branch as it was, says nothing is coming, and a merge again starts from the base', async () => {
    const f = await fanOutPlan<FannedGroup>(home, bus.dir, project.checkout, GROUP, README_CLASH_PLAN);
    await workUntilIdle(bus.home('box1'));
    expect(await responseOf(home, f.integration)).toMatchObject({ status: 'failed', project: { conflicts: [{ branch: `${GROUP}/right` }] } });
    const baseCommit = project.main();

    // The follow-up merges both, resolves the conflict, leaves more work uncommitted, and fails (its tests, say).
    const steps = [`git merge -q --no-ff origin/${GROUP}/left -m 'merge left'`, `(git merge -q --no-ff origin/${GROUP}/right -m 'merge right' || true)`, 'printf "left\\nright\\n" > README.md', 'git add README.md', 'git commit -q --no-edit', 'echo half-done > half.txt', 'exit 1'];
    pushHandoffs(join(bus.dir, 'person'), bus.remote, [{ id: 'halfway-fix', frontmatter: { title: 'Halfway: resolve', group: GROUP, to: 'box1', runner: 'shell', command: steps.join(' && '), repo: project.remote, base: 'main', baseCommit, branch: `${GROUP}/integration`, merge: [`${GROUP}/left`, `${GROUP}/right`] } }]);
    await workUntilIdle(bus.home('box1'));
    const r = await responseOf(home, 'halfway-fix');
    expect(r).toMatchObject({ status: 'failed', project: { branch: `${GROUP}/integration`, pushed: false, merged: [`${GROUP}/left`, `${GROUP}/right`] } });
    const p = r['project'] as Json;
    expect(p['pushError']).toBeUndefined();
    expect(p['headCommit']).not.toBe(baseCommit);
    expect(branchFiles(project.remote, `${GROUP}/integration`)).toBeNull();

    const show = (await gitbus(['show', 'halfway-fix'], { home })).stdout;
    expect(show).toContain("not pushed: the resolve did not succeed, so the integration's branch was left as it was; its commits stay in the worktree on the node that ran it");
    expect(show).not.toContain('fetch:');
    const body = json<{ files: { path: string; text: string }[] }>(await gitbus(['show', 'halfway-fix', '--json'], { home })).files.find((x) => x.path.startsWith('responses/'))?.text ?? '';
    expect(body).toContain(`Nothing was pushed: the resolve did not succeed, so \`${GROUP}/integration\` on the project remote was left as it was`);
    const group = (await gitbus(['group', GROUP], { home })).stdout;
    expect(group).toContain('nothing pushed (the resolve did not succeed)');
    expect(json<{ resolvedBy: string | null }>(await gitbus(['group', GROUP, '--json'], { home })).resolvedBy).toBeNull();

    // The merge runner again: from the base, so it meets the conflict again rather than calling the failed run's
    // branch integrated.
    const again = await gitbus(['resolve', f.integration, '--runner', 'merge', '--json'], { home });
    expect(again.code, again.stderr).toBe(0);
    const mergeId = json<{ id: string }>(again).id;
    await workUntilIdle(bus.home('box1'));
    expect(await responseOf(home, mergeId)).toMatchObject({ status: 'failed', project: { conflicts: [{ branch: `${GROUP}/right` }] } });
    expect((await gitbus(['group', GROUP], { home })).stdout).not.toContain('integrated:');
  }, 300_000);
});
