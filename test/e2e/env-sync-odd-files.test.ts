import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { gitbus, json } from '../helpers/cli.js';
import { envFleet, SETTINGS_A, type EnvBus } from '../helpers/env-fleet.js';

/**
 * Environment sync (issue 12) with files that are not plain (test/helpers/env-fleet.ts: nodes a and b, fake HOMEs,
 * a real bare remote, the CLI): a script made executable after it was synced, a folder on the path
 * that is a link, and profiles that cannot be used (a file nested 20,000 deep, two profiles' paths inside each
 * other, a huge or unparsable local file) which must not stop the others. Each test makes the profiles it uses;
 * the last needs "claude" with a settings.json merged by keys, which the fleet captures first.
 */

const fleet = envFleet();
const { fakeHome, envOf, cli, envCmd, put, read, editNode, byHand, states, ok } = fleet;
let bus: EnvBus;

beforeAll(async () => {
  bus = await fleet.start();
  put('a', '.claude/settings.json', `${JSON.stringify(SETTINGS_A, null, 2)}\n`);
  put('b', '.claude/settings.json', `${JSON.stringify({ permissions: { allow: ['Bash(make:*)'] }, model: 'sonnet' }, null, 2)}\n`);
  ok(await envCmd('a', ['capture', 'claude']));
}, 30_000);

afterAll(() => fleet.stop());

