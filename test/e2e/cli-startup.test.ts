import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, TEST_CACHE_HOME, gitbus, json, tempDir, type RunResult, commandsAsProcesses } from '../helpers/cli.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import type { ChildProcess } from 'node:child_process';
import { makeBus } from '../helpers/bus.js';
import { claimAndRespond } from '../helpers/in-process.js';

// Every command here runs as a process: what a command process loads and costs is the subject.
commandsAsProcesses();

/**
 * What a command loads, seen from outside: the CLI runs with a module loader hook (NODE_OPTIONS --import) that
 * writes down every ES module it loads and, at exit, every CommonJS module require() loaded (ssh2 is loaded that
 * way, outside the bundle). The ES module build's files are chunks of many modules; esbuild heads each module's
 * code with a comment naming its source ("// dist/bus/repo.js", "// node_modules/zod/v4/core/core.js"), which says
 * which of gitbus's modules and which packages a loaded chunk holds. The CommonJS bundle that bin/gitbus.js runs
 * a command from by default holds all of gitbus in one file (cli/code-cache.ts): for it only the packages loaded
 * from node_modules are seen, which is what matters for the heavy ones.
 */
const HOOKS = `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function load(url, context, nextLoad) { appendFileSync(log, url + '\\n'); return nextLoad(url, context); }
`;
const REGISTER = `import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';

const log = process.env.GITBUS_TEST_MODULE_LOG;
register(new URL('./hooks.mjs', import.meta.url), { data: { log } });
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(log, Object.keys(require.cache).map((f) => 'cjs:' + f + '\\n').join('')));
`;

/**
 * Counts code compiled at run time: classic zod compiled each object schema's parser with `new Function` on its
 * first parse unless jitless; zod/mini never does. A preload replaces the global Function with a proxy that writes
 * down each construction.
 */
const COUNT_FUNCTIONS = `import { appendFileSync } from 'node:fs';
const log = process.env.GITBUS_TEST_FUNCTION_LOG;
globalThis.Function = new Proxy(Function, { construct(target, args) { appendFileSync(log, 'new Function\\n'); return Reflect.construct(target, args); } });
`;

/**
 * Whether classic zod built a schema (issue 14, session 12: gitbus builds its schemas with zod/mini). zod keeps
 * its settings in one object on globalThis, which a preload makes first, as a proxy that writes down each setting
 * made. Classic zod sets a default `memoizer` there when it builds its first object or array schema; zod/mini
 * sets none (schemas/zod.ts sets the English locale only).
 */
const ZOD_CONFIG = `import { appendFileSync } from 'node:fs';
const log = process.env.GITBUS_TEST_ZOD_LOG;
globalThis.__zod_globalConfig = new Proxy({}, { set(target, key, value) { appendFileSync(log, String(key) + '\\n'); target[key] = value; return true; } });
`;

/** Dependencies that only some commands need (issue 14): none may load with a command that does not use it. */
const HEAVY = ['isomorphic-git', 'ssh2', 'cron', '@modelcontextprotocol/sdk', 'chokidar'];

interface Loaded {
  /** gitbus's own modules, as paths under dist/ ("cli/main.js"). */
  modules: string[];
  /** npm packages, bundled or required. */
  packages: string[];
  /** The bundled files of npm packages, as paths from node_modules ("yaml/browser/dist/index.js"). */
  packageFiles: string[];
}

const packageOf = (path: string): string | undefined => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1];

/**
 * How bin/gitbus.js runs the CLI: as it does by default (the CommonJS bundle with its code cache for a command, the
 * ES module build when no command runs), or as ES modules only (GITBUS_CODE_CACHE=0).
 */
type Build = 'default' | 'esm';

