import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gitbus, json } from '../helpers/cli.js';
import { envFleet, type EnvBus } from '../helpers/env-fleet.js';

/**
 * `gitbus env restore` of backups edited by hand (or made before a path was never synced): one none of whose entries
 * may be put back restores nothing and says so (ENV_NOTHING_RESTORED, exit 3), and a mode with more than the
 * permission bits is narrowed, never kept; `env apply` keeps no setuid bit of the file it replaces either. Nodes a
 * and b of test/helpers/env-fleet.ts on a real bare remote, fake HOMEs, the CLI.
 */

const fleet = envFleet();
const { fakeHome, envOf, envCmd, put, read, ok } = fleet;
let bus: EnvBus;

beforeAll(async () => {
  bus = await fleet.start();
}, 30_000);

afterAll(() => fleet.stop());

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A backup of b's written as a hand (or an older gitbus) would: `copies` are its saved files, by entry. */
function handBackup(id: string, entries: { target: string; rel?: string; text: string; mode: unknown; written: string | null }[]): void {
  const dir = join(bus.home('b'), 'env', 'backups', id);
  mkdirSync(dir, { recursive: true });
  const rows = entries.map((e, i) => {
    const copy = String(i + 1).padStart(4, '0');
    writeFileSync(join(dir, copy), e.text);
    return { target: e.target, rel: e.rel ?? e.target.slice(2), hash: null, backup: copy, mode: e.mode, written: e.written };
  });
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify({ format: 1, id, profile: 'old', node: 'b', at: '2026-01-01T00:00:00.000Z', reason: 'apply', entries: rows }, null, 2)}\n`);
}

type Listed = { backups: { id: string; restored?: string }[] };

describe('gitbus env restore of a backup edited by hand', () => {
  it('restores nothing when every entry is one it leaves as it is: ENV_NOTHING_RESTORED, exit 3, each with why; the backup stays not restored', async () => {
    // With HOME one folder up, b's bus home is ~/home-b: a path apply would never write, as are ~/.ssh and "..".
    const userHome = bus.dir;
    const own = basename(bus.home('b'));
    const nodeYaml = join(bus.home('b'), 'node.yaml');
    const nodeBefore = readFileSync(nodeYaml, 'utf8');
    const id = '20260101-000000-000';
    handBackup(id, [
      { target: `~/${own}/node.yaml`, text: 'node: mallory\n', mode: 0o644, written: sha(nodeBefore) },
      { target: '~/.ssh/authorized_keys', text: 'ssh-ed25519 AAAA mallory\n', mode: 0o600, written: null },
      { target: '~/x/../HOME-b/escaped', text: 'escaped\n', mode: 0o644, written: null },
    ]);
    const env = { HOME: userHome, GIT_CONFIG_NOSYSTEM: '1' };
    // Named, and as the default (the newest not restored): both times, for it is never marked restored.
    for (const args of [[id], []]) {
      const r = await gitbus(['env', 'restore', ...args, '--json'], { home: bus.home('b'), env });
      expect(r.code, `${r.stdout}${r.stderr}`).toBe(3);
      const e = json<{ error: { code: string; message: string; fix: string; data: { id: string; skipped: { target: string; reason: string }[] } } }>(r).error;
      expect(e.code).toBe('ENV_NOTHING_RESTORED');
      expect(e.message).toMatch(new RegExp(`^nothing was restored from backup ${id}: every file it holds is one restore leaves as it is: `));
      expect(e.fix).toContain('not marked restored');
      expect(e.data.id).toBe(id);
      expect(e.data.skipped).toEqual([
        { target: `~/${own}/node.yaml`, reason: expect.stringMatching(/^never synced: gitbus's bus home in use/) },
        { target: '~/.ssh/authorized_keys', reason: expect.stringMatching(/^never synced: \.ssh holds credentials/) },
        { target: '~/x/../HOME-b/escaped', reason: expect.stringMatching(/^it is not a path in the home folder/) },
      ]);
    }
    const human = await gitbus(['env', 'restore', id], { home: bus.home('b'), env });
    expect(human.code).toBe(3);
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain(`gitbus: nothing was restored from backup ${id}`);
    for (const t of [`~/${own}/node.yaml (never synced`, '~/.ssh/authorized_keys (never synced', '~/x/../HOME-b/escaped (it is not a path']) expect(human.stderr).toContain(t);
    expect(readFileSync(nodeYaml, 'utf8')).toBe(nodeBefore);
    expect(existsSync(join(userHome, '.ssh'))).toBe(false);
    const listed = json<Listed>(await gitbus(['env', 'restore', '--list', '--json'], { home: bus.home('b'), env })).backups;
    expect(listed.find((b) => b.id === id)?.restored).toBeUndefined();
    expect(listed.map((b) => b.id)).toEqual([id]);
  });

  it('restores the permission bits only: setuid, setgid, sticky and modes that are none are narrowed and named, a plain mode kept', async () => {
    const id = '20260102-000000-000';
    const cases: { name: string; mode: unknown; want: number; shown?: string }[] = [
      { name: '.m-setuid', mode: 0o4755, want: 0o755, shown: '4755' },
      { name: '.m-setgid', mode: 0o2750, want: 0o750, shown: '2750' },
      { name: '.m-sticky', mode: 0o1777, want: 0o777, shown: '1777' },
      { name: '.m-st-mode', mode: 0o100640, want: 0o640, shown: '100640' },
      { name: '.m-string', mode: '4777', want: 0o600, shown: '"4777"' },
      { name: '.m-negative', mode: -1, want: 0o600, shown: '-1' },
      { name: '.m-fraction', mode: 420.5, want: 0o600, shown: '420.5' },
      { name: '.m-plain', mode: 0o640, want: 0o640 },
    ];
    for (const c of cases) put('b', c.name, 'after\n');
    handBackup(id, cases.map((c) => ({ target: `~/${c.name}`, text: `before ${c.name}\n`, mode: c.mode, written: sha('after\n') })));
    const r = await envCmd('b', ['restore', id]);
    ok(r);
    const done = json<{ files: { target: string }[]; narrowed: { target: string; mode: string; applied: string }[] }>(r);
    expect(done.files.map((f) => f.target)).toEqual(cases.map((c) => `~/${c.name}`));
    for (const c of cases) {
      expect(read('b', c.name)).toBe(`before ${c.name}\n`);
      expect(statSync(join(fakeHome('b'), c.name)).mode & 0o7777, c.name).toBe(c.want);
    }
    expect(done.narrowed).toEqual(cases.filter((c) => c.shown !== undefined).map((c) => ({ target: `~/${c.name}`, mode: c.shown, applied: c.want.toString(8).padStart(4, '0') })));

    // In words: each narrowed file on a line of its own.
    for (const c of cases) put('b', c.name, 'after\n');
    const again = '20260103-000000-000';
    handBackup(again, [{ target: '~/.m-setuid', text: 'before\n', mode: 0o4755, written: sha('after\n') }]);
    const human = await gitbus(['env', 'restore', again], { home: bus.home('b'), env: envOf('b') });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('  mode      ~/.m-setuid: restored 0755, not 4755 as the backup has it (permission bits only)\n');
    expect(statSync(join(fakeHome('b'), '.m-setuid')).mode & 0o7777).toBe(0o755);
  });
});

describe('gitbus env apply over a file with a setuid bit', () => {
  it('writes the profile\'s content with the permission bits only, and names the file', async () => {
    put('a', 'bin/run', '#!/bin/sh\necho a\n');
    chmodSync(join(fakeHome('a'), 'bin/run'), 0o755);
    put('a', 'bin/same', '#!/bin/sh\necho same\n');
    chmodSync(join(fakeHome('a'), 'bin/same'), 0o755);
    ok(await envCmd('a', ['capture', 'tools', '--add', '~/bin/run', '--add', '~/bin/same']));
    put('b', 'bin/run', '#!/bin/sh\necho b\n');
    chmodSync(join(fakeHome('b'), 'bin/run'), 0o4755);
    // In sync by content, the executable bit to set: only its mode changes, and no setgid bit is kept with it.
    put('b', 'bin/same', '#!/bin/sh\necho same\n');
    chmodSync(join(fakeHome('b'), 'bin/same'), 0o2640);
    expect(statSync(join(fakeHome('b'), 'bin/run')).mode & 0o7777).toBe(0o4755);
    const mode = (rel: string) => statSync(join(fakeHome('b'), rel)).mode & 0o7777;
    const sgid = mode('bin/same');

    const r = await envCmd('b', ['apply', 'tools', '--force']);
    ok(r);
    const res = json<{ results: { written: string[]; modes: { target: string }[]; narrowed: { target: string; mode: string; applied: string }[] }[] }>(r).results[0];
    expect(read('b', 'bin/run')).toBe('#!/bin/sh\necho a\n');
    expect(mode('bin/run')).toBe(0o755);
    expect(res?.written).toEqual(['~/bin/run']);
    expect(res?.modes.map((m) => m.target)).toEqual(['~/bin/same']);
    expect(mode('bin/same')).toBe(0o750);
    // chmod by a user outside the file's group clears setgid itself: what the file had is what is named.
    const named = [{ target: '~/bin/run', mode: '4755', applied: '0755' }, ...(sgid & 0o2000 ? [{ target: '~/bin/same', mode: '2640', applied: '0750' }] : [])];
    expect(res?.narrowed).toEqual(named);
    // The backup keeps the mode the file had, setuid bit and all; restoring it narrows it, saying so.
    const back = await envCmd('b', ['restore']);
    ok(back);
    expect(read('b', 'bin/run')).toBe('#!/bin/sh\necho b\n');
    expect(mode('bin/run')).toBe(0o755);
    expect(json<{ narrowed: { target: string }[] }>(back).narrowed).toEqual([{ target: '~/bin/run', mode: '4755', applied: '0755' }]);
  });
});
