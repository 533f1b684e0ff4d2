import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hookScript, HOOK_NAMES, isGitbusHook } from '../../hooks/templates.js';
import { shellQuoted as shQuote } from '../../bus/project/shell-word.js';
import { spawnBounded, tempDir } from '../helpers/cli.js';

/** The hook scripts are sh: run them with a stand-in for gitbus to see what they call. */
describe('hook script templates', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  const sh = (script: string, args: string[], path: string) => spawnBounded('sh', [script, ...args], { env: { PATH: path }, timeoutMs: 10_000 });

  beforeAll(async () => {
    dir = await tempDir('gitbus-hook-scripts-');
  });
  afterAll(async () => dir?.cleanup());

  it('run the recorded node and CLI, even at paths with spaces and quotes, and pass git\'s arguments on', async () => {
    const weird = join(dir.path, "it's a dir");
    await mkdir(weird);
    const cli = join(weird, 'fake gitbus.js');
    await writeFile(cli, 'console.log(JSON.stringify(process.argv.slice(2)));\n');
    const hook = join(dir.path, 'post-merge');
    await writeFile(hook, hookScript('post-merge', { node: process.execPath, script: cli }));
    const r = await sh(hook, ['0'], '/usr/bin:/bin');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(['hooks', 'run', 'post-merge', '--', '0']);
  });

  it('fall back to gitbus on PATH, and fail pre-commit when there is no gitbus at all', async () => {
    const bin = join(dir.path, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'gitbus'), '#!/bin/sh\necho "path-gitbus $*"\n');
    await chmod(join(bin, 'gitbus'), 0o755);
    const hook = join(dir.path, 'pre-commit');
    await writeFile(hook, hookScript('pre-commit', { node: '/nonexistent/node', script: '/nonexistent/gitbus.js' }));
    const viaPath = await sh(hook, [], `${bin}:/usr/bin:/bin`);
    expect(viaPath.code).toBe(0);
    expect(viaPath.stdout.trim()).toBe('path-gitbus hooks run pre-commit --');

    const none = await sh(hook, [], '/usr/bin:/bin');
    expect(none.code).toBe(127);
    expect(none.stderr).toContain('cannot run gitbus');
    expect(none.stderr).toContain('fix:');

    const post = join(dir.path, 'post-commit');
    await writeFile(post, hookScript('post-commit', { node: '/nonexistent/node', script: '/nonexistent/gitbus.js' }));
    const quiet = await sh(post, [], '/usr/bin:/bin');
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toContain('cannot run gitbus');
  });

  it('chain to <name>.pre-gitbus first; a refusing pre-commit stops there', async () => {
    const bin = join(dir.path, 'bin2');
    await mkdir(bin);
    await writeFile(join(bin, 'gitbus'), '#!/bin/sh\necho "gitbus ran"\n');
    await chmod(join(bin, 'gitbus'), 0o755);
    const hook = join(dir.path, 'chained', 'pre-commit');
    await mkdir(join(dir.path, 'chained'));
    await writeFile(hook, hookScript('pre-commit', { node: '/nonexistent/node', script: '/nonexistent/gitbus.js' }));
    await writeFile(`${hook}.pre-gitbus`, '#!/bin/sh\necho "old hook ran"\nexit 3\n');
    await chmod(`${hook}.pre-gitbus`, 0o755);
    const r = await sh(hook, [], `${bin}:/usr/bin:/bin`);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('old hook ran\n');
  });

  it('carry the marker; shQuote survives single quotes', () => {
    for (const name of HOOK_NAMES) expect(isGitbusHook(hookScript(name, { node: 'n', script: 's' }))).toBe(true);
    expect(isGitbusHook('#!/bin/sh\nexec husky\n')).toBe(false);
    expect(shQuote("a'b")).toBe(`'a'\\''b'`);
  });
});
