import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { envFleet, SETTINGS_A, type EnvBus } from '../helpers/env-fleet.js';

/**
 * Environment sync (issue 12) of folder entries (test/helpers/env-fleet.ts: nodes a and b, fake HOMEs, a real bare
 * remote, the CLI): what a folder holds that must not go on the bus as it is — a git repository's own
 * .git (a skill installed with git clone), Claude Code's settings.json (merged by keys, as a file entry of it is),
 * the backups gitbus itself leaves beside it, a file too large for a profile.
 */

const fleet = envFleet();
const { fakeHome, cli, envCmd, put, read, onBus, busFiles, byHand, plantEntry, states, ok } = fleet;
let bus: EnvBus;

type Capture = { files: { target: string }[]; skipped: { target: string; reason: string }[] };

beforeAll(async () => {
  bus = await fleet.start();
}, 30_000);

afterAll(() => fleet.stop());

describe('gitbus env, folder entries', () => {
  it('a skill installed with git clone: its .git is skipped with the reason, the bus stays one git can check out, and a manifest naming a .git part is invalid', async () => {
    const skill = join(fakeHome('a'), '.claude/skills/myskill');
    gitCli(['init', '-q', skill]);
    put('a', '.claude/skills/myskill/SKILL.md', '# skill\n');
    // What git also reads as .git: another letter case, and NTFS's short name.
    put('a', '.claude/skills/other/.GIT/config', '[core]\n');
    put('a', '.claude/skills/other/git~1/HEAD', 'ref: refs/heads/main\n');
    put('a', '.claude/skills/other/SKILL.md', '# other\n');
    const r = await envCmd('a', ['capture', 'skills', '--add', '~/.claude/skills']);
    ok(r);
    const cap = json<Capture>(r);
    expect(cap.files.map((f) => f.target).sort()).toEqual(['~/.claude/skills/myskill/SKILL.md', '~/.claude/skills/other/SKILL.md']);
    expect(cap.skipped).toEqual(expect.arrayContaining(['~/.claude/skills/myskill/.git', '~/.claude/skills/other/.GIT', '~/.claude/skills/other/git~1'].map((target) => ({ target, reason: expect.stringMatching(/git repository's own folder \(\.git\) is never synced/) }))));
    expect(busFiles().filter((p) => /\/(\.git|git~1)(\/|$)/i.test(p))).toEqual([]);
    const clone = join(bus.dir, 'checkout');
    gitCli(['clone', '-q', '-b', 'main', bus.remote, clone]);
    gitCli(['fsck', '--strict'], bus.remote);

    // By hand: an entry that would write into a repository's .git (hooks run code), in a manifest git can hold.
    byHand((work) => plantEntry(work, 'skills', { source: 'home/r/.git./hooks', target: '~/r/.git./hooks', kind: 'dir' }));
    const lint = await cli('a', ['lint']);
    expect(lint.code).toBe(8);
    expect(json<{ problems: { path: string; reason: string }[] }>(lint).problems).toContainEqual(expect.objectContaining({ path: 'env/skills/manifest.yaml', reason: expect.stringMatching(/part git reads as "\.git" \("\.git\."\)/) }));
    const apply = await envCmd('b', ['apply', 'skills']);
    expect(apply.code).toBe(8);
    expect(fleet.errorOf(apply).code).toBe('ENV_PROFILE_INVALID');
  });

  it('~/.claude captured whole: settings.json is merged by keys (no plugin folder of machine a, b keeps its own keys), and setup claude\'s backups stay where they are', async () => {
    put('a', '.claude/CLAUDE.md', '# house rules\n');
    put('a', '.claude/settings.json', `${JSON.stringify(SETTINGS_A, null, 2)}\n`);
    put('a', '.claude/settings.json.gitbus-backup-20260101T000000Z', '{"model":"haiku"}\n');
    put('a', '.claude/projects/x/session.jsonl', '{}\n');
    const r = await envCmd('a', ['capture', 'whole', '--add', '~/.claude']);
    ok(r);
    const cap = json<Capture>(r);
    expect(cap.files.map((f) => f.target).filter((t) => !t.startsWith('~/.claude/skills/')).sort()).toEqual(['~/.claude/CLAUDE.md', '~/.claude/settings.json']);
    expect(cap.skipped).toContainEqual({ target: '~/.claude/settings.json.gitbus-backup-20260101T000000Z', reason: expect.stringMatching(/a backup gitbus wrote on this machine/) });
    const onBusSettings = JSON.parse(onBus('env/whole/files/home/.claude/settings.json') ?? 'null') as Record<string, unknown>;
    expect(Object.keys(onBusSettings).sort()).toEqual(['hooks', 'model']);
    expect(busFiles().filter((p) => p.includes('gitbus-backup'))).toEqual([]);

    put('b', '.claude/settings.json', `${JSON.stringify({ permissions: { allow: ['Bash(make:*)'] }, model: 'sonnet' }, null, 2)}\n`);
    ok(await envCmd('b', ['apply', 'whole', '--force']));
    const merged = JSON.parse(read('b', '.claude/settings.json')) as Record<string, unknown>;
    expect(merged).toEqual({ permissions: { allow: ['Bash(make:*)'] }, model: 'opus', hooks: SETTINGS_A.hooks });
    // A key b adds is b's, not drift; nor is a plugin folder a's capture again leaves out.
    put('b', '.claude/settings.json', `${JSON.stringify({ ...merged, theme: 'dark' }, null, 2)}\n`);
    expect((await states('b', 'whole'))['~/.claude/settings.json']).toBe('in-sync');
    put('a', '.claude/settings.json', `${JSON.stringify({ ...SETTINGS_A, model: 'sonnet' }, null, 2)}\n`);
    ok(await envCmd('a', ['capture', 'whole']));
    expect(JSON.parse(onBus('env/whole/files/home/.claude/settings.json') ?? 'null')).toEqual({ model: 'sonnet', hooks: SETTINGS_A.hooks });
  });

  it('a file over 1 MiB in a captured folder is left out with the reason, and the rest captured; named alone it is refused with the fix to leave it out', async () => {
    put('a', 'tools/a.txt', 'x\n');
    writeFileSync(join(fakeHome('a'), 'tools/big.bin'), Buffer.alloc(1_100_000, 7));
    const r = await envCmd('a', ['capture', 't', '--add', '~/tools']);
    ok(r);
    const cap = json<Capture>(r);
    expect(cap.files.map((f) => f.target)).toEqual(['~/tools/a.txt']);
    expect(cap.skipped).toEqual([{ target: '~/tools/big.bin', reason: expect.stringMatching(/^too large \(1100000 bytes; a profile's file is at most 1048576\): left out/) }]);
    const text = await gitbus(['env', 'capture', 't'], { home: bus.home('a'), env: fleet.envOf('a') });
    expect(text.stdout).toMatch(/skipped +~\/tools\/big\.bin: too large/);
    const alone = await envCmd('a', ['capture', 't2', '--add', '~/tools/big.bin']);
    expect(alone.code).toBe(2);
    expect(fleet.errorOf(alone)).toMatchObject({ code: 'ENV_TARGET_REFUSED', message: expect.stringMatching(/1100000 bytes/), fix: 'leave it out of the profile' });
  });
});