describe('CLI start-up: what a command loads', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let runs = 0;
  const children: ChildProcess[] = [];

  /** Runs the CLI under the hook; returns its result and what it loaded. */
  async function traced(args: string[], home?: string, build: Build = 'esm'): Promise<{ r: RunResult; loaded: Loaded }> {
    const log = join(dir.path, `modules-${runs++}.log`);
    writeFileSync(log, '');
    const env = { NODE_OPTIONS: `--import=${join(dir.path, 'register.mjs')}`, GITBUS_TEST_MODULE_LOG: log, ...(build === 'esm' ? { GITBUS_CODE_CACHE: '0' } : {}) };
    const r = await gitbus(args, { ...(home ? { home } : {}), env });
    return { r, loaded: readLoaded(log) };
  }

  /** The run of `watch --json` (the daemon) under the hook until it has started, then SIGTERM: what it loaded. */
  async function tracedDaemon(home: string, build: Build, extraEnv: Record<string, string> = {}): Promise<{ code: number | null; loaded: Loaded }> {
    const log = join(dir.path, `modules-${runs++}.log`);
    writeFileSync(log, '');
    const env = { NODE_OPTIONS: `--import=${join(dir.path, 'register.mjs')}`, GITBUS_TEST_MODULE_LOG: log, XDG_CACHE_HOME: TEST_CACHE_HOME, ...(build === 'esm' ? { GITBUS_CODE_CACHE: '0' } : {}), ...extraEnv };
    const w = startWatcher(home, ['--poll', '1h'], children, env);
    await until('the watcher to start', () => w.events().some((e) => e.type === 'started'), 30_000, () => w.stderr());
    w.child.kill('SIGTERM');
    const code = await w.exited;
    return { code, loaded: readLoaded(log) };
  }

  function readLoaded(log: string): Loaded {
    const modules = new Set<string>();
    const packages = new Set<string>();
    const packageFiles = new Set<string>();
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      if (line.startsWith('cjs:') || (line.startsWith('file:') && line.includes('/node_modules/'))) {
        // require()d, or import()ed from outside a bundle (isomorphic-git from the CommonJS one).
        const pkg = packageOf(line);
        if (pkg) packages.add(pkg);
      } else if (line.startsWith('file:') && line.includes('/dist/cli/')) {
        for (const [, source] of readFileSync(fileURLToPath(line), 'utf8').matchAll(/^\/\/ (\S+\.[cm]?js)$/gm)) {
          const pkg = packageOf(source as string);
          if (pkg) {
            packages.add(pkg);
            packageFiles.add((source as string).replace(/^.*node_modules\//, ''));
          } else if ((source as string).startsWith('dist/')) modules.add((source as string).slice('dist/'.length));
        }
      }
    }
    return { modules: [...modules].sort(), packages: [...packages].sort(), packageFiles: [...packageFiles].sort() };
  }

  beforeAll(async () => {
    dir = await tempDir('gitbus-startup-');
    writeFileSync(join(dir.path, 'hooks.mjs'), HOOKS);
    writeFileSync(join(dir.path, 'register.mjs'), REGISTER);
    writeFileSync(join(dir.path, 'count-functions.mjs'), COUNT_FUNCTIONS);
    writeFileSync(join(dir.path, 'zod-config.mjs'), ZOD_CONFIG);
    bus = await makeBus({ node: 'solo' });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await bus?.cleanup();
    await dir?.cleanup();
  });

  it('--version prints package.json\'s version from the loader alone; --help runs the ES module build: commander and the command table, no command and no other package', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const version = await traced([flag], undefined, 'default');
      expect(version.r.code).toBe(0);
      expect(version.r.stdout).toBe(`${pkg.version}\n`);
      expect(version.loaded).toEqual({ modules: [], packages: [], packageFiles: [] });
    }
    // Anything more on the line is commander's to read, as before.
    const more = await traced(['--version', '--help'], undefined, 'default');
    expect(more.r.stdout).toBe(`${pkg.version}\n`);
    expect(more.loaded.modules).toContain('cli/main.js');

    const help = await traced(['--help'], undefined, 'default');
    expect(help.r.code).toBe(0);
    expect(help.r.stdout).toContain('dispatch [options] [title]');
    // The markers are there (a minified bundle would have none, and this test would see nothing).
    expect(help.loaded.modules).toContain('cli/main.js');
    expect(help.loaded.modules).toContain('cli/command-table.js');
    expect(help.loaded.packages).toEqual(['commander']);
    // Of the bus, only the version reader (bus/version.ts, which imports nothing else).
    expect(help.loaded.modules.filter((m) => !/^(cli|schemas)\/[^/]+$/.test(m) && m !== 'bus/version.js')).toEqual([]);
  });

  it('ES modules: status on a local bus loads the bus and its own command only, without isomorphic-git, cron, ssh2, the MCP SDK or chokidar', async () => {
    const { r, loaded } = await traced(['status', '--json'], bus.home('solo'));
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ node: string }>(r).node).toBe('solo');
    expect(loaded.modules.filter((m) => m.startsWith('cli/commands/'))).toEqual(['cli/commands/status.js']);
    expect(loaded.modules.filter((m) => /^(mcp|web|claude|hooks)\//.test(m))).toEqual([]);
    // A local remote is read directly and the clone's loose objects with node:zlib: isomorphic-git loads for a
    // packed object or a fetch through git's protocol only, cron for a schedule's due time only (issue 14).
    expect(loaded.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
    // yaml as its ES module build (scripts/bundle.mjs), not the CommonJS one behind a require() wrapper, all of
    // which is bundled whatever the command uses.
    const yaml = loaded.packageFiles.filter((f) => f.startsWith('yaml/'));
    expect(yaml).toContain('yaml/browser/dist/public-api.js');
    expect(yaml.filter((f) => !f.startsWith('yaml/browser/dist/'))).toEqual([]);
  });

  it('ES modules: dispatch on a local bus loads its own command only, without isomorphic-git, cron, ssh2, the MCP SDK or chokidar', async () => {
    const { r, loaded } = await traced(['dispatch', 'start-up probe', '--no-git', '--json'], bus.home('solo'));
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ id: string }>(r).id).toMatch(/^\d{8}-\d{6}-[0-9a-z]{6}$/);
    expect(loaded.modules.filter((m) => m.startsWith('cli/commands/'))).toEqual(['cli/commands/dispatch.js']);
    expect(loaded.modules.filter((m) => /^(mcp|web|hooks)\//.test(m))).toEqual([]);
    expect(loaded.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
  });

  it('the bundle: status and dispatch on a local bus load none of isomorphic-git, cron, ssh2, the MCP SDK or chokidar', async () => {
    const status = await traced(['status', '--json'], bus.home('solo'), 'default');
    expect(status.r.code, status.r.stderr).toBe(0);
    expect(json<{ node: string }>(status.r).node).toBe('solo');
    // The hook sees the packages: commander and the rest are in the bundle, so nothing is loaded from node_modules.
    expect(status.loaded.packages).toEqual([]);
    const dispatch = await traced(['dispatch', 'start-up probe', '--no-git', '--json'], bus.home('solo'), 'default');
    expect(dispatch.r.code, dispatch.r.stderr).toBe(0);
    expect(json<{ id: string }>(dispatch.r).id).toMatch(/^\d{8}-\d{6}-[0-9a-z]{6}$/);
    expect(dispatch.loaded.packages).toEqual([]);
  });

  it('dispatch outside a checkout, on a bus with an archive and without a pinned trust root, starts no git process', async () => {
    // With an archive on the bus, a new dispatch still asks it nothing: its own handoff, queued just now, cannot
    // have been sent and archived before (bus/ops/deliver.ts `fresh`); asking would be a git cat-file here.
    // Archived by another node, so that this node's clone lacks the archive's objects.
    const archiver = await bus.addNode('archiver');
    const done = await bus.dispatch('archiver', ['archived before']);
    await claimAndRespond(archiver, done, { status: 'succeeded', summary: 'ok' });
    expect((await gitbus(['archive', '--all'], { home: archiver })).code).toBe(0);
    // A git on PATH that writes down each call and runs the real one.
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    const bin = join(dir.path, 'bin');
    const calls = join(dir.path, 'git-calls.log');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${calls}'\nexec '${realGit}' "$@"\n`, { mode: 0o755 });
    writeFileSync(calls, '');
    const outside = join(dir.path, 'not-a-checkout');
    mkdirSync(outside, { recursive: true });
    // Only meaningful where the temp folder is in no checkout (then git would rightly be asked).
    expect(execFileSync('sh', ['-c', 'git rev-parse --show-toplevel 2>/dev/null || echo none'], { cwd: outside, encoding: 'utf8' }).trim()).toBe('none');
    const r = await gitbus(['dispatch', 'no git here', '--json'], { home: bus.home('solo'), cwd: outside, env: { PATH: `${bin}:${process.env['PATH'] ?? ''}` } });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ id: string }>(r).id).toMatch(/^\d{8}-\d{6}-[0-9a-z]{6}$/);
    // No work tree to look for (no .git above), and no git signing key to look up (this node pinned no trust root).
    expect(readFileSync(calls, 'utf8')).toBe('');
  });

  it('status after another node pushed copies the new objects without isomorphic-git', async () => {
    await bus.addNode('other');
    const id = await bus.dispatch('other', ['pushed by another node']);
    for (const build of ['esm', 'default'] as const) {
      const { r, loaded } = await traced(['status', '--json'], bus.home('solo'), build);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.stringify(json(r))).toContain(id);
      expect(loaded.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
    }
  });

  it('init, join and doctor on a local bus load no isomorphic-git: the clone is made, filled and checked by gitbus\'s own code', async () => {
    for (const build of ['esm', 'default'] as const) {
      const home = join(dir.path, `init-${build}`);
      const made = await traced(['init', '--remote', join(dir.path, `remote-${build}.git`), '--node', 'first', '--json'], home, build);
      expect(made.r.code, made.r.stderr).toBe(0);
      expect(made.loaded.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
      const joined = await traced(['join', join(dir.path, `remote-${build}.git`), '--node', 'second', '--json'], join(dir.path, `join-${build}`), build);
      expect(joined.r.code, joined.r.stderr).toBe(0);
      expect(joined.loaded.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
      // A working clone: status there reads the bus the first node made, and doctor finds it whole (its clone and
      // heartbeat checks read the clone's refs and commits without isomorphic-git too).
      expect(json<{ nodes: { node: string }[] }>(await gitbus(['status', '--json'], { home: join(dir.path, `join-${build}`) })).nodes.map((n) => n.node).sort()).toEqual(['first', 'second']);
      const doctor = await traced(['doctor', '--json'], join(dir.path, `join-${build}`), build);
      const checks = json<{ checks: { name: string; status: string }[] }>(doctor.r).checks;
      expect(checks.find((c) => c.name === 'home.clone')?.status).toBe('ok');
      expect(doctor.loaded.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
    }
  });

  it('the watcher daemon loads at its start what the bus loads on first use, so a package replaced under it cannot break it later', async () => {
    await bus.addNode('worker', [], ['--runner', 'shell']);
    for (const build of ['esm', 'default'] as const) {
      const { code, loaded } = await tracedDaemon(bus.home('worker'), build);
      expect(code).toBe(0);
      if (build === 'esm') expect(loaded.modules).toContain('bus/preload.js');
      // The bundle loads them from node_modules, isomorphic-git by import() from the compiled script (the loader
      // gives it Node's own import()). A local remote's file events come from node:fs: no chokidar.
      expect(loaded.packages).toEqual(expect.arrayContaining(['isomorphic-git', 'cron']));
      expect(loaded.packages).not.toContain('chokidar');
    }
    // A network mount delivers no kernel events: polled (GITBUS_WATCH_POLL=1), by chokidar, loaded at the start too.
    const polled = await tracedDaemon(bus.home('worker'), 'default', { GITBUS_WATCH_POLL: '1' });
    expect(polled.code).toBe(0);
    expect(polled.loaded.packages).toEqual(expect.arrayContaining(['isomorphic-git', 'cron', 'chokidar']));
  });

  it('watch --once on a local bus loads none of them: it sets no timer, waits for no file event and outlives no upgrade', async () => {
    await bus.addNode('once-worker', [], ['--runner', 'shell']);
    const id = await bus.dispatch('solo', ['run once', '--command', 'true', '--to', 'once-worker']);
    for (const build of ['esm', 'default'] as const) {
      const { r, loaded } = await traced(['watch', '--once', '--json'], bus.home('once-worker'), build);
      expect(r.code, r.stderr).toBe(0);
      // It ran the task (the first time; then there is nothing left to run).
      if (build === 'esm') expect(json<{ ran: { id: string; status: string }[] }>(r).ran).toEqual([expect.objectContaining({ id, status: 'succeeded' })]);
      expect(loaded.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
    }
  });

  it('no command compiles a parser at run time: zod/mini has none to compile, for a short command or the watcher', async () => {
    /** How many functions the command compiled at run time (new Function), and its result. */
    const compiled = async (args: string[], home: string): Promise<{ r: RunResult; count: number }> => {
      const log = join(dir.path, `functions-${runs++}.log`);
      writeFileSync(log, '');
      const r = await gitbus(args, { home, env: { NODE_OPTIONS: `--import=${join(dir.path, 'count-functions.mjs')}`, GITBUS_TEST_FUNCTION_LOG: log } });
      return { r, count: readFileSync(log, 'utf8').split('\n').filter(Boolean).length };
    };
    await bus.dispatch('solo', ['parsed by status']);
    const status = await compiled(['status', '--json'], bus.home('solo'));
    expect(status.r.code, status.r.stderr).toBe(0);
    expect(JSON.stringify(json(status.r))).toContain('parsed by status');
    expect(status.count).toBe(0);
    await bus.addNode('jit-worker', [], ['--runner', 'shell']);
    const watch = await compiled(['watch', '--once', '--json'], bus.home('jit-worker'));
    expect(watch.r.code, watch.r.stderr).toBe(0);
    expect(watch.count).toBe(0);
    // The counter works.
    const log = join(dir.path, `functions-${runs++}.log`);
    writeFileSync(log, '');
    execFileSync(process.execPath, [`--import=${join(dir.path, 'count-functions.mjs')}`, '-e', 'new Function("return 1")'], { env: { ...process.env, GITBUS_TEST_FUNCTION_LOG: log } });
    expect(readFileSync(log, 'utf8')).toBe('new Function\n');
  });

  it('status and dispatch build no schema with classic zod (zod/mini only); the MCP SDK, in mcp, does', async () => {
    const zodSettings = async (args: string[], build: Build, input?: string): Promise<{ r: RunResult; settings: string[] }> => {
      const log = join(dir.path, `zod-${runs++}.log`);
      writeFileSync(log, '');
      const env = { NODE_OPTIONS: `--import=${join(dir.path, 'zod-config.mjs')}`, GITBUS_TEST_ZOD_LOG: log, ...(build === 'esm' ? { GITBUS_CODE_CACHE: '0' } : {}) };
      const r = await gitbus(args, { home: bus.home('solo'), env, ...(input === undefined ? {} : { input }) });
      return { r, settings: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
    };
    for (const build of ['default', 'esm'] as const) {
      for (const args of [['status', '--json'], ['dispatch', 'start-up probe', '--no-git', '--json']]) {
        const { r, settings } = await zodSettings(args, build);
        expect(r.code, r.stderr).toBe(0);
        // The English locale (schemas/zod.ts), and nothing classic zod sets; a dispatch of a plain handoff from the
        // bundle loads no zod at all (schemas/handoff-fast.ts).
        expect(settings, `${build}: ${args.join(' ')}`).toEqual(build === 'default' && args[0] === 'dispatch' ? [] : ['localeError']);
      }
    }
    // The preload sees classic zod: the MCP SDK's own schemas are built with it (the server then reads the empty
    // input, says so, and ends).
    const mcp = await zodSettings(['mcp'], 'default', '');
    expect(mcp.settings).toContain('memoizer');
  });

  it('the MCP SDK loads only when mcp serves, not for its --help', async () => {
    const { r, loaded } = await traced(['mcp', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: gitbus mcp');
    expect(loaded.modules.filter((m) => m.startsWith('cli/commands/'))).toEqual(['cli/commands/mcp.js']);
    expect(loaded.packages).not.toContain('@modelcontextprotocol/sdk');
    const bundled = await traced(['mcp', '--help'], undefined, 'default');
    expect(bundled.r.stdout).toBe(r.stdout);
    expect(bundled.loaded.packages).toEqual([]);
  });
});
