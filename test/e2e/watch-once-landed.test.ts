import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { gitCli, gitbus } from '../helpers/cli.js';
import { claimInProcess, respondInProcess } from '../helpers/in-process.js';
import { makeProject } from '../helpers/project.js';
import { putPendingPush } from '../../watcher/workspace/pending-pushes.js';

/**
 * `gitbus watch --once` with a branch whose response went out "not pushed yet" (`<home>/pushes/`, docs/PROTOCOL.md
 * §3a "A push that lands later") and a project remote that takes it now: the push and its delivery run beside the
 * drain, and the watcher waits for them (within the grace period) before it ends, so a node run only by `--once`
 * (a cron job) still gets the delivery onto the bus.
 */
describe('watch --once with a push that lands now', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  afterAll(async () => bus?.cleanup());

  it('pushes the branch and publishes its delivery before it exits', async () => {
    bus = await makeBus({ node: 'alpha', initArgs: ['--runner', 'shell'] });
    const home = bus.home('alpha');
    const project = makeProject(bus.dir);
    const base = project.main();
    gitCli(['checkout', '-q', '-b', 'feature/x'], project.checkout);
    gitCli(['commit', '-q', '--allow-empty', '-m', 'the results'], project.checkout);
    const head = gitCli(['rev-parse', 'HEAD'], project.checkout).trim();
    const id = await bus.dispatch('alpha', ['work that pushes later']);
    await claimInProcess(home, id);
    await respondInProcess(home, id, { status: 'succeeded', project: { repo: project.remote, branch: 'feature/x', baseCommit: base, headCommit: head, pushed: false, pushError: 'pre-receive hook declined' } });
    putPendingPush(home, { id, attempt: 1, push: { gitDir: join(project.checkout, '.git'), url: project.remote, commit: head, branch: 'feature/x' } });

    const once = await gitbus(['watch', '--once', '--json'], { home, timeoutMs: 60_000 });
    expect(once.code, once.stderr).toBe(0);
    expect(gitCli(['--git-dir', project.remote, 'rev-parse', 'refs/heads/feature/x']).trim()).toBe(head);
    expect(gitCli(['ls-tree', '-r', '--name-only', 'main', 'deliveries/'], bus.remote).trim()).toBe(`deliveries/${id}.1.md`);
    expect(existsSync(join(home, 'pushes', `${id}.1.json`))).toBe(false);
  }, 120_000);
});
