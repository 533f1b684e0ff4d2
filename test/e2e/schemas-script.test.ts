import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT, commandsAsProcesses, gitCli, json, tempDir } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { codeCacheRuns } from '../helpers/code-cache-runs.js';

// Every command here runs as a process: what the loader runs, and when, is the subject.
commandsAsProcesses();

/**
 * The schemas script (cli/schemas-script.ts, scripts/split-schemas.mjs): zod, yaml and the schemas, which a command
 * runs only when it reads one of their values, with a code cache of its own per command.
 */
describe('the schemas script (cli/schemas-script.ts)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bus: Awaited<ReturnType<typeof makeBus>>;
  const runs = codeCacheRuns(() => dir.path, () => bus.home('solo'));
  const prompt = (cwd: string): string => `${JSON.stringify({ session_id: '9b1d6c1e-5a36-4c36-8d55-2f0b8f1c7a41', transcript_path: join(cwd, 't.jsonl'), cwd, hook_event_name: 'UserPromptSubmit', prompt: 'x' })}\n`;

  beforeAll(async () => {
    dir = await tempDir('gitbus-schemas-script-');
    bus = await makeBus({ node: 'solo' });
    await bus.dispatch('solo', ['parsed once']);
  });
  afterAll(async () => {
    await bus?.cleanup();
    await dir?.cleanup();
  });

  it('the bundles of status, show, dispatch and the hooks hold neither zod nor yaml nor a schema; the schemas script holds them', () => {
    const cli = join(ROOT, 'dist', 'cli');
    // zod's base schema class, yaml's composer (bundled with whitespace only minified, names kept) and the key of
    // the handoff's schema module in the script's table of modules.
    const zod = '$ZodType';
    const yaml = 'Composer=class';
    const schemas = readFileSync(join(cli, 'gitbus-schemas.cjs'), 'latin1');
    for (const marker of [zod, yaml, '"dist/schemas/handoff.js":']) expect(schemas, marker).toContain(marker);
    for (const name of ['gitbus-read.cjs', 'gitbus-dispatch.cjs', 'gitbus-claude.cjs']) {
      const text = readFileSync(join(cli, name), 'latin1');
      for (const marker of [zod, yaml]) expect(text.includes(marker), `${name} holds ${marker}`).toBe(false);
      // Each import of a schema module is an external module whose stub the loader makes.
      expect(text, name).toContain('require("gitbus:schemas:dist/schemas/');
    }
    // The commands that write bus files use them at every run: their bundles hold them.
    for (const name of ['gitbus-bus.cjs', 'gitbus.cjs']) {
      const text = readFileSync(join(cli, name), 'latin1');
      expect(text, name).toContain(zod);
      expect(text, name).not.toContain('gitbus:schemas');
    }
  });

  /** A new task on the bus as dispatch writes it, which the next status reads without the script (handoff-fast-read.ts). */
  const dispatchOne = async (cache: string, title: string): Promise<void> => {
    const d = await runs.run(['dispatch', title, '--no-git', '--json'], cache);
    expect(d.r.code, d.r.stderr).toBe(0);
    expect(d.report).toMatchObject({ command: 'dispatch', bundle: 'gitbus-dispatch.cjs', schemas: 'unused' });
  };

  let written = 0;
  /**
   * A new task written by hand in a person's clone (a comment in its frontmatter, as an editor's template leaves),
   * committed and pushed with git: the next status parses it with the parser, so runs the script.
   */
  const handWritten = (title: string): void => {
    const clone = join(dir.path, `person-${++written}`);
    gitCli(['clone', '-q', bus.remote, clone]);
    const id = `20261206-0400${String(written).padStart(2, '0')}-byhand`;
    writeFileSync(join(clone, 'handoffs', `${id}.md`), `---\n# written by hand\nid: ${id}\ntitle: ${title}\nfrom: person\ncreated: 2026-12-06T04:00:00.000Z\nrunner: manual\n---\n## Task\n\n${title}\n`);
    gitCli(['add', '-A'], clone);
    gitCli(['commit', '-q', '-m', `dispatch ${id}`], clone);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], clone);
  };

  it('a status and the hook whose caches are warm never run it, nor a status reading the task a dispatch wrote, its claim or its response; a status with a task written by hand to parse does, from a cache of its own', async () => {
    const cache = join(dir.path, 'warm');
    // The first status of a build parses what its caches do not hold yet (bus/model/snapshot-disk-cache.ts): it
    // runs the script, says what made it, and writes the script's cache beside its own.
    const first = await runs.run(['status', '--json'], cache);
    expect(first.r.code, first.r.stderr).toBe(0);
    expect(first.report).toMatchObject({ command: 'status', bundle: 'gitbus-read.cjs', cache: 'none', schemas: 'none', schemasWritten: true });
    expect(first.report.schemasBy).toMatch(/^(dist\/schemas\/[a-z-]+\.js|yaml) \w+$/);
    const file = join(dirname(first.report.file as string), 'status.schemas.bin');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const warm = await runs.run(['status', '--json'], cache);
    expect(warm.r.code, warm.r.stderr).toBe(0);
    expect(warm.r.stdout.replace(/"windowMs": \d+/, '')).toBe(first.r.stdout.replace(/"windowMs": \d+/, ''));
    expect(warm.report).toMatchObject({ command: 'status', cache: 'accepted', schemas: 'unused', schemasWritten: false });
    expect(warm.report.schemasBy).toBeUndefined();
    await runs.run(['hook', 'claude', 'user-prompt-submit'], cache, { input: prompt(dir.path) });
    const hook = await runs.run(['hook', 'claude', 'user-prompt-submit'], cache, { input: prompt(dir.path) });
    expect(hook.r.code, hook.r.stderr).toBe(0);
    expect(hook.report).toMatchObject({ command: 'hook', bundle: 'gitbus-claude.cjs', schemas: 'unused' });
    // A task dispatch wrote, nobody parsed yet: status reads its handoff without the script (bus-file-fast-read.ts);
    // and its claim and response as gitbus writes them too.
    await dispatchOne(cache, 'new to read');
    const reading = await runs.run(['status', '--json'], cache);
    expect(reading.report).toMatchObject({ command: 'status', cache: 'accepted', schemas: 'unused' });
    const task = json<{ tasks: { id: string; title: string }[] }>(reading.r).tasks.find((t) => t.title === 'new to read');
    expect(task).toBeDefined();
    for (const step of [['claim', task?.id as string], ['respond', task?.id as string, '--status', 'succeeded', '--summary', 'done', '--exit-code', '0']]) {
      expect((await runs.run([...step, '--json'], cache)).r.code).toBe(0);
      const after = await runs.run(['status', '--json'], cache);
      expect(after.report, step[0]).toMatchObject({ command: 'status', schemas: 'unused' });
      expect(json<{ tasks: { id: string; state: string }[] }>(after.r).tasks.find((t) => t.id === task?.id)?.state).toBe(step[0] === 'claim' ? 'claimed' : 'succeeded');
    }
    // One written by hand: status reads its handoff with the parser, so it runs the script, from its cache.
    handWritten('new to parse');
    const parsing = await runs.run(['status', '--json'], cache);
    expect(parsing.report).toMatchObject({ command: 'status', cache: 'accepted', schemas: 'accepted', schemasWritten: false });
    expect(json<{ tasks: { title: string }[] }>(parsing.r).tasks.map((t) => t.title)).toContain('new to parse');
    expect((await runs.run(['status', '--json'], cache)).report).toMatchObject({ schemas: 'unused' });
  });

  it('a dispatch runs it only for what it does not check itself, and words a bad value as the schemas do', async () => {
    const cache = join(dir.path, 'dispatch');
    // Flags as people give them: written and checked without the script (project fields: test/unit/handoff-fast.test.ts).
    // This build's first command in this home reads node.yaml and the settings with the parser (their caches are per build).
    expect((await runs.run(['dispatch', 'warm-up', '--no-git'], cache)).r.code).toBe(0);
    const plain = await runs.run(['dispatch', 'fix: the "auth" test', '--command', 'npm test -- auth', '--to', 'solo', '--label', 'linux', '--force', '--priority', '5', '--timeout', '30m', '--workdir', 'app', '--no-git', '--json'], cache);
    expect(plain.r.code, plain.r.stderr).toBe(0);
    expect(plain.report, JSON.stringify(plain.report)).toMatchObject({ command: 'dispatch', bundle: 'gitbus-dispatch.cjs', schemas: 'unused' });
    // A schedule's cron is checked by its schema: the script runs, from a cache of its own.
    const scheduled = await runs.run(['dispatch', 'nightly', '--command', 'make', '--schedule', '0 3 * * *', '--no-git', '--json'], cache);
    expect(scheduled.r.code, scheduled.r.stderr).toBe(0);
    expect(scheduled.report).toMatchObject({ command: 'dispatch', schemas: 'none', schemasWritten: true, schemasBy: 'dist/schemas/cron.js cronSchema' });
    // A value the quick check does not take is judged, and refused, by the schema, in its words.
    const bad = await runs.run(['dispatch', 'x'.repeat(201), '--no-git'], cache);
    expect(bad.r.code).toBe(2);
    expect(bad.r.stderr).toContain('the text is 201 characters long, more than 200');
    expect(bad.report).toMatchObject({ schemas: 'accepted' });
    const shell = await runs.run(['dispatch', 'no command', '--runner', 'shell', '--no-git'], cache);
    expect(shell.r.code).not.toBe(0);
    expect(shell.r.stderr).toContain('the shell runner needs a command, and there is none');
  });

  it('a damaged schemas cache is not given to V8 and is written again; the command does the same', async () => {
    const cache = join(dir.path, 'damaged');
    handWritten('parsed with a fresh cache');
    const first = await runs.run(['status', '--json'], cache);
    expect(first.r.code, first.r.stderr).toBe(0);
    expect(first.report).toMatchObject({ schemas: 'none', schemasWritten: true });
    const file = join(dirname(first.report.file as string), 'status.schemas.bin');
    // Bytes flipped in the middle: V8 on Node 20 does not check, and deserializing them killed the process.
    const bytes = readFileSync(file);
    for (let i = 0; i < 16; i++) bytes[2000 + i] = (bytes[2000 + i] as number) ^ 0x5a;
    writeFileSync(file, bytes);
    handWritten('parsed with a damaged cache');
    const damaged = await runs.run(['status', '--json'], cache);
    expect(damaged.r.code, damaged.r.stderr).toBe(0);
    expect(damaged.report).toMatchObject({ cache: 'accepted', schemas: 'corrupt', schemasWritten: true });
    expect(json<{ tasks: { title: string }[] }>(damaged.r).tasks.map((t) => t.title)).toContain('parsed with a damaged cache');
    handWritten('parsed with the cache written again');
    expect((await runs.run(['status', '--json'], cache)).report).toMatchObject({ schemas: 'accepted', schemasWritten: false });
  });

  it('with the schemas script replaced by one that fails when it runs, a warm status and the hook still work; one that must parse says what is wrong', async () => {
    const { bin, cli } = runs.packageCopy('failing-schemas');
    const home = ['--home', bus.home('solo')];
    const cache = join(dir.path, 'failing');
    // This build's first runs fill its caches (parsed values, node.yaml, the code caches).
    for (let i = 0; i < 2; i++) {
      expect((await runs.run(['status', '--json', ...home], cache, { bin })).r.code).toBe(0);
      expect((await runs.run(['hook', 'claude', 'user-prompt-submit', ...home], cache, { bin, input: prompt(dir.path) })).r.code).toBe(0);
    }
    writeFileSync(join(cli, 'gitbus-schemas.cjs'), `(function (exports, require, module, __filename, __dirname) { throw new Error('gitbus-schemas.cjs ran'); })`);
    const status = await runs.run(['status', '--json', ...home], cache, { bin });
    expect(status.r.code, status.r.stderr).toBe(0);
    expect(json<{ node: string }>(status.r).node).toBe('solo');
    expect(status.report).toMatchObject({ schemas: 'unused' });
    const hook = await runs.run(['hook', 'claude', 'user-prompt-submit', ...home], cache, { bin, input: prompt(dir.path) });
    expect(hook.r.code, hook.r.stderr).toBe(0);
    expect(hook.report).toMatchObject({ schemas: 'unused' });
    // dispatch writes and checks a plain handoff without them (schemas/handoff-fast.ts), and status reads it back
    // without them (handoff-fast-read.ts); one written by hand is parsed.
    expect((await runs.run(['dispatch', 'to read', '--no-git', ...home], cache, { bin })).r.code).toBe(0);
    const reading = await runs.run(['status', '--json', ...home], cache, { bin });
    expect(reading.r.code, reading.r.stderr).toBe(0);
    expect(json<{ tasks: { title: string }[] }>(reading.r).tasks.map((t) => t.title)).toContain('to read');
    handWritten('to parse');
    const parsing = await runs.run(['status', '--json', ...home], cache, { bin });
    expect(parsing.r.code).toBe(7);
    expect(parsing.r.stderr).toContain('gitbus-schemas.cjs failed to run (gitbus-schemas.cjs ran)');
    expect(parsing.r.stderr).toContain('install gitbus again');
    // An install that lost the file: the same.
    rmSync(join(cli, 'gitbus-schemas.cjs'));
    const lost = await runs.run(['status', '--json', ...home], cache, { bin });
    expect(lost.r.code).toBe(7);
    expect(lost.r.stderr).toContain('gitbus-schemas.cjs cannot be read (ENOENT)');
  });

  it('a schemas script cut short (a damaged install) is reported as such, not as a bad file of the home or the bus', async () => {
    const { bin, cli } = runs.packageCopy('cut-schemas');
    const file = join(cli, 'gitbus-schemas.cjs');
    writeFileSync(file, readFileSync(file).subarray(0, 200_000));
    // This build's first status parses node.yaml (its cache is per build): the first read of yaml's parse is there.
    const status = await runs.run(['status', '--json', '--home', bus.home('solo')], join(dir.path, 'cut'), { bin });
    expect(status.r.code).not.toBe(0);
    expect(status.r.stderr).toContain('gitbus-schemas.cjs cannot be compiled');
    expect(status.r.stderr).toContain('install gitbus again');
    expect(status.r.stderr).not.toContain('not valid YAML');
  });
});
