import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gitbus, json, spawnBounded } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { git, gitOk } from '../helpers/person-git.js';

/** Where gitbus's git hooks must do nothing: a hooks folder shared by every repository, a repository that is not a bus. */
describe('hooks and repositories that are not a bus', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let clone: string;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    clone = join(bus.dir, 'person');
    await gitOk(['clone', '-q', bus.remote, clone]);
  });
  afterAll(async () => bus?.cleanup());

  it('install refuses a hooks folder outside the clone (a global core.hooksPath), names it and where it is set, and writes nothing', async () => {
    const home = join(bus.dir, 'person-home');
    const shared = join(home, '.githooks');
    const gitconfig = join(home, '.gitconfig');
    await mkdir(home, { recursive: true });
    await writeFile(gitconfig, `[core]\n\thooksPath = ${shared}\n`);
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), GIT_CONFIG_GLOBAL: gitconfig };

    const refused = await gitbus(['hooks', 'install', '--dir', clone], { env });
    expect(refused.code, refused.stderr).toBe(7);
    expect(refused.stderr).toContain(`${shared}, where git looks for this clone's hooks, is outside the clone`);
    expect(refused.stderr).toContain(`core.hooksPath, set in ${gitconfig}`);
    expect(refused.stderr).toContain(`git -C ${clone} config core.hooksPath "$(git -C ${clone} rev-parse --git-common-dir)/hooks"`);
    const j = json<{ error: { code: string; data: { hooksDir: string } } }>(await gitbus(['hooks', 'install', '--dir', clone, '--json'], { env }));
    expect(j.error).toMatchObject({ code: 'HOOKS_DIR_SHARED', data: { hooksDir: shared } });
    expect(existsSync(shared)).toBe(false);

    // The fix it names: a hooks folder of the clone's own, which the global setting no longer overrides.
    const fix = await spawnBounded('sh', ['-c', `git -C ${clone} config core.hooksPath "$(git -C ${clone} rev-parse --git-common-dir)/hooks"`], { env: { ...process.env, ...env }, timeoutMs: 30_000 });
    expect(fix.code, fix.stderr).toBe(0);
    const installed = await gitbus(['hooks', 'install', '--dir', clone, '--json'], { env });
    expect(installed.code, installed.stderr).toBe(0);
    expect(json<{ hooksDir: string }>(installed).hooksDir).toBe(join(await realpath(clone), '.git', 'hooks'));
    expect(existsSync(shared)).toBe(false);
  });

  it('a gitbus hook copied into a repository that is not a bus neither refuses its commits nor pushes them', async () => {
    const remote = join(bus.dir, 'notes.git');
    const notes = join(bus.dir, 'notes');
    await gitOk(['init', '-q', '--bare', remote]);
    await gitOk(['clone', '-q', remote, notes]);
    await gitOk(['checkout', '-q', '-b', 'main'], notes);
    await writeFile(join(notes, 'README.md'), 'my notes\n');
    await gitOk(['add', 'README.md'], notes);
    await gitOk(['commit', '-q', '-m', 'first'], notes);
    await gitOk(['push', '-q', '-u', 'origin', 'main'], notes);
    const pushed = await gitOk(['--git-dir', remote, 'rev-parse', 'main']);
    for (const name of ['pre-commit', 'post-commit']) {
      await writeFile(join(notes, '.git', 'hooks', name), await readFile(join(clone, '.git', 'hooks', name)));
      await chmod(join(notes, '.git', 'hooks', name), 0o755);
    }

    // handoffs/Notes.md breaks a bus's naming rule: in a bus the pre-commit would refuse it.
    await mkdir(join(notes, 'handoffs'));
    await writeFile(join(notes, 'handoffs', 'Notes.md'), 'not a handoff\n');
    await gitOk(['add', 'handoffs'], notes);
    const r = await git(['commit', '-m', 'notes'], notes);
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toContain('gitbus');
    expect(await gitOk(['log', '-1', '--format=%s'], notes)).toBe('notes');
    expect(await gitOk(['--git-dir', remote, 'rev-parse', 'main'])).toBe(pushed);
  });
});