describe('gitbus env', () => {
  it('a script made executable after it was synced: capture says only its mode changed, and apply sets the mode where the content is in sync', async () => {
    put('a', 'bin/tools/deploy', '#!/bin/sh\necho deploy\n');
    ok(await envCmd('a', ['capture', 'tools', '--add', '~/bin/tools']));
    ok(await envCmd('b', ['apply', 'tools']));
    const script = join(fakeHome('b'), 'bin/tools/deploy');
    expect(statSync(script).mode & 0o111).toBe(0);

    chmodSync(join(fakeHome('a'), 'bin/tools/deploy'), 0o755);
    const cap = await envCmd('a', ['capture', 'tools']);
    ok(cap);
    expect(json<{ files: { target: string; changed: boolean; executable?: boolean }[] }>(cap).files).toEqual([expect.objectContaining({ target: '~/bin/tools/deploy', changed: true, executable: true })]);
    expect(await states('b', 'tools')).toEqual({ '~/bin/tools/deploy': 'in-sync' });
    const dry = await gitbus(['env', 'apply', 'tools', '--dry-run'], { home: bus.home('b'), env: envOf('b') });
    expect(dry.stdout).toContain('would chmod  ~/bin/tools/deploy (made executable, as the profile has it)');
    const applied = await envCmd('b', ['apply', 'tools']);
    ok(applied);
    expect(json<{ results: { written: string[]; modes: { target: string; executable: boolean }[] }[] }>(applied).results[0]).toMatchObject({ written: [], modes: [{ target: '~/bin/tools/deploy', executable: true }] });
    expect(statSync(script).mode & 0o777).toBe(0o755);
    expect(json<{ results: { modes: unknown[] }[] }>(await envCmd('b', ['apply', 'tools'])).results[0]?.modes).toEqual([]);
    // b takes the bit off by hand: a change here, held like one, until captured or forced.
    chmodSync(script, 0o644);
    const held = await envCmd('b', ['apply', 'tools']);
    expect(held.code).toBe(5);
    expect(json<{ results: { modes: unknown[]; held: { target: string; why: string }[] }[] }>(held).results[0]).toMatchObject({ modes: [], held: [{ target: '~/bin/tools/deploy', why: expect.stringContaining('executable bit was changed here') }] });
    expect(statSync(script).mode & 0o111).toBe(0);
    ok(await envCmd('b', ['apply', 'tools', '--force']));
    expect(statSync(script).mode & 0o777).toBe(0o755);
    // The bit flipped here and the content changed in the bus: held, not written over with the profile's bit.
    chmodSync(script, 0o644);
    put('a', 'bin/tools/deploy', '#!/bin/sh\necho deploy v2\n');
    ok(await envCmd('a', ['capture', 'tools']));
    const both = await envCmd('b', ['apply', 'tools']);
    expect(both.code).toBe(5);
    expect(json<{ results: { held: { target: string; why: string }[] }[] }>(both).results[0]?.held).toEqual([expect.objectContaining({ target: '~/bin/tools/deploy', why: expect.stringContaining('content changed in the bus and its executable bit here') })]);
    expect(read('b', 'bin/tools/deploy')).not.toContain('v2');
  });

  it('never writes through a folder on the path that is a link, inside the home or out, nor leaves a backup of a write that did not happen', async () => {
    put('a', '.tool/rc', 'tool rc\n');
    put('a', '.dangle/rc', 'dangle rc\n');
    ok(await envCmd('a', ['capture', 'links', '--add', '~/.tool/rc', '--add', '~/.dangle/rc']));
    const outside = join(bus.dir, 'outside');
    mkdirSync(outside);
    symlinkSync(outside, join(fakeHome('b'), '.tool'));
    symlinkSync(join(bus.dir, 'nowhere'), join(fakeHome('b'), '.dangle'));
    const r = await envCmd('b', ['apply', 'links']);
    expect(r.code, r.stderr).toBe(5);
    const res = json<{ results: { written: string[]; backup: string | null; held: { target: string; why: string }[] }[] }>(r).results[0];
    expect(res).toMatchObject({ written: [], backup: null });
    expect(res?.held).toEqual([
      { target: '~/.dangle/rc', state: 'missing-here', why: expect.stringMatching(/^~\/\.dangle on its path is a symbolic link; gitbus never writes through links/) },
      { target: '~/.tool/rc', state: 'missing-here', why: expect.stringMatching(/^~\/\.tool on its path is a symbolic link/) },
    ]);
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(bus.dir, 'nowhere'))).toBe(false);
    expect(json<{ backups: unknown[] }>(await envCmd('b', ['restore', '--list'])).backups.filter((b) => JSON.stringify(b).includes('links'))).toEqual([]);
  });

  it('one profile that cannot be used does not stop the others: a profile file nested 20,000 deep is invalid (lint says so), two profiles writing ~/x and ~/x/y hold the second, a huge or unparsable local file is held with why', async () => {
    // p3 puts a file at ~/x, p4 one at ~/x/y.
    put('a', 'x', 'x file\n');
    ok(await envCmd('a', ['capture', 'p3', '--add', '~/x']));
    rmSync(join(fakeHome('a'), 'x'));
    put('a', 'x/y', 'y file\n');
    ok(await envCmd('a', ['capture', 'p4', '--add', '~/x/y']));
    // deep: a settings.json merged by keys, nested 20,000 deep, pushed by hand.
    const deep = `{"hooks": ${'['.repeat(20000)}${']'.repeat(20000)}}`;
    byHand((work) => {
      mkdirSync(join(work, 'env/deep/files/home/.claude'), { recursive: true });
      writeFileSync(join(work, 'env/deep/files/home/.claude/settings.json'), deep);
      writeFileSync(join(work, 'env/deep/manifest.yaml'), stringify({ format: 1, entries: [{ source: 'home/.claude/settings.json', target: '~/.claude/settings.json', merge: 'json' }], files: { 'home/.claude/settings.json': { sha256: createHash('sha256').update(deep).digest('hex'), size: deep.length } } }));
    });
    const lint = await cli('a', ['lint']);
    expect(lint.code).toBe(8);
    expect(lint.stdout).toMatch(/env\/deep\/files\/home\/\.claude\/settings\.json[\s\S]*nested more than 64 levels/);
    editNode('b', (c) => (c['env'] = [{ profile: 'deep', apply: 'auto' }, { profile: 'p3', apply: 'auto' }, { profile: 'p4', apply: 'auto' }]));
    const once = await gitbus(['watch', '--once'], { home: bus.home('b'), env: envOf('b') });
    expect(once.code, once.stderr).toBe(0);
    expect(`${once.stdout}${once.stderr}`).not.toMatch(/Maximum call stack/);
    expect(read('b', 'x')).toBe('x file\n');
    // The report names each profile; one that cannot be used makes it exit 8.
    const status = await envCmd('b', ['status']);
    expect(status.code, status.stderr).toBe(8);
    const profiles = json<{ profiles: { profile: string; problem: string | null; files: { target: string; held?: string }[] }[] }>(status).profiles;
    expect(profiles.find((p) => p.profile === 'deep')?.problem).toMatch(/^invalid: .*nested more than 64 levels/);
    expect(profiles.find((p) => p.profile === 'p4')?.files).toEqual([expect.objectContaining({ target: '~/x/y', held: expect.stringMatching(/profile p3 also puts a file at ~\/x, and one path is inside the other/) })]);
    const applied = await envCmd('b', ['apply', 'p3', '--force']);
    ok(applied);
    const p4 = await envCmd('b', ['apply', 'p4']);
    expect(p4.code, p4.stderr).toBe(5);
    // Named, p4 is still the later of the two subscribed profiles that write under ~/x.
    expect(json<{ results: { held: { why: string }[] }[] }>(p4).results[0]?.held[0]?.why).toMatch(/profile p3 also puts a file at ~\/x, and one path is inside the other/);
    // Not subscribed to p3, b is told what is in the way on its disk.
    editNode('b', (c) => (c['env'] = [{ profile: 'p4', apply: 'manual' }]));
    const alone = await envCmd('b', ['apply', 'p4']);
    expect(alone.code, alone.stderr).toBe(5);
    expect(json<{ results: { held: { why: string }[] }[] }>(alone).results[0]?.held[0]?.why).toMatch(/~\/x on its path is a file, so apply leaves it/);

    // A 2.2 GB local file where a profile has one: held as too large, never read.
    put('a', 'dl/disk.img', 'small\n');
    ok(await envCmd('a', ['capture', 'big', '--add', '~/dl/disk.img']));
    mkdirSync(join(fakeHome('b'), 'dl'));
    writeFileSync(join(fakeHome('b'), 'dl/disk.img'), '');
    truncateSync(join(fakeHome('b'), 'dl/disk.img'), 2_200_000_000);
    const big = await envCmd('b', ['apply', 'big', '--force']);
    expect(big.code, big.stderr).toBe(5);
    expect(json<{ results: { held: { why: string }[] }[] }>(big).results[0]?.held[0]?.why).toMatch(/too large \(2200000000 bytes/);

    // b's settings.json that is not JSON: held with why, and what --force does.
    const settings = read('b', '.claude/settings.json');
    put('b', '.claude/settings.json', '{ "model": "opus", // mine\n}\n');
    const held = await envCmd('b', ['status', 'claude']);
    expect(json<{ profiles: { files: { target: string; held?: string }[] }[] }>(held).profiles[0]?.files.find((f) => f.target === '~/.claude/settings.json')?.held).toMatch(/your file is not valid JSON .*--force" replaces the whole file with the profile's keys only/);
    put('b', '.claude/settings.json', settings);
    editNode('b', (c) => (c['env'] = [{ profile: 'claude', apply: 'auto' }]));
  });

  it('a file two subscribed profiles write is held in the later one also when that profile is named: env apply other leaves ~/.zshrc, even without --force', async () => {
    put('a', '.zshrc', 'shell rc\n');
    ok(await envCmd('a', ['capture', 'shell', '--add', '~/.zshrc']));
    put('a', '.zshrc', 'other rc\n');
    ok(await envCmd('a', ['capture', 'other', '--add', '~/.zshrc']));
    editNode('b', (c) => (c['env'] = [{ profile: 'shell', apply: 'manual' }, { profile: 'other', apply: 'manual' }]));
    const r = await envCmd('b', ['apply', 'other']);
    expect(r.code, r.stderr).toBe(5);
    const res = json<{ results: { profile: string; written: string[]; held: { target: string; why: string }[] }[] }>(r).results;
    expect(res).toEqual([expect.objectContaining({ profile: 'other', written: [], held: [expect.objectContaining({ target: '~/.zshrc', why: expect.stringMatching(/profile shell also puts a file at ~\/\.zshrc/) })] })]);
    expect(existsSync(join(fakeHome('b'), '.zshrc'))).toBe(false);
    const status = json<{ profiles: { profile: string; files: { target: string; held?: string }[] }[] }>(await envCmd('b', ['status', 'other'])).profiles;
    expect(status.map((p) => p.profile)).toEqual(['other']);
    expect(status[0]?.files).toEqual([expect.objectContaining({ target: '~/.zshrc', held: expect.stringMatching(/profile shell also puts a file/) })]);
    ok(await envCmd('b', ['apply', 'shell']));
    expect(read('b', '.zshrc')).toBe('shell rc\n');
    editNode('b', (c) => (c['env'] = [{ profile: 'claude', apply: 'auto' }]));
  });

  it('a manifest or a profile file over the object cap, pushed by hand, is too large and never read: lint and the other profiles go on', async () => {
    const huge = 'x'.repeat(65 * 1024 * 1024);
    byHand((work) => {
      mkdirSync(join(work, 'env/hugeman/files/home'), { recursive: true });
      writeFileSync(join(work, 'env/hugeman/files/home/.a'), 'a\n');
      writeFileSync(join(work, 'env/hugeman/manifest.yaml'), huge);
      mkdirSync(join(work, 'env/hugefile/files/home'), { recursive: true });
      writeFileSync(join(work, 'env/hugefile/files/home/.big'), huge);
      writeFileSync(join(work, 'env/hugefile/manifest.yaml'), stringify({ format: 1, entries: [{ source: 'home/.big', target: '~/.big' }], files: { 'home/.big': { sha256: createHash('sha256').update('big\n').digest('hex'), size: 4 } } }));
    });
    const lint = await cli('a', ['lint']);
    expect(lint.code, lint.stderr).toBe(8);
    expect(lint.stdout).toMatch(/env\/hugeman\/manifest\.yaml[\s\S]*the manifest is 68157440 bytes, more than 1 MiB/);
    expect(lint.stdout).toMatch(/env\/hugefile\/files\/home\/\.big[\s\S]*too large \(68157440 bytes/);
    expect(`${lint.stdout}${lint.stderr}`).not.toContain('OBJECT_TOO_LARGE');
    ok(await envCmd('b', ['status', 'claude']));
  });
});
