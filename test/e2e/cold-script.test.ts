import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT, commandsAsProcesses, gitbus, json, tempDir } from '../helpers/cli.js';
import { makeProject } from '../helpers/project.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';
import { makeBus } from '../helpers/bus.js';
import { codeCacheRuns } from '../helpers/code-cache-runs.js';

// Every command here runs as a process: what the loader runs, and when, is the subject.
commandsAsProcesses();

/**
 * The dispatch bundle's cold script (cli/cold-script-id.ts, scripts/split-cold.mjs): the modules that a plain
 * dispatch never reads (scripts/cold/dispatch.txt), bundled apart and run, with a code cache of their own, when a
 * dispatch first reads one of their values.
 */
describe("the dispatch bundle's cold script (scripts/split-cold.mjs)", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let server: GitHttpServer | undefined;
  const runs = codeCacheRuns(() => dir.path, () => bus.home('solo'));
  const cli = join(ROOT, 'dist', 'cli');
  const listed = readFileSync(join(ROOT, 'scripts', 'cold', 'dispatch.txt'), 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '');

  beforeAll(async () => {
    dir = await tempDir('gitbus-cold-script-');
    bus = await makeBus({ node: 'solo' });
  });
  afterAll(async () => {
    await server?.close();
    await bus?.cleanup();
    await dir?.cleanup();
  });

  it('holds the listed modules, which the dispatch bundle does not: it requires each by its stub', () => {
    expect(listed.length).toBeGreaterThan(50);
    // esbuild breaks a line that would pass 400 characters (scripts/bundle.mjs) inside a string too, with a `\`.
    const text = (file: string): string => readFileSync(join(cli, file), 'latin1').replace(/\\\n/g, '');
    const cold = text('gitbus-dispatch-cold.cjs');
    const bundle = text('gitbus-dispatch.cjs');
    for (const m of listed) {
      // The script's table of modules (scripts/split-schemas.mjs schemasScriptEntry) has a key for each.
      expect(cold.includes(`${JSON.stringify(m)}:`), `gitbus-dispatch-cold.cjs lacks ${m}`).toBe(true);
      // esbuild names a module's lazy initialiser by its path: none of them is in the bundle.
      expect(bundle.includes(`${JSON.stringify(m)}()`), `gitbus-dispatch.cjs holds ${m}`).toBe(false);
    }
    expect(bundle).toContain('require("gitbus:cold:dist/bus/trust/');
    // What the script takes from the bundle: a function per module that makes its exports, not a namespace object made
    // at every start.
    expect(bundle).toMatch(/sharedModules=\{"dist\/[a-z/-]+\.js":\(\)=>\(\{get [A-Za-z_$]/);
    expect(cold).toContain('require("gitbus:main:dist/');
  });

  it('the dispatches its list was made from never run it: over HTTP, plain, --to, with fields, project work with and without changes of its own, and each after another node moved the remote', async () => {
    const cache = join(dir.path, 'plain');
    // Checkouts of a repository with a remote: `gitbus dispatch` there is project work (PROTOCOL.md §3a).
    const clean = makeProject(dir.path, 'clean').checkout;
    const dirty = makeProject(dir.path, 'dirty').checkout;
    writeFileSync(join(dirty, 'README.md'), 'changed\n');
    // A node of the same bus reached over HTTP, as a git host serves it (git http-backend).
    server = await startGitHttpServer({ projectRoot: bus.dir });
    const web = join(dir.path, 'home-web');
    const joined = await gitbus(['join', `${server.url}/remote.git`, '--node', 'web', '--json'], { home: web });
    expect(joined.code, joined.stderr).toBe(0);
    const lines: { args: string[]; cwd?: string }[] = [
      { args: ['dispatch', 'over http', '--home', web] },
      { args: ['dispatch', 'plain'] },
      { args: ['dispatch', 'to a node', '--to', 'solo', '--json'] },
      { args: ['dispatch', 'with fields', '--command', 'make test', '--label', 'linux', '--priority', '5', '--timeout', '30m', '--force'] },
      { args: ['dispatch', 'project work'], cwd: clean },
      { args: ['dispatch', 'project work beside changes of its own'], cwd: dirty },
    ];
    // Twice: the first run of a build in a home fills the caches the later ones read.
    for (const round of [1, 2]) {
      for (const line of lines) {
        const d = await runs.run(line.args, cache, line.cwd !== undefined ? { cwd: line.cwd } : {});
        expect(d.r.code, d.r.stderr).toBe(0);
        expect(d.report, `${line.args.join(' ')} (round ${round}): ${JSON.stringify(d.report)}`).toMatchObject({ command: 'dispatch', bundle: 'gitbus-dispatch.cjs', cold: 'unused', coldWritten: false });
        expect(d.report.coldReads).toBeUndefined();
        if (round === 2) expect(d.report.cache).toBe('accepted');
      }
    }
    // And each after another node's dispatch moved the remote (the common case on a fleet: this node syncs first).
    await bus.addNode('other');
    for (const line of lines) {
      await bus.dispatch('other', [`moves the remote before ${line.args[1] as string}`]);
      const d = await runs.run(line.args, cache, line.cwd !== undefined ? { cwd: line.cwd } : {});
      expect(d.r.code, d.r.stderr).toBe(0);
      expect(d.report, `${line.args.join(' ')} (the remote moved): ${JSON.stringify(d.report)}`).toMatchObject({ cache: 'accepted', cold: 'unused' });
    }
    const status = json<{ tasks: { title: string }[] }>((await runs.run(['status', '--json'], cache)).r);
    expect(status.tasks.map((t) => t.title)).toEqual(expect.arrayContaining(['over http', 'plain', 'to a node', 'with fields', 'project work', 'project work beside changes of its own', 'moves the remote before plain']));
  });

  it('a dispatch that reads one of its modules runs it from a cache of its own, and does the same as before', async () => {
    const cache = join(dir.path, 'batch');
    const file = join(dir.path, 'tasks.yaml');
    writeFileSync(file, 'tasks:\n  - title: first of many\n  - title: second of many\n    command: echo two\n');
    // --from FILE: cli/dispatch-batch.ts, which a plain dispatch does not use.
    const first = await runs.run(['dispatch', '--from', file, '--json'], cache);
    expect(first.r.code, first.r.stderr).toBe(0);
    expect(first.report).toMatchObject({ command: 'dispatch', cold: 'none', coldWritten: true });
    expect(first.report.coldReads).toContain('dist/cli/dispatch-batch.js');
    const coldCache = join(dirname(first.report.file as string), 'dispatch.cold.bin');
    expect(readFileSync(coldCache).length).toBeGreaterThan(1000);
    const lines = join(dir.path, 'tasks.jsonl');
    writeFileSync(lines, '{"title": "third of many"}\n');
    const again = await runs.run(['dispatch', '--from', lines, '--json'], cache);
    expect(again.r.code, again.r.stderr).toBe(0);
    expect(again.report).toMatchObject({ cold: 'accepted', coldWritten: false });
    const status = json<{ tasks: { title: string }[] }>((await runs.run(['status', '--json'], cache)).r);
    expect(status.tasks.map((t) => t.title)).toEqual(expect.arrayContaining(['first of many', 'second of many', 'third of many']));
  });

  it('with the cold script replaced by one that fails when it runs, a plain dispatch still works; one that needs it says the install is damaged', async () => {
    const { bin, cli: copy } = runs.packageCopy('failing-cold');
    const home = ['--home', bus.home('solo')];
    const cache = join(dir.path, 'failing');
    for (let i = 0; i < 2; i++) expect((await runs.run(['dispatch', `warm ${i}`, '--no-git', ...home], cache, { bin })).r.code).toBe(0);
    writeFileSync(join(copy, 'gitbus-dispatch-cold.cjs'), `(function (exports, require, module, __filename, __dirname) { throw new Error('gitbus-dispatch-cold.cjs ran'); })`);
    const plain = await runs.run(['dispatch', 'still plain', '--no-git', ...home], cache, { bin });
    expect(plain.r.code, plain.r.stderr).toBe(0);
    expect(plain.report).toMatchObject({ cold: 'unused' });
    const file = join(dir.path, 'failing.jsonl');
    writeFileSync(file, '{"title": "needs the cold script"}\n');
    const batch = await runs.run(['dispatch', '--from', file, '--no-git', ...home], cache, { bin });
    expect(batch.r.code).toBe(7);
    expect(batch.r.stderr).toContain('gitbus-dispatch-cold.cjs failed to run (gitbus-dispatch-cold.cjs ran)');
    expect(batch.r.stderr).toContain('install gitbus again');
  });

  it("an import() of one of its modules gets the module's values: a dispatch to an SSH remote that does not answer is queued", async () => {
    // bus/transport/ssh.ts is cold and import()ed: esbuild copies the stub's keys (its __toESM) when the import runs.
    const home = join(dir.path, 'home-ssh');
    cpSync(bus.home('solo'), home, { recursive: true });
    const settings = join(home, 'node.yaml');
    writeFileSync(settings, readFileSync(settings, 'utf8').replace(/^remote: .*$/m, 'remote: ssh://git@127.0.0.1:1/bus.git'));
    const d = await runs.run(['dispatch', 'over ssh', '--no-git', '--home', home], join(dir.path, 'ssh'));
    expect(d.r.code, d.r.stderr).toBe(0);
    expect(d.r.stderr).toMatch(/queued \S+ on this node: the remote cannot be reached \(could not connect to git@127\.0\.0\.1:1 .*ECONNREFUSED/);
    expect(d.report.coldReads).toContain('dist/bus/transport/ssh.js');
  });
});
