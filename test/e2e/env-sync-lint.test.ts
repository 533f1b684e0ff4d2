import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, json, spawnBounded } from '../helpers/cli.js';
import { envFleet, type EnvBus } from '../helpers/env-fleet.js';

/**
 * Environment profiles edited by hand in a clone of the bus (test/helpers/env-fleet.ts: nodes a and b, fake HOMEs,
 * a real bare remote, the CLI): the pre-commit hook and `gitbus lint PATH` check env/ as `gitbus lint`
 * and every node do, and `env status|diff` of a profile that cannot be used exit as apply does.
 */

const fleet = envFleet();
const { envCmd, put, editNode, ok, errorOf } = fleet;
let bus: EnvBus;

const IDENTITY = { GIT_AUTHOR_NAME: 'person', GIT_AUTHOR_EMAIL: 'p@example.invalid', GIT_COMMITTER_NAME: 'person', GIT_COMMITTER_EMAIL: 'p@example.invalid' };
const git = (args: string[], cwd: string) => spawnBounded('git', args, { cwd, env: { ...process.env, ...IDENTITY }, timeoutMs: 60_000 });
type Lint = { problems: { path: string; reason: string; severity: string }[]; errors: number };

beforeAll(async () => {
  bus = await fleet.start();
}, 30_000);

afterAll(() => fleet.stop());

describe('gitbus env, profiles edited by hand', () => {
  it('the pre-commit hook and gitbus lint PATH check env/: a file edited behind its manifest is refused with its whole path; status and diff of the profile exit 8 as apply does', async () => {
    put('a', '.zshrc', 'export EDITOR=vi\n');
    ok(await envCmd('a', ['capture', 'shell', '--add', '~/.zshrc']));
    const work = join(bus.dir, 'by-hand');
    expect((await git(['clone', '-q', '-b', 'main', bus.remote, work], bus.dir)).code).toBe(0);
    expect((await gitbus(['hooks', 'install'], { cwd: work })).code).toBe(0);
    const rc = join(work, 'env/shell/files/home/.zshrc');
    appendFileSync(rc, 'alias x=1\n');

    const commit = await git(['commit', '-qam', 'tweak'], work);
    expect(commit.code).not.toBe(0);
    expect(`${commit.stdout}${commit.stderr}`).toMatch(/env\/shell\/files\/home\/\.zshrc[\s\S]*SHA-256 or size differ/);

    const mismatch = { path: 'env/shell/files/home/.zshrc', reason: expect.stringMatching(/SHA-256 or size differ/) };
    const all = await gitbus(['lint', work, '--json']);
    expect(all.code).toBe(8);
    expect(json<Lint>(all).problems).toContainEqual(expect.objectContaining(mismatch));
    const one = await gitbus(['lint', join(work, 'env/shell/manifest.yaml'), '--json']);
    expect(one.code).toBe(8);
    expect(json<Lint>(one).problems).toEqual([expect.objectContaining(mismatch)]);
    // A file that is no bus file is named by its whole path in the checkout, and the fix names env/ too.
    mkdirSync(join(work, 'notes/2026'), { recursive: true });
    writeFileSync(join(work, 'notes/2026/x.md'), 'x\n');
    const stray = await gitbus(['lint', join(work, 'notes/2026/x.md'), '--json']);
    expect(json<{ problems: { path: string; fix: string }[] }>(stray).problems).toEqual([expect.objectContaining({ path: 'notes/2026/x.md', fix: expect.stringMatching(/env\/<profile>\//) })]);
    rmSync(join(work, 'notes'), { recursive: true });

    // Deleting a file the manifest names is refused as well.
    expect((await git(['checkout', '--', 'env/shell/files/home/.zshrc'], work)).code).toBe(0);
    expect((await git(['rm', '-q', 'env/shell/files/home/.zshrc'], work)).code).toBe(0);
    const removed = await git(['commit', '-qm', 'drop it'], work);
    expect(removed.code).not.toBe(0);
    expect(`${removed.stdout}${removed.stderr}`).toMatch(/env\/shell\/files\/home\/\.zshrc[\s\S]*the manifest lists this file but the profile does not have it/);
    expect((await git(['reset', '-q', '--hard'], work)).code).toBe(0);
    const clean = await gitbus(['lint', work, '--json']);
    expect(clean.code, clean.stdout).toBe(0);

    // Pushed past the hook: status and diff of the profile cannot report files, and say why as apply does.
    appendFileSync(rc, 'alias x=1\n');
    expect((await git(['commit', '--no-verify', '-qam', 'tweak'], work)).code).toBe(0);
    expect((await git(['push', '-q', 'origin', 'HEAD:main'], work)).code).toBe(0);
    for (const sub of ['status', 'diff', 'apply']) {
      const r = await envCmd('b', [sub, 'shell']);
      expect(r.code, `env ${sub}: ${r.stderr}`).toBe(8);
      expect(errorOf(r).code).toBe('ENV_PROFILE_INVALID');
    }
    // Subscribed, it is reported with its problem, and the report exits 8.
    editNode('b', (c) => (c['env'] = [{ profile: 'shell', apply: 'manual' }]));
    const report = await envCmd('b', ['status']);
    expect(report.code).toBe(8);
    expect(json<{ profiles: { profile: string; problem: string | null }[] }>(report).profiles).toEqual([expect.objectContaining({ profile: 'shell', problem: expect.stringMatching(/^invalid: .*SHA-256 or size differ/) })]);
  });
});
