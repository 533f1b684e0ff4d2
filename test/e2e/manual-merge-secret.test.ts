import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBus } from '../helpers/bus.js';
import { gitbus, gitCli } from '../helpers/cli.js';
import { editNode, makeProject, pushHandoffs } from '../helpers/project.js';
import { showInProcess } from '../helpers/in-process.js';

/**
 * A person's `respond --status succeeded` of a manual merge (a `resolve --runner manual`) checks the project remote
 * with the URL node.yaml gives the project, which may hold a token: the response it writes, which every node reads,
 * names the remote without it, as the watcher's responses do. The URL is an https one with credentials, sent to a
 * local bare repository by git's `url.insteadOf` of the same URL without them.
 */
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe('a manual merge answered succeeded', () => {
  it('names the project remote in its response without the password node.yaml holds', async () => {
    const bus = await makeBus();
    cleanups.push(bus.cleanup);
    const home = bus.home('alpha');
    const project = makeProject(bus.dir);
    const secretUrl = 'https://bot:s3cr3t-t0ken@git.example.invalid/org/proj.git';
    const config = join(bus.dir, 'gitconfig');
    // Keyed on the URL without its credential: gitbus gives git the credential as a rewrite of that URL in its
    // environment (watcher/workspace/cache.ts remoteEnv), which a person's own rewrite of the same URL overrides.
    writeFileSync(config, `[url "${project.remote}"]\n\tinsteadOf = https://git.example.invalid/org/proj.git\n`);
    editNode(home, (c) => ({ ...c, projects: { proj: { url: secretUrl } } }));
    const co = project.checkout;
    gitCli(['switch', '-q', '-c', 'g/a'], co);
    writeFileSync(join(co, 'a.txt'), 'a\n');
    gitCli(['add', '.'], co);
    gitCli(['commit', '-q', '-m', 'a'], co);
    gitCli(['push', '-q', 'origin', 'g/a', 'g/a:refs/heads/g/integration'], co);
    pushHandoffs(join(bus.dir, 'person'), bus.remote, [{ id: 'mm-secret', frontmatter: { runner: 'manual', repo: 'proj', base: 'main', branch: 'g/integration', merge: ['g/a'] } }]);
    const env = { GIT_CONFIG_GLOBAL: config };
    const claimed = await gitbus(['claim', 'mm-secret', '--json'], { home, env, process: true });
    expect(claimed.code, claimed.stderr + claimed.stdout).toBe(0);
    const answered = await gitbus(['respond', 'mm-secret', '--status', 'succeeded', '--json'], { home, env, process: true });
    expect(answered.code, answered.stderr + answered.stdout).toBe(0);
    const shown = await showInProcess<{ files: { path: string; text: string }[] }>(home, 'mm-secret');
    const response = shown.files.find((f) => f.path.startsWith('responses/'))?.text ?? '';
    expect(response).toContain('g/integration');
    expect(response).toContain('https://git.example.invalid/org/proj.git');
    expect(response).not.toContain('s3cr3t');
  }, 120_000);
});
