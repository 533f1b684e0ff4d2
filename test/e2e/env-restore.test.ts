import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { json } from '../helpers/cli.js';
import { envFleet, type EnvBus } from '../helpers/env-fleet.js';

/**
 * `gitbus env restore` as a process, with two nodes on a real bare remote and fake HOMEs of their own
 * (test/helpers/env-fleet.ts): node a captures a profile, node b applies it over files of its own, and b's restore
 * of that backup meets a folder on a file's path that became a symbolic link since.
 */

const fleet = envFleet();
const { envCmd, put, read, fakeHome, ok } = fleet;
let bus: EnvBus;

beforeAll(async () => {
  bus = await fleet.start();
}, 30_000);

afterAll(() => fleet.stop());

describe('gitbus env restore', () => {
  it('restores nothing when a folder on one file\'s path became a symbolic link (ENV_PATH_UNSAFE, each such file named); once mended, everything', async () => {
    // Three files, the linked one between the others: whichever order the restore takes them in, one comes first.
    const files = ['.aa-rc', '.config/tool/tool.conf', '.zz-rc'];
    for (const f of files) put('a', f, `a's ${f}\n`);
    ok(await envCmd('a', ['capture', 'dots', ...files.flatMap((f) => ['--add', `~/${f}`])]));
    for (const f of files) put('b', f, `b's ${f}\n`);
    const applied = await envCmd('b', ['apply', 'dots', '--force']);
    ok(applied);
    const backup = json<{ results: { backup: string }[] }>(applied).results[0]?.backup ?? '';
    expect(backup).toMatch(/^\d{8}-\d{6}-\d{3}/);
    for (const f of files) expect(read('b', f)).toBe(`a's ${f}\n`);

    // ~/.config moves out of the home and a link takes its place (a dotfiles manager does this).
    const outside = join(bus.dir, 'dotfiles-config');
    renameSync(join(fakeHome('b'), '.config'), outside);
    symlinkSync(outside, join(fakeHome('b'), '.config'));
    for (const force of [[], ['--force']]) {
      const refused = await envCmd('b', ['restore', backup, ...force]);
      expect(refused.code, refused.stderr).toBe(5);
      // Not one file put back, the one behind the link included (it is read through the link, never written).
      for (const f of files) expect(read('b', f), f).toBe(`a's ${f}\n`);
      const e = json<{ error: { code: string; message: string; fix: string } }>(refused).error;
      expect(e.code).toBe('ENV_PATH_UNSAFE');
      expect(e.message).toContain('~/.config/tool/tool.conf (~/.config on its path is a symbolic link): nothing was restored');
      expect(e.fix).toContain(`gitbus env restore ${backup}`);
    }
    const listed = json<{ backups: { id: string; restored?: string; reason: string }[] }>(await envCmd('b', ['restore', '--list'])).backups;
    expect(listed.filter((b) => b.reason === 'restore')).toEqual([]);
    expect(listed.find((b) => b.id === backup)?.restored).toBeUndefined();

    // The link mended: the same restore puts every file back.
    rmSync(join(fakeHome('b'), '.config'));
    renameSync(outside, join(fakeHome('b'), '.config'));
    const restored = await envCmd('b', ['restore', backup]);
    ok(restored);
    expect(json<{ files: { target: string; action: string }[] }>(restored).files.map((f) => f.target).sort()).toEqual(files.map((f) => `~/${f}`).sort());
    for (const f of files) expect(read('b', f), f).toBe(`b's ${f}\n`);
  });
});
