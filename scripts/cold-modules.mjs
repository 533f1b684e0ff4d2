// npm run cold-modules [-- BUNDLE]: lists again the modules of a command bundle that its plain runs never read
// (scripts/cold/<bundle>.txt, scripts/split-cold.mjs). Starting from every module of the bundle that may be cold,
// it builds with them all cold, runs the commands a person and an agent run most (below) on a new bus, and keeps
// cold only what none of them read, until a build's runs read none (each module found read makes the modules it
// reads at its start hot too, so it takes a few rounds; ~20 s a round). Run it after a change that moves code
// between what a plain dispatch does and what it does not, then build and run the tests: test/e2e/cold-script.test.ts
// runs the same commands and asks that they leave the cold script unused.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coldListFile, coldReadsOf } from './split-cold.mjs';
import { importsOf } from './split-schemas.mjs';
import { serveOverHttp } from '../dist/bench/git-host-process.js';

const bundle = process.argv[2] ?? 'dispatch';
const listFile = coldListFile(bundle);
const before = readFileSync(listFile, 'utf8');
const header = before.split('\n').filter((l) => l.startsWith('#'));
const tmp = mkdtempSync(join(tmpdir(), 'gitbus-cold-modules-'));
const bin = join(process.cwd(), 'bin', 'gitbus.js');

/**
 * The command lines whose reads keep a module in the bundle; `cwd`: in a git repository (project work); `home`
 * "web": a node of the same bus joined over HTTP (a git host: GitHub's buses are reached so, or over SSH, which is
 * left cold: it loads ssh2 from node_modules anyway).
 */
const RUNS = {
  dispatch: [
    { args: ['dispatch', 'plain'] },
    { args: ['dispatch', 'to a node', '--to', 'cold', '--json'] },
    { args: ['dispatch', 'with fields', '--command', 'make test', '--label', 'linux', '--priority', '5', '--timeout', '30m', '--force'] },
    { args: ['dispatch', 'project work'], cwd: 'project' },
    { args: ['dispatch', 'project work beside changes of its own'], cwd: 'dirty' },
    { args: ['dispatch', 'over http'], home: 'web' },
  ],
}[bundle];
if (RUNS === undefined) throw new Error(`no runs for the bundle ${bundle}: add them to scripts/cold-modules.mjs`);

const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  notStopped(r);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r;
};
/** The round's git host over HTTP (bench/git-host-process.ts), stopped at its end. */
let host;
const write = (mods) => writeFileSync(listFile, [...header, ...[...mods].sort(), ''].join('\n'));
// Ctrl-C while the list is a round's: it reaches the child that runs as well (one process group), whose end says
// so, and the list is put back (below). This process does not end at once: its handler would run only once the
// script's synchronous work is done, so the child's signal is what stops it.
process.on('SIGINT', () => {});
const notStopped = (r) => {
  if (r.signal === 'SIGINT' || r.signal === 'SIGTERM') throw new Error(`stopped (${r.signal})`);
};

