import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, lutimesSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gitbus, json } from '../helpers/cli.js';
import { envFleet, type EnvBus } from '../helpers/env-fleet.js';

/**
 * The temp files an apply or restore killed between its write and its rename leaves beside a file of the home
 * (`.gitbus-tmp-<pid>-<hex>`; `.gitbus-tmp-<hex>` and `.NAME.gitbus-<pid>-<hex>.tmp` from older versions): the next apply or restore writing in that
 * folder removes them, only those of exactly that name, regular files, old enough, whose writer is gone
 * (bus/env/staged.ts). Nodes a and b of test/helpers/env-fleet.ts on a real bare remote, fake HOMEs, the CLI.
 */

const fleet = envFleet();
const { fakeHome, envOf, envCmd, put, read, ok } = fleet;
let bus: EnvBus;

beforeAll(async () => {
  bus = await fleet.start();
}, 30_000);

afterAll(() => fleet.stop());

/** The pid of a process that ran and is gone. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8', timeout: 10_000 });
  return Number(r.stdout);
}

/** A file at `rel` in b's home whose mtime is `ageMs` ago. */
function leftover(rel: string, ageMs: number): string {
  const p = join(fakeHome('b'), rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, 'half a settings file');
  const t = new Date(Date.now() - ageMs);
  utimesSync(p, t, t);
  return p;
}

const OLD = 10 * 60_000;
/** Whether b's home has a name at `rel` (a link is looked at, not followed). */
const present = (rel: string) => readdirSync(join(fakeHome('b'), dirname(rel))).includes(rel.split('/').pop() ?? '');

