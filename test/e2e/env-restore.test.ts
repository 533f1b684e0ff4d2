import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gitbus, json } from '../helpers/cli.js';
import { envFleet, type EnvBus } from '../helpers/env-fleet.js';

/**
 * `gitbus env restore`, with two nodes on a real bare remote and fake HOMEs of their own
 * (test/helpers/env-fleet.ts): node a captures a profile, node b applies it over files of its own, and b's restore
 * of that backup meets a folder on a file's path that became a symbolic link since.
 */

const fleet = envFleet();
const { envCmd, put, read, fakeHome, ok } = fleet;
let bus: EnvBus;

beforeAll(async () => {
  bus = await fleet.start();
}, 30_000);

const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) spawnSync('umount', ['-l', m], { timeout: 10_000 });
  return fleet.stop();
});

/** A small tmpfs at `dir`, or false where mounting is not permitted (not root); CI must be able to. */
function smallDisk(dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    if (process.env['CI'] === 'true') throw new Error('cannot mount a tmpfs, and CI must run the full-disk restore test: run it as root');
    return false;
  }
  mounts.push(dir);
  return true;
}

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

  it('restores nothing when a file does not fit on a full disk (DISK_FULL); once there is room, everything', async (ctx) => {
    const disk = join(fakeHome('b'), '.small');
    if (!smallDisk(disk)) {
      console.warn('full-disk restore test skipped: mounting a tmpfs is not permitted here (run as root)');
      ctx.skip();
    }
    // The small file is put back first (the restore goes from the last file apply changed, and apply goes by path),
    // so a restore that wrote file by file would have put it back before the big one failed.
    const big = (who: string) => who.repeat(300 * 1024);
    put('a', '.small/big', big('A'));
    put('a', '.small/tiny', "a's tiny\n");
    ok(await envCmd('a', ['capture', 'small', '--add', '~/.small/big', '--add', '~/.small/tiny']));
    put('b', '.small/big', big('B'));
    put('b', '.small/tiny', "b's tiny\n");
    const applied = await envCmd('b', ['apply', 'small', '--force']);
    ok(applied);
    const backup = json<{ results: { backup: string }[] }>(applied).results[0]?.backup ?? '';
    expect(read('b', '.small/tiny')).toBe("a's tiny\n");

    // Fill the disk, then give back room for the small file but not the big one.
    const filler = join(disk, 'filler');
    spawnSync('sh', ['-c', `head -c 10000000 /dev/zero > '${filler}'`], { timeout: 30_000 });
    truncateSync(filler, Math.max(0, statSync(filler).size - 64 * 1024));
    type Listed = { backups: { id: string; restored?: string; reason: string }[] };
    const restoreBackups = async () => json<Listed>(await envCmd('b', ['restore', '--list'])).backups.filter((b) => b.reason === 'restore').map((b) => b.id);
    const before = await restoreBackups();
    const refused = await envCmd('b', ['restore', backup]);
    expect(refused.code, refused.stderr).not.toBe(0);
    expect(json<{ error: { code: string } }>(refused).error.code).toBe('DISK_FULL');
    // Not one file put back, no staged copy left, and no backup of a restore that did not happen.
    expect(read('b', '.small/tiny')).toBe("a's tiny\n");
    expect(read('b', '.small/big')).toBe(big('A'));
    expect(readdirSync(disk).sort()).toEqual(['big', 'filler', 'tiny']);
    expect(await restoreBackups()).toEqual(before);
    expect(json<Listed>(await envCmd('b', ['restore', '--list'])).backups.find((b) => b.id === backup)?.restored).toBeUndefined();

    rmSync(filler);
    ok(await envCmd('b', ['restore', backup]));
    expect(read('b', '.small/tiny')).toBe("b's tiny\n");
    expect(read('b', '.small/big')).toBe(big('B'));
  });

  it('leaves out what apply would not write today, saying so: the bus home in use, a path never synced, one outside the home; restores the rest', async () => {
    // A backup made before apply knew the bus home in use as never synced (GITBUS_HOME under the home), or edited by
    // hand. b's bus home is <dir>/home-b, so with HOME=<dir> it is ~/home-b.
    const userHome = bus.dir;
    const own = basename(bus.home('b'));
    const nodeYaml = join(bus.home('b'), 'node.yaml');
    const nodeBefore = readFileSync(nodeYaml, 'utf8');
    writeFileSync(join(userHome, '.restorable'), 'after\n');
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    const id = '20260101-000000-000';
    const dir = join(bus.home('b'), 'env', 'backups', id);
    mkdirSync(dir, { recursive: true });
    const copies: [string, string][] = [
      ['0001', 'before\n'],
      ['0002', 'node: mallory\nremote: /elsewhere\n'],
      ['0003', 'ssh-ed25519 AAAA mallory\n'],
      ['0004', 'escaped\n'],
    ];
    for (const [name, text] of copies) writeFileSync(join(dir, name), text);
    const entry = (target: string, rel: string, backup: string, written: string | null) => ({ target, rel, hash: null, backup, mode: 0o644, written });
    const manifest = {
      format: 1,
      id,
      profile: 'old',
      node: 'b',
      at: '2026-01-01T00:00:00.000Z',
      reason: 'apply',
      entries: [
        entry('~/.restorable', '.restorable', '0001', sha('after\n')),
        entry(`~/${own}/node.yaml`, `${own}/node.yaml`, '0002', sha(nodeBefore)),
        entry('~/.ssh/authorized_keys', '.ssh/authorized_keys', '0003', null),
        entry('~/x/../HOME-b/escaped', 'x/../HOME-b/escaped', '0004', null),
      ],
    };
    writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

    const r = await gitbus(['env', 'restore', id, '--json'], { home: bus.home('b'), env: { HOME: userHome, GIT_CONFIG_NOSYSTEM: '1' } });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    const done = json<{ files: { target: string; action: string }[]; skipped: { target: string; reason: string }[] }>(r);
    expect(done.files).toEqual([{ target: '~/.restorable', action: 'restored' }]);
    expect(done.skipped).toEqual([
      { target: `~/${own}/node.yaml`, reason: expect.stringMatching(new RegExp(`^never synced: gitbus's bus home in use \\(~/${own}: `)) },
      { target: '~/.ssh/authorized_keys', reason: expect.stringMatching(/^never synced: \.ssh holds credentials/) },
      { target: '~/x/../HOME-b/escaped', reason: expect.stringMatching(/^it is not a path in the home folder \(it has a "\.\." part\)/) },
    ]);
    expect(readFileSync(join(userHome, '.restorable'), 'utf8')).toBe('before\n');
    expect(readFileSync(nodeYaml, 'utf8')).toBe(nodeBefore);
    expect(existsSync(join(userHome, '.ssh'))).toBe(false);
    expect(existsSync(join(fakeHome('b'), 'escaped'))).toBe(false);

    // In words too.
    writeFileSync(join(userHome, '.restorable'), 'after\n');
    const human = await gitbus(['env', 'restore', id], { home: bus.home('b'), env: { HOME: userHome, GIT_CONFIG_NOSYSTEM: '1' } });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^ {2}skipped {3}~/${own}/node\\.yaml: never synced: gitbus's bus home in use .*; left as it is$`, 'm'));
    expect(human.stdout).toMatch(/^ {2}skipped {3}~\/\.ssh\/authorized_keys: never synced: \.ssh holds credentials.*; left as it is$/m);
    expect(readFileSync(nodeYaml, 'utf8')).toBe(nodeBefore);
  });
});