try {
  write([]);
  const inputsFile = join(tmp, 'inputs.json');
  run(process.execPath, ['scripts/bundle.mjs'], { env: { ...process.env, GITBUS_BUILD_INPUTS: inputsFile } });
  const { bundles, schemas } = JSON.parse(readFileSync(inputsFile, 'utf8'));
  const inputs = bundles[`dist/cli/gitbus-${bundle}.cjs`];
  // The entry, the command table and the command's own module stay: the bundle starts there and must hold the
  // command (the table's other rows are a stand-in, scripts/bundle.mjs). So do the modules that import a package the
  // bundle holds (commander): the cold script would hold a second copy of it.
  const held = new Set(inputs.flatMap((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1] ?? []));
  const packageOf = (spec) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
  const bundled = (f) => importsOf(f).some((spec) => !spec.startsWith('.') && held.has(packageOf(spec)));
  // And the schemas script's modules and those it takes from the bundle (scripts/split-cold.mjs coldModules).
  const cold = new Set(inputs.filter((f) => /^dist\/.+\.js$/.test(f) && !schemas.includes(f) && f !== 'dist/cli/main-cjs.js' && f !== 'dist/cli/command-table.js' && !f.startsWith('dist/cli/commands/') && !bundled(f)));
  for (let round = 1; ; round++) {
    if (round > 12) throw new Error('the list did not settle in 12 rounds');
    write(cold);
    const built = spawnSync(process.execPath, ['scripts/bundle.mjs'], { encoding: 'utf8' });
    notStopped(built);
    // A module imported as a namespace at its importer's start cannot be cold (scripts/bundle.mjs says which).
    const refused = /require\("gitbus:cold:([^"]+)"\)/.exec(built.stderr);
    if (built.status !== 0 && refused) {
      cold.delete(refused[1]);
      console.log(`round ${round}: ${refused[1]} is imported whole at a start; kept in the bundle`);
      continue;
    }
    if (built.status !== 0) throw new Error(`the build failed:\n${built.stderr}`);
    const dir = join(tmp, `round-${round}`);
    mkdirSync(dir);

    // The bundle with its cold script, whatever this shell says: GITBUS_CODE_CACHE=0 would run the ES module build.
    const { GITBUS_CODE_CACHE: _off, ...inherited } = process.env;
    const env = { ...inherited, XDG_CACHE_HOME: join(dir, 'cache'), GITBUS_HOME: join(dir, 'home'), GITBUS_SERVE_AUTO: '0', GITBUS_CODE_CACHE_REPORT: join(dir, 'report.jsonl') };
    run(process.execPath, [bin, 'init', '--remote', join(dir, 'remote.git'), '--node', 'cold'], { env, cwd: dir });
    // The same bus served over HTTP by git http-backend, from a process of its own (these runs block this one).
    host = await serveOverHttp(dir);
    run(process.execPath, [bin, 'join', `${host.url}/remote.git`, '--node', 'web'], { env: { ...env, GITBUS_HOME: join(dir, 'web') }, cwd: dir });
    // A clone of the person's repository (its remote the other nodes fetch from), as committed, and one with a change
    // not committed yet.
    const origin = join(dir, 'origin.git');
    run('git', ['init', '-q', '--bare', '-b', 'main', origin]);
    const seed = join(dir, 'seed');
    run('git', ['clone', '-q', origin, seed], { stdio: 'ignore' });
    writeFileSync(join(seed, 'README'), 'x\n');
    run('git', ['add', 'README'], { cwd: seed });
    run('git', ['-c', 'user.name=cold', '-c', 'user.email=cold@example.invalid', 'commit', '-q', '-m', 'x'], { cwd: seed });
    run('git', ['push', '-q', 'origin', 'main'], { cwd: seed });
    for (const p of ['project', 'dirty']) run('git', ['clone', '-q', origin, join(dir, p)]);
    writeFileSync(join(dir, 'dirty', 'README'), 'changed\n');
    // Another node of the bus, whose dispatches move the remote between this node's (a watcher's pushes, or other
    // machines': the common case on a fleet). It runs the ES module build, which a round's list does not change, and
    // reports nothing.
    const { GITBUS_CODE_CACHE_REPORT: _report, ...otherEnv } = { ...env, GITBUS_HOME: join(dir, 'other'), GITBUS_CODE_CACHE: '0' };
    run(process.execPath, [bin, 'join', join(dir, 'remote.git'), '--node', 'other'], { env: otherEnv, cwd: dir });
    // Each twice with the remote as this node left it (a build's first run in a home fills caches the later ones
    // read), then once after the other node's dispatch. A run may fail while the list holds modules that others
    // read as they start (the cold script then runs before the bundle has made what it takes from it); the report
    // still says what it read.
    const failed = [];
    for (const [i, r] of [...RUNS, ...RUNS, ...RUNS].entries()) {
      if (i >= 2 * RUNS.length) run(process.execPath, [bin, 'dispatch', `moves the remote ${i}`, '--no-git'], { env: otherEnv, cwd: dir });
      const done = spawnSync(process.execPath, [bin, ...r.args], { encoding: 'utf8', env: r.home === undefined ? env : { ...env, GITBUS_HOME: join(dir, r.home) }, cwd: join(dir, r.cwd ?? '') });
      notStopped(done);
      if (done.status !== 0) failed.push(`${r.args.join(' ')}: ${done.stderr.trim().split('\n').filter((l) => /Error/.test(l)).join(' | ')}`);
    }
    const reads = coldReadsOf(readFileSync(env.GITBUS_CODE_CACHE_REPORT, 'utf8').split('\n').filter(Boolean), bundle, [...new Set(RUNS.map((r) => r.args[0]))]);
    if (failed.length > 0 && reads.size === 0) throw new Error(`runs failed with nothing read from the cold script:\n${failed.join('\n')}`);
    host.stop();
    host = undefined;
    console.log(`round ${round}: ${cold.size} cold, ${reads.size} read${reads.size ? `: ${[...reads].join(', ')}` : ''}`);
    if (reads.size === 0) break;
    for (const m of reads) cold.delete(m);
  }
  console.log(`${listFile}: ${cold.size} modules; now npm run build`);
} catch (err) {
  writeFileSync(listFile, before);
  // dist/ holds the build of a round's list, whose dispatch may read the cold script at every start or fail: build
  // it again from the list as it was.
  const again = spawnSync(process.execPath, ['scripts/bundle.mjs'], { encoding: 'utf8' });
  if (again.status !== 0) console.error(`the build of ${listFile} as it was failed too; run npm run build:\n${again.stderr}`);
  throw err;
} finally {
  host?.stop();
  rmSync(tmp, { recursive: true, force: true });
}