describe('gitbus env: temp files a killed apply left', () => {
  it('apply removes the old ones of a writer that is gone in the folders it writes to, and nothing else; --dry-run only says so', async () => {
    put('a', '.config/tool/tool.conf', 'a\n');
    put('a', '.zshrc', 'a zshrc\n');
    ok(await envCmd('a', ['capture', 'dots', '--add', '~/.config/tool/tool.conf', '--add', '~/.zshrc']));
    const dead = deadPid();
    const gone = [
      `.config/tool/.gitbus-tmp-${dead}-0a1b2c3d4e5f`,
      // What an older gitbus named them: no pid, judged by age alone.
      '.config/tool/.gitbus-tmp-00112233aabb',
      // The home itself is a folder apply writes to (~/.zshrc).
      `.gitbus-tmp-${dead}-ffffffffffff`,
      // What the first versions named them: .NAME.gitbus-<pid>-<6 hex>.tmp, beside the file NAME.
      `.config/tool/.tool.conf.gitbus-${dead}-0a1b2c.tmp`,
      `..zshrc.gitbus-${dead}-ffffff.tmp`,
    ];
    for (const rel of gone) leftover(rel, OLD);
    const kept = [
      // Its writer still runs (this test's process): a write in progress, however slow.
      leftover(`.config/tool/.gitbus-tmp-${process.pid}-0a1b2c3d4e5f`, OLD),
      // Too young: a write of another apply may be under way.
      leftover(`.config/tool/.gitbus-tmp-${dead}-aaaaaaaaaaaa`, 1000),
      leftover('.config/tool/.gitbus-tmp-bbbbbbbbbbbb', 1000),
      // Not exactly the name.
      leftover('.config/tool/.gitbus-tmp-0a1b', OLD),
      leftover('.config/tool/.gitbus-tmp-notes', OLD),
      leftover('.config/tool/x.gitbus-tmp-0a1b2c3d4e5f', OLD),
      leftover('.config/tool/.gitbus-tmp-0A1B2C3D4E5F', OLD),
      // A folder no file of the profile is in.
      leftover(`.config/other/.gitbus-tmp-${dead}-0a1b2c3d4e5f`, OLD),
      // The older name: its writer still runs, too young, or not exactly the name (no pid, other hex, other ending).
      leftover(`.config/tool/.tool.conf.gitbus-${process.pid}-0a1b2c.tmp`, OLD),
      leftover(`.config/tool/.tool.conf.gitbus-${dead}-aaaaaa.tmp`, 1000),
      leftover('.config/tool/.tool.conf.gitbus-0a1b2c.tmp', OLD),
      leftover(`.config/tool/.tool.conf.gitbus-${dead}-0a1b2c3d.tmp`, OLD),
      leftover(`.config/tool/.tool.conf.gitbus-${dead}-0A1B2C.tmp`, OLD),
      leftover(`.config/tool/tool.conf.gitbus-${dead}-0a1b2c.tmp`, OLD),
      leftover(`.config/tool/.tool.conf.gitbus-${dead}-0a1b2c.tmp.keep`, OLD),
      leftover(`.config/tool/..gitbus-${dead}-0a1b2c.tmp`, OLD),
    ];
    // Not a regular file: a folder, and a link (to a file outside the home, which must stay).
    const folder = join(fakeHome('b'), '.config/tool/.gitbus-tmp-cccccccccccc');
    mkdirSync(folder);
    utimesSync(folder, new Date(Date.now() - OLD), new Date(Date.now() - OLD));
    const outside = join(bus.dir, 'precious');
    writeFileSync(outside, 'precious\n');
    const link = join(fakeHome('b'), '.config/tool/.gitbus-tmp-dddddddddddd');
    symlinkSync(outside, link);
    lutimesSync(link, new Date(Date.now() - OLD), new Date(Date.now() - OLD));
    const oldLink = join(fakeHome('b'), `.config/tool/.tool.conf.gitbus-${dead}-dddddd.tmp`);
    symlinkSync(outside, oldLink);
    lutimesSync(oldLink, new Date(Date.now() - OLD), new Date(Date.now() - OLD));
    kept.push(folder, link, oldLink);

    const dry = await envCmd('b', ['apply', 'dots', '--dry-run']);
    ok(dry);
    expect(json<{ results: { leftovers: string[] }[] }>(dry).results[0]?.leftovers.sort()).toEqual(gone.map((r) => `~/${r}`).sort());
    for (const rel of gone) expect(present(rel), rel).toBe(true);

    const applied = await envCmd('b', ['apply', 'dots']);
    ok(applied);
    expect(json<{ results: { leftovers: string[] }[] }>(applied).results[0]?.leftovers.sort()).toEqual(gone.map((r) => `~/${r}`).sort());
    for (const rel of gone) expect(present(rel), rel).toBe(false);
    for (const p of kept) expect(existsSync(p), p).toBe(true);
    expect(read('b', '.config/tool/.gitbus-tmp-dddddddddddd')).toBe('precious\n');
    expect(read('b', '.config/tool/tool.conf')).toBe('a\n');
  });

  it('a folder reached through a link is never swept, even where the profile writes', async () => {
    put('a', 'lnk/tool.conf', 'a\n');
    ok(await envCmd('a', ['capture', 'linked', '--add', '~/lnk/tool.conf']));
    // b's ~/lnk is a link to a folder outside the home (a dotfiles manager does this), holding an old leftover.
    const outside = join(bus.dir, 'outside-lnk');
    mkdirSync(outside);
    const stale = join(outside, `.gitbus-tmp-${deadPid()}-0a1b2c3d4e5f`);
    writeFileSync(stale, 'not ours to remove\n');
    utimesSync(stale, new Date(Date.now() - OLD), new Date(Date.now() - OLD));
    symlinkSync(outside, join(fakeHome('b'), 'lnk'));
    const applied = await envCmd('b', ['apply', 'linked']);
    // The file itself is held (never written through a link): exit 5.
    expect(applied.code, applied.stderr).toBe(5);
    expect(json<{ results: { leftovers: string[] }[] }>(applied).results[0]?.leftovers).toEqual([]);
    expect(existsSync(stale)).toBe(true);
  });

  it('restore sweeps the folders it writes to, and says so in words', async () => {
    put('a', 'rest/file.conf', 'a\n');
    ok(await envCmd('a', ['capture', 'rest', '--add', '~/rest/file.conf']));
    put('b', 'rest/file.conf', 'b\n');
    const applied = await envCmd('b', ['apply', 'rest', '--force']);
    ok(applied);
    const backup = json<{ results: { backup: string }[] }>(applied).results[0]?.backup ?? '';
    const rel = `rest/.gitbus-tmp-${deadPid()}-0a1b2c3d4e5f`;
    leftover(rel, OLD);
    const r = await gitbus(['env', 'restore', backup], { home: bus.home('b'), env: envOf('b') });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`  removed   ~/${rel} (a temp file a killed apply or restore left)\n`);
    expect(present(rel)).toBe(false);
    expect(read('b', 'rest/file.conf')).toBe('b\n');
  });
});
