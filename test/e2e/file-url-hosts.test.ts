import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json, tempDir } from '../helpers/cli.js';
import { remoteKey, sameRemote } from '../../bus/project/remote-url.js';
import { planProject } from '../../bus/project/fields.js';

/**
 * git ignores the host of a `file://` URL: `file://otherhost/srv/p.git` opens this machine's /srv/p.git. gitbus takes
 * `file://localhost/p` for the local `/p`, and refuses a URL naming any other host with FILE_URL_OTHER_HOST (init,
 * join, a dispatch's project remote, a handoff's `repo`) rather than read a local folder in the other host's place.
 */
describe('file:// URLs and their host', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let bus: string;
  let project: string;
  const home = (n: string) => join(dir.path, `home-${n}`);
  type Err = { error: { code: string; message: string; fix: string } };

  beforeAll(async () => {
    dir = await tempDir('gitbus-file-host-');
    bus = join(dir.path, 'bus.git');
    project = join(dir.path, 'p.git');
    gitCli(['init', '-q', '--bare', '--initial-branch=main', project]);
    const work = join(dir.path, 'work');
    gitCli(['clone', '-q', project, work]);
    gitCli(['commit', '-q', '--allow-empty', '-m', 'first'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
  });
  afterAll(async () => {
    await dir?.cleanup();
  });

  it('git itself opens the local path whatever host a file:// URL names', () => {
    expect(gitCli(['ls-remote', `file://otherhost${project}`, 'refs/heads/main'])).toMatch(/^[0-9a-f]{40}\trefs\/heads\/main\n$/);
  });

  it('file://localhost/p is the local /p: init records the path, and remoteKey takes both spellings for one bus', async () => {
    const r = await gitbus(['init', '--remote', `file://localhost${bus}`, '--node', 'boss', '--json'], { home: home('boss') });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(home('boss'), 'node.yaml'), 'utf8')).toContain(`remote: ${bus}\n`);
    expect(remoteKey(`file://localhost${bus}`)).toBe(remoteKey(bus));
    expect(sameRemote(`file://LocalHost${bus}/`, `file://${bus}`)).toBe(true);
    expect(sameRemote(`file://otherhost${bus}`, bus)).toBe(false);
    const j = await gitbus(['join', `file://localhost${bus}`, '--node', 'local', '--json'], { home: home('local') });
    expect(j.code, j.stderr).toBe(0);
  });

  it('init and join refuse file://OTHERHOST/p, naming the URL and the fix', async () => {
    for (const args of [['init', '--remote', `file://otherhost${join(dir.path, 'new.git')}`, '--node', 'n1'], ['join', `file://otherhost${bus}`, '--node', 'n2']]) {
      const r = await gitbus([...args, '--json'], { home: home(`refused-${args[0]}`) });
      expect(r.code, args[0]).not.toBe(0);
      const e = json<Err>(r).error;
      const url = args[0] === 'init' ? args[2] : args[1];
      expect(e.code).toBe('FILE_URL_OTHER_HOST');
      expect(e.message).toContain(JSON.stringify(url));
      expect(e.message).toContain('git ignores the host of a file:// URL');
      expect(e.fix).toBe(`use the path this machine mounts it at (a shared disk), or ssh://otherhost${url?.slice('file://otherhost'.length)}`);
    }
  });

  it('dispatch refuses a project remote file://OTHERHOST/p before listing it, and writes no handoff', async () => {
    const before = gitCli(['--git-dir', bus, 'rev-parse', 'main']);
    const r = await gitbus(['dispatch', 'work on the other host', '--command', 'true', '--repo', `file://otherhost${project}`, '--json'], { home: home('boss') });
    expect(json<Err>(r).error).toMatchObject({ code: 'FILE_URL_OTHER_HOST', fix: `use the path this machine mounts it at (a shared disk), or ssh://otherhost${project}` });
    expect(gitCli(['--git-dir', bus, 'rev-parse', 'main'])).toBe(before);
    // The local spelling is the project on this machine.
    const ok = await gitbus(['dispatch', 'work here', '--command', 'true', '--repo', `file://localhost${project}`, '--json'], { home: home('boss') });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('a drive letter where the host goes (file://C:/p) is refused too: git drops it and opens /p', async () => {
    expect(gitCli(['ls-remote', `file://C:${project}`, 'refs/heads/main'])).toMatch(/^[0-9a-f]{40}\trefs\/heads\/main\n$/);
    const r = await gitbus(['join', `file://C:${bus}`, '--node', 'drive', '--json'], { home: home('drive') });
    expect(json<Err>(r).error).toMatchObject({ code: 'FILE_URL_OTHER_HOST', message: expect.stringContaining('puts the drive C: where a URL\'s host goes'), fix: `write the path itself (C:${bus}), or file:///C:${bus}` });
    const d = await gitbus(['dispatch', 'on a drive', '--command', 'true', '--repo', `file://c|${project}`, '--json'], { home: home('boss') });
    expect(json<Err>(d).error.code).toBe('FILE_URL_OTHER_HOST');
  });

  it('a node.yaml project whose URL is file://OTHERHOST/p is refused when a task names it', () => {
    const plan = () => planProject({ flags: { repo: 'app' }, implicit: true, checkout: null, projects: { app: `file://otherhost${project}` }, cwd: dir.path });
    expect(plan).toThrow(expect.objectContaining({ code: 'FILE_URL_OTHER_HOST', message: expect.stringContaining(`"file://otherhost${project}"`) }));
  });

  it('a handoff whose repo is file://OTHERHOST/p is invalid: lint names the file, the field and the fix', async () => {
    mkdirSync(join(dir.path, 'handoffs'));
    const file = join(dir.path, 'handoffs', '20260101-000000-abcdef.md');
    writeFileSync(file, `---\nid: 20260101-000000-abcdef\nfrom: boss\ncreated: 2026-01-01T00:00:00Z\ntitle: by hand\ncommand: "true"\nrepo: file://otherhost${project}\n---\n`);
    const r = await gitbus(['lint', file, '--json'], { home: home('boss') });
    const problems = json<{ problems: { path: string; field: string; reason: string; fix: string }[] }>(r).problems;
    expect(problems).toContainEqual(expect.objectContaining({ field: 'repo', reason: expect.stringContaining('git ignores the host of a file:// URL'), fix: expect.stringContaining(`ssh://otherhost${project}`) }));
  });
});
