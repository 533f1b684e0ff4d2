import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chmod, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLI, ROOT, gitbus, json, tempDirs } from '../helpers/cli.js';

/**
 * `gitbus setup claude`: the settings and CLAUDE.md block it writes into a project (or a user's settings), merged
 * with what is there, checked, replaced when older, and removed exactly. The plugin it points Claude Code at is
 * claude-plugin.test.ts's.
 */
const PLUGIN = join(ROOT, 'claude-plugin');

const { temp, cleanup } = tempDirs();
afterAll(cleanup);

describe('gitbus setup claude', () => {
  let bin: string;
  let config: string;
  // Claude Code's config folder of its own: setup keeps its backups there, never in the test machine's ~/.claude.
  const env = () => ({ PATH: `${bin}:${process.env['PATH'] ?? ''}`, CLAUDE_CONFIG_DIR: config });

  beforeAll(async () => {
    bin = await temp('gitbus-cc-bin-');
    config = await temp('gitbus-cc-config-');
    // The plugin's commands and hooks run `gitbus` from PATH, as an npm install puts it there.
    await writeFile(join(bin, 'gitbus'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    await chmod(join(bin, 'gitbus'), 0o755);
  });

  const settingsFile = (project: string) => join(project, '.claude/settings.json');
  const mdFile = (project: string) => join(project, 'CLAUDE.md');
  const OTHER = { model: 'opus', enabledPlugins: { 'formatter@team': true }, extraKnownMarketplaces: { team: { source: { source: 'github', repo: 'team/plugins' } } }, permissions: { allow: ['Bash(npm test:*)'] } };
  const MINE = '# Project rules\n\nUse tabs. Never push to main.\n';
  /** A project of its own for each case (so that each passes alone and in any order): settings and a CLAUDE.md of the user's. */
  const userProject = async () => {
    const project = await temp('gitbus-cc-project-');
    await mkdir(join(project, '.claude'), { recursive: true });
    await writeFile(settingsFile(project), JSON.stringify(OTHER, null, 2));
    await writeFile(mdFile(project), MINE);
    return project;
  };
  /** A user's project that `setup claude --project` has set up. */
  const setUpProject = async () => {
    const project = await userProject();
    const r = await gitbus(['setup', 'claude', '--project', '--json'], { cwd: project, env: env() });
    expect(r.code, r.stderr).toBe(0);
    return project;
  };

  it('--project merges the settings (every other key kept, a backup made) and inserts the block; --check says current', async () => {
    const project = await userProject();
    const r = await gitbus(['setup', 'claude', '--project', '--json'], { cwd: project, env: env() });
    expect(r.code, r.stderr).toBe(0);
    const rep = json<{ settings: { action: string; backup: string }; claudeMd: { action: string; version: string }; current: boolean }>(r);
    expect(rep).toMatchObject({ settings: { action: 'updated' }, claudeMd: { action: 'inserted' }, current: true });
    const s = JSON.parse(await readFile(settingsFile(project), 'utf8')) as Record<string, Record<string, unknown>>;
    expect(s).toMatchObject({ model: 'opus', permissions: OTHER.permissions, enabledPlugins: { 'formatter@team': true, 'gitbus@gitbus': true } });
    expect(s['extraKnownMarketplaces']).toEqual({ ...OTHER.extraKnownMarketplaces, gitbus: { source: { source: 'directory', path: PLUGIN } } });
    expect(JSON.parse(await readFile(rep.settings.backup, 'utf8'))).toEqual(OTHER);
    const md = await readFile(mdFile(project), 'utf8');
    expect(md.startsWith(MINE)).toBe(true);
    expect(md).toContain(`<!-- gitbus:begin v${rep.claudeMd.version} `);
    const check = await gitbus(['setup', 'claude', '--project', '--check'], { cwd: project, env: env() });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain('current');
  });

  it('keeps every number of the user\'s settings as written, also through --remove', async () => {
    const project = await userProject();
    const numbers = '"cleanupPeriodDays": 30.0,\n  "x-team-id": 12345678901234567890,\n  "x-ratio": 1e3';
    await writeFile(settingsFile(project), `{\n  ${numbers},\n  "model": "opus"\n}\n`);
    const r = await gitbus(['setup', 'claude', '--project', '--json'], { cwd: project, env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(settingsFile(project), 'utf8')).toContain(numbers);
    const removed = await gitbus(['setup', 'claude', '--project', '--remove', '--json'], { cwd: project, env: env() });
    expect(removed.code, removed.stderr).toBe(0);
    expect(await readFile(settingsFile(project), 'utf8')).toBe(`{\n  ${numbers},\n  "model": "opus"\n}\n`);
  });

  it('a second setup changes nothing and keeps one block; an older version\'s block is replaced', async () => {
    const project = await setUpProject();
    const before = await readFile(mdFile(project), 'utf8');
    const again = json<{ settings: { action: string }; claudeMd: { action: string } }>(await gitbus(['setup', 'claude', '--project', '--json'], { cwd: project, env: env() }));
    expect(again).toMatchObject({ settings: { action: 'unchanged' }, claudeMd: { action: 'unchanged' } });
    expect(await readFile(mdFile(project), 'utf8')).toBe(before);
    const edited = before.replace('Rules:', 'My rules:');
    await writeFile(mdFile(project), edited);
    const hand = await gitbus(['setup', 'claude', '--project', '--check'], { cwd: project, env: env() });
    expect(hand.code).toBe(7);
    expect(hand.stdout).toMatch(/has the gitbus block of v\S+ edited by hand: setup puts back its own text/);
    expect(hand.stdout).not.toContain('not the current one');
    expect(json<{ claudeMd: { state: string } }>(await gitbus(['setup', 'claude', '--project', '--check', '--json'], { cwd: project, env: env() })).claudeMd.state).toBe('edited');
    const old = before.replace(/<!-- gitbus:begin v[^ ]+ /, '<!-- gitbus:begin v0.0.1 ').replace('Rules:', 'Old rules:');
    await writeFile(mdFile(project), old);
    const stale = await gitbus(['setup', 'claude', '--project', '--check'], { cwd: project, env: env() });
    expect(stale.code).toBe(7);
    expect(stale.stdout).toContain('has the gitbus block of v0.0.1');
    const up = json<{ claudeMd: { action: string; previousVersion: string } }>(await gitbus(['setup', 'claude', '--project', '--json'], { cwd: project, env: env() }));
    expect(up.claudeMd).toMatchObject({ action: 'replaced', previousVersion: '0.0.1' });
    const md = await readFile(mdFile(project), 'utf8');
    expect(md).toBe(before);
    expect(md.match(/gitbus:begin/g)).toHaveLength(1);
  });

  it('--remove takes out exactly what setup added', async () => {
    const project = await setUpProject();
    const r = await gitbus(['setup', 'claude', '--project', '--remove'], { cwd: project, env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(mdFile(project), 'utf8')).toBe(MINE);
    expect(JSON.parse(await readFile(settingsFile(project), 'utf8'))).toEqual(OTHER);
    const check = await gitbus(['setup', 'claude', '--project', '--check', '--json'], { cwd: project, env: env() });
    expect(check.code).toBe(7);
    expect(json<{ current: boolean; problems: string[] }>(check).problems.join('\n')).toContain('has no gitbus block');
    // Without gitbus on PATH each kind of problem has its own fix: setup cannot put gitbus on PATH.
    const noPath = await gitbus(['setup', 'claude', '--project', '--check'], { cwd: project, env: { PATH: '/usr/bin:/bin' } });
    expect(noPath.code).toBe(7);
    expect(noPath.stdout).toContain('  fix: gitbus setup claude --project\n');
    expect(noPath.stdout).toContain(`  fix: put gitbus on PATH: "npm link" in ${dirname(PLUGIN)}`);
  });

  it('--remove in a project where setup made both files leaves neither behind, only the settings\' backup', async () => {
    const fresh = await temp('gitbus-cc-fresh-');
    const made = json<{ settings: { action: string } }>(await gitbus(['setup', 'claude', '--project', '--json'], { cwd: fresh, env: env() }));
    expect(made.settings.action).toBe('created');
    const r = json<{ settings: { action: string; backup: string } }>(await gitbus(['setup', 'claude', '--project', '--remove', '--json'], { cwd: fresh, env: env() }));
    expect(r.settings.action).toBe('removed');
    expect(existsSync(join(fresh, '.claude/settings.json'))).toBe(false);
    expect(existsSync(join(fresh, 'CLAUDE.md'))).toBe(false);
    expect(JSON.parse(await readFile(r.settings.backup, 'utf8'))).toMatchObject({ enabledPlugins: { 'gitbus@gitbus': true } });
  });

  it('keeps each backup under a name of its own in the Claude config folder, none in the project', async () => {
    const project = await userProject();
    const set = json<{ settings: { backup: string } }>(await gitbus(['setup', 'claude', '--project', '--json'], { cwd: project, env: env() }));
    const removed = json<{ settings: { backup: string } }>(await gitbus(['setup', 'claude', '--project', '--remove', '--json'], { cwd: project, env: env() }));
    // Setup's backup is the only copy of the file before it: a --remove in the same second must not replace it.
    expect(removed.settings.backup).not.toBe(set.settings.backup);
    expect(JSON.parse(await readFile(set.settings.backup, 'utf8'))).toEqual(OTHER);
    expect(JSON.parse(await readFile(removed.settings.backup, 'utf8'))).toMatchObject({ enabledPlugins: { 'gitbus@gitbus': true } });
    for (const b of [set.settings.backup, removed.settings.backup]) expect(dirname(b)).toBe(join(config, 'gitbus-backups'));
    expect(await readdir(join(project, '.claude'))).toEqual(['settings.json']);
  });

  it('refuses to replace a gitbus marketplace of the user\'s own; --remove leaves it, its enablement and a file the user had', async () => {
    const project = await userProject();
    const theirs = { extraKnownMarketplaces: { gitbus: { source: { source: 'github', repo: 'acme/gitbus-market' } } }, enabledPlugins: { 'gitbus@gitbus': true } };
    const text = `${JSON.stringify(theirs)}\n`;
    await writeFile(settingsFile(project), text);
    const r = await gitbus(['setup', 'claude', '--project', '--json'], { cwd: project, env: env() });
    expect(r.code, r.stderr).toBe(7);
    expect(json<{ error: { code: string; message: string; fix: string } }>(r).error).toMatchObject({
      code: 'CLAUDE_MARKETPLACE_TAKEN',
      message: expect.stringContaining('"extraKnownMarketplaces.gitbus" is a marketplace of your own (github acme/gitbus-market)'),
      fix: expect.stringContaining('run "gitbus setup claude --project" again'),
    });
    expect(await readFile(settingsFile(project), 'utf8')).toBe(text);
    expect(await readFile(mdFile(project), 'utf8')).toBe(MINE);
    const check = json<{ problems: string[] }>(await gitbus(['setup', 'claude', '--project', '--check', '--json'], { cwd: project, env: env() }));
    expect(check.problems.join('\n')).toContain('marketplace is one of your own (github acme/gitbus-market)');
    const removed = await gitbus(['setup', 'claude', '--project', '--remove', '--json'], { cwd: project, env: env() });
    expect(removed.code, removed.stderr).toBe(0);
    expect(await readFile(settingsFile(project), 'utf8')).toBe(text);
    // The user's own enablement (here of a plugin they turned off), in a file of theirs that setup emptied.
    await writeFile(settingsFile(project), '{"enabledPlugins": {"gitbus@gitbus": false}}\n');
    expect((await gitbus(['setup', 'claude', '--project'], { cwd: project, env: env() })).code).toBe(0);
    expect((await gitbus(['setup', 'claude', '--project', '--remove'], { cwd: project, env: env() })).code).toBe(0);
    expect(JSON.parse(await readFile(settingsFile(project), 'utf8'))).toEqual({ enabledPlugins: { 'gitbus@gitbus': false } });
    await writeFile(settingsFile(project), '{}\n');
    expect((await gitbus(['setup', 'claude', '--project'], { cwd: project, env: env() })).code).toBe(0);
    expect((await gitbus(['setup', 'claude', '--project', '--remove'], { cwd: project, env: env() })).code).toBe(0);
    expect(await readFile(settingsFile(project), 'utf8')).toBe('{}\n');
  });

  it('keeps the mode of CLAUDE.md and of the settings through setup and --remove', async () => {
    for (const mode of [0o600, 0o444, 0o664]) {
      const project = await userProject();
      await chmod(mdFile(project), mode);
      await chmod(settingsFile(project), mode === 0o444 ? 0o644 : mode);
      for (const args of [[], ['--remove']]) {
        const r = await gitbus(['setup', 'claude', '--project', ...args], { cwd: project, env: env() });
        expect(r.code, r.stderr).toBe(0);
        expect((await stat(mdFile(project))).mode & 0o777, `${mode.toString(8)} ${args.join('')}`).toBe(mode);
        expect((await stat(settingsFile(project))).mode & 0o777).toBe(mode === 0o444 ? 0o644 : mode);
      }
      expect(await readFile(mdFile(project), 'utf8')).toBe(MINE);
    }
  });

  it('--dir must be a folder that exists (a typo sets up nothing), and --check\'s fix keeps it', async () => {
    const parent = await temp('gitbus-cc-dir-');
    const missing = join(parent, 'no such project');
    const typo = await gitbus(['setup', 'claude', '--project', '--dir', missing, '--json'], { env: env() });
    expect(typo.code, typo.stderr).toBe(2);
    expect(json<{ error: { code: string; message: string; data: { flag: string } } }>(typo).error).toMatchObject({ code: 'BAD_INPUT', message: `--dir: ${missing} does not exist`, data: { flag: '--dir' } });
    expect(existsSync(missing)).toBe(false);
    const file = join(parent, 'a file');
    await writeFile(file, 'not a project\n');
    const notDir = await gitbus(['setup', 'claude', '--project', '--dir', file, '--json'], { env: env() });
    expect(notDir.code, notDir.stderr).toBe(2);
    expect(json<{ error: { code: string; message: string; data: { flag: string } } }>(notDir).error).toMatchObject({ code: 'BAD_INPUT', message: `--dir: ${file} is not a folder`, data: { flag: '--dir' } });
    // Run from another folder, the fix must still name this project, or it would set up that other folder.
    const elsewhere = join(parent, "the project's folder");
    await mkdir(elsewhere);
    const check = await gitbus(['setup', 'claude', '--project', '--dir', elsewhere, '--check', '--json'], { cwd: parent, env: env() });
    expect(check.code).toBe(7);
    expect(json<{ fixes: string[] }>(check).fixes).toContain(`gitbus setup claude --project --dir '${elsewhere.replaceAll("'", `'\\''`)}'`);
    expect(existsSync(join(elsewhere, 'CLAUDE.md'))).toBe(false);
  });

  it('refuses a malformed settings.json and changes nothing', async () => {
    const project = await userProject();
    const broken = '{ "model": "opus", // a comment Claude Code does not allow\n}';
    await writeFile(settingsFile(project), broken);
    const r = await gitbus(['setup', 'claude', '--project', '--json'], { cwd: project, env: env() });
    expect(r.code).toBe(7);
    expect(json<{ error: { code: string; fix: string } }>(r).error).toMatchObject({ code: 'CLAUDE_SETTINGS_INVALID', fix: expect.stringContaining('correct it') });
    // The fix names the command that was run, --project and all: the user scope's would set up another file.
    expect(json<{ error: { fix: string } }>(r).error.fix).toContain('run "gitbus setup claude --project" again');
    const removing = await gitbus(['setup', 'claude', '--project', '--remove', '--json'], { cwd: project, env: env() });
    expect(removing.code).toBe(7);
    expect(json<{ error: { fix: string } }>(removing).error.fix).toContain('run "gitbus setup claude --project --remove" again');
    expect(await readFile(settingsFile(project), 'utf8')).toBe(broken);
    expect(await readFile(mdFile(project), 'utf8')).toBe(MINE);
  });
});
