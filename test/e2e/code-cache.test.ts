import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { appendFileSync, chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gitbus, json, tempDir, type RunResult, commandsAsProcesses } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { codeCacheRuns, expectDamagedInstall } from '../helpers/code-cache-runs.js';
import { wrapCache } from '../../cli/code-cache-file.js';
import { COMMANDS } from '../../cli/command-table.js';

// Every command here runs as a process: the loader's code cache, read and written by each process, is the subject.
commandsAsProcesses();

/**
 * The V8 code cache bin/gitbus.js keeps per command (cli/code-cache.ts): written, used, rewritten when damaged or
 * made by a failed run or off the command's plain path, never taken from a folder others may write to, bounded, and
 * keyed by the bundle.
 */
describe('CLI code cache (cli/code-cache.ts)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let taskId = '';

  beforeAll(async () => {
    dir = await tempDir('gitbus-code-cache-');
    bus = await makeBus({ node: 'solo' });
    taskId = await bus.dispatch('solo', ['cached start']);
  });
  afterAll(async () => {
    await bus?.cleanup();
    await dir?.cleanup();
  });

  const { run, packageCopy } = codeCacheRuns(() => dir.path, () => bus.home('solo'));
  /** status --json without the one field that moves with the clock. */
  const statusOf = (r: RunResult): string => {
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.replace(/"windowMs": \d+/, '');
  };

  it('the first status writes its cache, the next ones use it, and all print the same as the ES module build', async () => {
    const cache = join(dir.path, 'first');
    // The bus's parse caches are the test process's build's (they are keyed by the build): the first status of this
    // build parses, with its schemas script, a path off the plain one, so its cache is provisional and the second
    // status, a plain one, writes it again, once (cli/code-cache-file.ts).
    const first = await run(['status', '--json'], cache);
    expect(first.report).toMatchObject({ command: 'status', cache: 'none', written: true, schemas: 'none', schemasWritten: true });
    const file = first.report.file as string;
    expect(file.startsWith(join(cache, 'gitbus', 'code-cache', `${process.version}-${process.arch}-`))).toBe(true);
    expect(file.endsWith('/status.bin')).toBe(true);
    const settled = await run(['status', '--json'], cache);
    expect(settled.report).toMatchObject({ cache: 'accepted', written: true, schemas: 'unused' });
    const second = await run(['status', '--json'], cache);
    expect(second.report).toEqual({ command: 'status', cache: 'accepted', written: false, bundle: 'gitbus-read.cjs', file, schemas: 'unused', schemasWritten: false, boot: 'accepted', loader: 'accepted', loaderWritten: false, line: 'plain' });
    expect(statusOf(settled.r)).toBe(statusOf(first.r));
    expect(statusOf(second.r)).toBe(statusOf(first.r));
    const esm = await run(['status', '--json'], cache, { env: { GITBUS_CODE_CACHE: '0' } });
    expect(esm.report).toEqual({ command: 'status', cache: 'off', written: false, boot: 'off', loader: 'off' });
    expect(statusOf(esm.r)).toBe(statusOf(first.r));
    // Private to the user: nobody else may plant code there.
    for (const d of [join(cache, 'gitbus'), join(cache, 'gitbus', 'code-cache'), dirname(file)]) expect(statSync(d).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // Each command has a file of its own.
    expect((await run(['show', taskId], cache)).report).toMatchObject({ command: 'show', cache: 'none', written: true, file: join(dirname(file), 'show.bin') });
    // No command to run: the ES module build, which starts faster for commander and the command table alone.
    for (const args of [['--help'], ['statsu']]) expect((await run(args, cache)).report).toEqual({ command: 'top', cache: 'off', written: false, boot: 'accepted', loader: 'accepted', loaderWritten: false });
    // The version: the boot prints it, and runs neither the loader nor a build (so nothing reports).
    const reportFile = join(dir.path, 'version-report.jsonl');
    const version = await gitbus(['--version'], { env: { XDG_CACHE_HOME: cache, GITBUS_CODE_CACHE_REPORT: reportFile } });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(existsSync(reportFile)).toBe(false);
  });

  it('the loader runs from a code cache of its own, kept by the first command and keyed by the loader file too (cli/boot.ts)', async () => {
    const cache = join(dir.path, 'loader');
    // No command found: its cache would hold little of the loader's code, and is not written.
    expect((await run(['--help'], cache)).report).toMatchObject({ command: 'top', loader: 'none', loaderWritten: false });
    const first = await run(['status', '--json'], cache);
    expect(first.report).toMatchObject({ command: 'status', loader: 'none', loaderWritten: true });
    const loaderFile = join(dirname(first.report.file as string), 'gitbus.loader.bin');
    expect(statSync(loaderFile).mode & 0o777).toBe(0o600);
    expect(existsSync(`${loaderFile}.checked`)).toBe(true);
    const second = await run(['status', '--json'], cache);
    expect(second.report).toMatchObject({ cache: 'accepted', loader: 'accepted', loaderWritten: false });
    expect(statusOf(second.r)).toBe(statusOf(first.r));
    // Damaged: not given to V8, written again, the same output.
    const bytes = readFileSync(loaderFile);
    for (let i = 0; i < 16; i++) bytes[3000 + i] = (bytes[3000 + i] as number) ^ 0x5a;
    writeFileSync(loaderFile, bytes);
    const damaged = await run(['status', '--json'], cache);
    expect(damaged.report).toMatchObject({ cache: 'accepted', loader: 'corrupt', loaderWritten: true });
    expect(statusOf(damaged.r)).toBe(statusOf(first.r));
    expect((await run(['status', '--json'], cache)).report).toMatchObject({ loader: 'accepted', loaderWritten: false });
    // A loader rewritten in place (other bytes of the same length) is another build: a key folder of its own, where
    // V8, which checks a source's length only, is never handed the old loader's code.
    const { bin, cli } = packageCopy('loader-changed');
    const copied = await run(['status', '--json', '--home', bus.home('solo')], cache, { bin });
    expect(copied.report).toMatchObject({ loader: 'none', loaderWritten: true });
    const text = readFileSync(join(cli, 'gitbus-loader.cjs'), 'latin1');
    writeFileSync(join(cli, 'gitbus-loader.cjs'), text.replace('"use strict";', "'use strict';"));
    expect(readFileSync(join(cli, 'gitbus-loader.cjs'), 'latin1').length).toBe(text.length);
    const changed = await run(['status', '--json', '--home', bus.home('solo')], cache, { bin });
    expect(changed.report).toMatchObject({ loader: 'none', loaderWritten: true });
    expect(dirname(changed.report.file as string)).not.toBe(dirname(copied.report.file as string));
    // GITBUS_CODE_CACHE=0: compiled as Node would, nothing read or written.
    expect((await run(['status', '--json'], cache, { env: { GITBUS_CODE_CACHE: '0' } })).report).toMatchObject({ cache: 'off', loader: 'off' });
  });

  it('a damaged cache file is not given to V8, is written again, and the command prints the same', async () => {
    const cache = join(dir.path, 'damaged');
    const first = await run(['status', '--json'], cache);
    const file = first.report.file as string;
    // Bytes flipped in the middle: V8 on Node 20 does not check, and deserializing them killed the process.
    const bytes = readFileSync(file);
    for (let i = 0; i < 16; i++) bytes[5000 + i] = (bytes[5000 + i] as number) ^ 0x5a;
    writeFileSync(file, bytes);
    const damaged = await run(['status', '--json'], cache);
    expect(damaged.report).toMatchObject({ cache: 'corrupt', written: true });
    expect(statusOf(damaged.r)).toBe(statusOf(first.r));
    expect((await run(['status', '--json'], cache)).report).toMatchObject({ cache: 'accepted', written: false });
    // A file whose checksum holds but that V8 refuses (not V8's data at all): rejected, then written again.
    writeFileSync(file, wrapCache(Buffer.from('not a V8 code cache '.repeat(100))));
    const refused = await run(['status', '--json'], cache);
    expect(refused.report).toMatchObject({ cache: 'rejected', written: true });
    expect(statusOf(refused.r)).toBe(statusOf(first.r));
    expect((await run(['status', '--json'], cache)).report).toMatchObject({ cache: 'accepted', written: false });
  });

  it('a cache made by a run that failed is written again by the next run that succeeds, once', async () => {
    const cache = join(dir.path, 'after-failure');
    // A failed run may stop before most of the command's code ran: its cache holds little of it.
    const failed = await run(['show', 'no-such-task'], cache);
    expect(failed.r.code).not.toBe(0);
    expect(failed.report).toMatchObject({ command: 'show', cache: 'none', written: true });
    expect((await run(['show', 'no-such-task'], cache)).report).toMatchObject({ cache: 'accepted', written: false });
    const ok = await run(['show', taskId], cache);
    expect(ok.r.code, ok.r.stderr).toBe(0);
    expect(ok.report).toMatchObject({ cache: 'accepted', written: true });
    expect((await run(['show', taskId], cache)).report).toMatchObject({ cache: 'accepted', written: false });
    expect((await run(['show', 'no-such-task'], cache)).report).toMatchObject({ cache: 'accepted', written: false });
  });

  it("a cache made by a run off the command's plain path is written again by the next plain run, once, and then holds both paths", async () => {
    const cache = join(dir.path, 'off-path');
    const tasks = join(dir.path, 'off-path-tasks.jsonl');
    writeFileSync(tasks, `${JSON.stringify({ title: 'from a file', command: 'true' })}\n`);
    // dispatch --from reads its schemas and cold scripts: a path a plain dispatch never takes.
    const batch = await run(['dispatch', '--from', tasks], cache);
    expect(batch.r.code, batch.r.stderr).toBe(0);
    expect(batch.report).toMatchObject({ command: 'dispatch', cache: 'none', written: true, schemas: 'none', cold: 'none' });
    const again = await run(['dispatch', '--from', tasks], cache);
    expect(again.report).toMatchObject({ cache: 'accepted', written: false });
    const plain = await run(['dispatch', 'plain after a batch', '--no-git'], cache);
    expect(plain.r.code, plain.r.stderr).toBe(0);
    expect(plain.report).toMatchObject({ cache: 'accepted', written: true, schemas: 'unused', cold: 'unused' });
    // Written with both paths: neither a plain dispatch nor a batch writes it again.
    expect((await run(['dispatch', 'plain again', '--no-git'], cache)).report).toMatchObject({ cache: 'accepted', written: false });
    expect((await run(['dispatch', '--from', tasks], cache)).report).toMatchObject({ cache: 'accepted', written: false });
  });

  it('a cache folder that cannot be made, or that others may write to, is not used: the ES module build runs, the same', async () => {
    const reference = await run(['status', '--json'], join(dir.path, 'reference'));
    // $XDG_CACHE_HOME is a file: no folder can be made under it (as root too, who may write anywhere else).
    const file = join(dir.path, 'not-a-folder');
    writeFileSync(file, '');
    const blocked = await run(['status', '--json'], file);
    expect(blocked.report).toMatchObject({ cache: 'unavailable', written: false, reason: `${join(file, 'gitbus')} cannot be made or written (ENOTDIR)` });
    expect(statusOf(blocked.r)).toBe(statusOf(reference.r));
    // A cache that someone else could have written: neither read nor replaced.
    const shared = join(dir.path, 'shared');
    await run(['status', '--json'], shared);
    chmodSync(join(shared, 'gitbus'), 0o777);
    const unsafe = await run(['status', '--json'], shared);
    expect(unsafe.report).toEqual({ command: 'status', cache: 'unsafe', written: false, reason: `${join(shared, 'gitbus')} may be written by its group or others (mode 777)`, boot: 'accepted', loader: 'unsafe' });
    expect(statusOf(unsafe.r)).toBe(statusOf(reference.r));
    // The key folder (made at a command's first run) is checked too.
    chmodSync(join(shared, 'gitbus'), 0o700);
    chmodSync(dirname(reference.report.file as string).replace(join(dir.path, 'reference'), shared), 0o770);
    expect((await run(['status', '--json'], shared)).report).toMatchObject({ cache: 'unsafe', written: false });
  });

  it('a run that only prints help writes no cache, so that the command\'s next run writes a whole one', async () => {
    const cache = join(dir.path, 'help');
    for (const args of [['status', '--help'], ['status', '-h'], ['help', 'status'], ['status', '--json', '--help']]) {
      const { r, report } = await run(args, cache);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toContain('Usage: gitbus status');
      expect(report, args.join(' ')).toMatchObject({ command: 'status', cache: 'none', written: false });
    }
    expect((await run(['status', '--json'], cache)).report).toMatchObject({ command: 'status', cache: 'none', written: true });
    // Help takes the command's cache once there is one, and leaves it as it is.
    const help = await run(['status', '--help'], cache);
    expect(help.report).toMatchObject({ cache: 'accepted', written: false });
    expect(help.r.stdout).toBe((await gitbus(['status', '--help'], { env: { GITBUS_CODE_CACHE: '0' } })).stdout);
  });

  it('a command keeps at most 4 cache files for other Node options, those used last', async () => {
    const cache = join(dir.path, 'variants');
    const plain = await run(['status', '--json'], cache);
    const options = (i: number): { env: NodeJS.ProcessEnv } => ({ env: { NODE_OPTIONS: `--max-http-header-size=${16_000 + i}` } });
    const files: string[] = [];
    // Node options that do not change V8's flags, each a file of its own (as Yarn PnP's --require per project).
    for (let i = 0; i < 6; i++) {
      const { report } = await run(['status', '--json'], cache, options(i));
      expect(report).toMatchObject({ cache: 'none', written: true });
      files.push(report.file as string);
    }
    const key = dirname(plain.report.file as string);
    const names = (paths: string[]): string[] => ['status.bin', ...paths.map((f) => f.slice(key.length + 1))].sort();
    // The .bin files; a file read since it was written has its .checked beside it (cli/code-cache-store.ts).
    // (The schemas script's file, which the first status on this bus may write, and the loader's aside: run alone, this test's is.)
    const bins = (): string[] => readdirSync(key).filter((n) => !n.endsWith('.checked') && !n.includes('.schemas.') && !n.includes('.loader.')).sort();
    const checked = (): string[] => readdirSync(key).filter((n) => n.endsWith('.checked') && !n.includes('.schemas.') && !n.includes('.loader.')).sort();
    expect(bins()).toEqual(names(files.slice(-4)));
    // Each file written is checked as written; a pruned file's .checked goes with it.
    const withChecked = (list: string[]): string[] => list.map((n) => `${n}.checked`);
    expect(checked()).toEqual(withChecked(names(files.slice(-4))));
    // The ones used last stay: the oldest kept, used again, outlives one written after it.
    expect((await run(['status', '--json'], cache, options(2))).report).toMatchObject({ cache: 'accepted', written: false, file: files[2] });
    const seventh = await run(['status', '--json'], cache, options(6));
    expect(seventh.report).toMatchObject({ cache: 'none', written: true });
    expect(bins()).toEqual(names([files[2], files[4], files[5], seventh.report.file] as string[]));
    // The file used again stays checked though its use set its time.
    expect(checked()).toEqual(withChecked(names([files[2], files[4], files[5], seventh.report.file] as string[])));
    const reused = await run(['status', '--json'], cache, options(2));
    expect(reused.report).toMatchObject({ cache: 'accepted', written: false });
    const st = statSync(files[2] as string, { bigint: true });
    expect(readFileSync(`${files[2] as string}.checked`, 'latin1')).toBe(`${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`);
  });

  it('a bundle emptied by hand says the installation is damaged and exits 7, not 0 with nothing said', async () => {
    const { bin, cli } = packageCopy('emptied');
    const cache = join(dir.path, 'emptied-cache');
    writeFileSync(join(cli, 'gitbus-read.cjs'), '');
    const { r, report } = await run(['status', '--json', '--home', bus.home('solo')], cache, { bin });
    expect(report).toMatchObject({ command: 'status', bundle: 'gitbus-read.cjs' });
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('gitbus-read.cjs is damaged: it ran and started no command, so status did nothing');
    expect(r.stderr).toContain('fix: install gitbus again');
  });

  it('a loader emptied, cut short or gone says the installation is damaged and exits 7, not with a stack', async () => {
    const { bin, cli } = packageCopy('damaged-loader');
    const loader = join(cli, 'gitbus-loader.cjs');
    const text = readFileSync(loader, 'latin1');
    const cases: Array<[string, () => void, string]> = [
      ['emptied', () => writeFileSync(loader, ''), 'it ran and exported no loader'],
      ['cut short', () => writeFileSync(loader, text.slice(0, 20_000), 'latin1'), 'it does not compile or run (SyntaxError: '],
      ['gone', () => rmSync(loader), 'it cannot be read (ENOENT)'],
    ];
    await expectDamagedInstall(bin, loader, bus.home('solo'), join(dir.path, 'damaged-loader-cache'), cases, [{}, { GITBUS_CODE_CACHE: '0' }]);
  });

  it('the cache key changes with any of the bundles, the one that runs or another', async () => {
    const { bin, cli } = packageCopy('package');
    const cache = join(dir.path, 'rebuilt');
    const status = ['status', '--json', '--home', bus.home('solo')];
    const before = await run(status, cache, { bin });
    expect(before.r.code, before.r.stderr).toBe(0);
    expect(json<{ node: string }>(before.r).node).toBe('solo');
    expect((await run(status, cache, { bin })).report).toMatchObject({ cache: 'accepted', bundle: 'gitbus-read.cjs' });
    let key = dirname(before.report.file as string);
    for (const rebuilt of ['gitbus-read.cjs', 'gitbus.cjs', 'gitbus-schemas.cjs']) {
      appendFileSync(join(cli, rebuilt), '\n// rebuilt\n');
      const after = await run(status, cache, { bin });
      expect(after.report, rebuilt).toMatchObject({ command: 'status', cache: 'none', written: true, bundle: 'gitbus-read.cjs' });
      expect(dirname(after.report.file as string), rebuilt).not.toBe(key);
      key = dirname(after.report.file as string);
      expect(after.r.code, after.r.stderr).toBe(0);
      expect(json<{ node: string }>(after.r).node).toBe('solo');
    }
  });

  it('the short bus commands run from gitbus-bus.cjs, gitbus-read.cjs or gitbus-dispatch.cjs and Claude Code\'s hooks from gitbus-claude.cjs, never gitbus.cjs; the other commands run gitbus.cjs', async () => {
    const { bin, cli } = packageCopy('split');
    const home = ['--home', bus.home('solo')];
    const cache = join(dir.path, 'split');
    // Each bundle in turn replaced by one that fails as soon as it runs.
    const failing = (name: string): string => `(function (exports, require, module, __filename, __dirname) { throw new Error('${name} ran'); })`;
    const whole = readFileSync(join(cli, 'gitbus.cjs'), 'latin1');
    writeFileSync(join(cli, 'gitbus.cjs'), failing('gitbus.cjs'));
    const status = await run(['status', '--json', ...home], cache, { bin });
    expect(status.report).toMatchObject({ command: 'status', cache: 'none', written: true, bundle: 'gitbus-read.cjs' });
    expect(json<{ node: string }>(status.r).node).toBe('solo');
    const show = await run(['show', taskId, ...home], cache, { bin });
    expect(show.r.code, show.r.stderr).toBe(0);
    expect(show.r.stdout).toContain('cached start');
    expect(show.report).toMatchObject({ command: 'show', bundle: 'gitbus-read.cjs' });
    const dispatched = await run(['dispatch', 'from its own bundle', '--no-git', ...home], cache, { bin });
    expect(dispatched.r.code, dispatched.r.stderr).toBe(0);
    expect(dispatched.report).toMatchObject({ command: 'dispatch', bundle: 'gitbus-dispatch.cjs' });
    // The hook Claude Code runs at every prompt, fed what Claude Code sends it.
    const prompt = `${JSON.stringify({ session_id: '9b1d6c1e-5a36-4c36-8d55-2f0b8f1c7a41', transcript_path: join(dir.path, 't.jsonl'), cwd: dir.path, hook_event_name: 'UserPromptSubmit', prompt: 'x' })}\n`;
    const hook = await run(['hook', 'claude', 'user-prompt-submit', ...home], cache, { bin, input: prompt });
    expect(hook.r.code, hook.r.stderr).toBe(0);
    expect(hook.report).toMatchObject({ command: 'hook', cache: 'none', written: true, bundle: 'gitbus-claude.cjs' });
    const lint = await run(['lint', ...home], cache, { bin });
    expect(lint.r.code).not.toBe(0);
    expect(lint.r.stderr).toContain('gitbus.cjs ran');
    expect(lint.report).toMatchObject({ command: 'lint', bundle: 'gitbus.cjs' });
    writeFileSync(join(cli, 'gitbus.cjs'), whole);
    writeFileSync(join(cli, 'gitbus-bus.cjs'), failing('gitbus-bus.cjs'));
    writeFileSync(join(cli, 'gitbus-read.cjs'), failing('gitbus-read.cjs'));
    writeFileSync(join(cli, 'gitbus-dispatch.cjs'), failing('gitbus-dispatch.cjs'));
    const linted = await run(['lint', ...home], cache, { bin });
    expect(linted.r.code, linted.r.stderr).toBe(0);
    expect(linted.report).toMatchObject({ command: 'lint', cache: 'none', written: true, bundle: 'gitbus.cjs' });
    expect((await run(['status', ...home], cache, { bin })).r.stderr).toContain('gitbus-read.cjs ran');
    expect((await run(['dispatch', 'x', '--no-git', ...home], cache, { bin })).r.stderr).toContain('gitbus-dispatch.cjs ran');
    expect((await run(['claim', ...home], cache, { bin })).r.stderr).toContain('gitbus-bus.cjs ran');
  });

  it('every command of gitbus-bus.cjs, gitbus-read.cjs, gitbus-dispatch.cjs and gitbus-claude.cjs is in it: its help is the same as from the ES module build', async () => {
    const cache = join(dir.path, 'bus-help');
    const rows = COMMANDS.filter((c) => c.bundle !== undefined);
    expect(rows.map((c) => c.name)).toEqual(expect.arrayContaining(['status', 'dispatch', 'hook']));
    for (const { name, bundle } of rows) {
      const bundled = await run([name, '--help'], cache);
      expect(bundled.report, name).toMatchObject({ command: name, bundle: `gitbus-${bundle}.cjs`, written: false });
      expect(bundled.r.code, bundled.r.stderr).toBe(0);
      const esm = await run([name, '--help'], cache, { env: { GITBUS_CODE_CACHE: '0' } });
      expect(bundled.r.stdout, name).toBe(esm.r.stdout);
      expect(bundled.r.stdout, name).toContain(`Usage: gitbus ${name}`);
    }
  });
});
