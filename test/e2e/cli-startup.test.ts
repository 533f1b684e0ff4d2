import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, CLI, ROOT, gitbus, json, spawnBounded, tempDir, type RunResult } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { wrapCache, type CodeCacheReport } from '../../cli/code-cache.js';

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
 * Counts code compiled at run time: zod compiles each object schema's parser with `new Function` on its first
 * parse unless jitless. A preload replaces the global Function with a proxy that writes down each construction.
 */
const COUNT_FUNCTIONS = `import { appendFileSync } from 'node:fs';
const log = process.env.GITBUS_TEST_FUNCTION_LOG;
globalThis.Function = new Proxy(Function, { construct(target, args) { appendFileSync(log, 'new Function\\n'); return Reflect.construct(target, args); } });
`;

/**
 * Node's own modules that a short command does not need at its start (issue 14, session 10): node:child_process
 * (which loads net and dgram) and the process.stdin stream. A preload writes down each read of process.stdin and,
 * at exit, child_process if Node loaded it (process.moduleLoadList: Node's list of the built-ins it loaded).
 */
const BUILTINS = `import { appendFileSync } from 'node:fs';
const log = process.env.GITBUS_TEST_BUILTIN_LOG;
const stdin = Object.getOwnPropertyDescriptor(process, 'stdin');
Object.defineProperty(process, 'stdin', { ...stdin, get() { appendFileSync(log, 'process.stdin\\n'); return stdin.get.call(this); } });
process.on('exit', () => appendFileSync(log, process.moduleLoadList.filter((m) => m === 'NativeModule child_process').map((m) => m + '\\n').join('')));
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

  /** Runs the CLI under the hook; returns its result and what it loaded. */
  async function traced(args: string[], home?: string, build: Build = 'esm'): Promise<{ r: RunResult; loaded: Loaded }> {
    const log = join(dir.path, `modules-${runs++}.log`);
    writeFileSync(log, '');
    const env = { NODE_OPTIONS: `--import=${join(dir.path, 'register.mjs')}`, GITBUS_TEST_MODULE_LOG: log, ...(build === 'esm' ? { GITBUS_CODE_CACHE: '0' } : {}) };
    const r = await gitbus(args, { ...(home ? { home } : {}), env });
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
    return { r, loaded: { modules: [...modules].sort(), packages: [...packages].sort(), packageFiles: [...packageFiles].sort() } };
  }

  beforeAll(async () => {
    dir = await tempDir('gitbus-startup-');
    writeFileSync(join(dir.path, 'hooks.mjs'), HOOKS);
    writeFileSync(join(dir.path, 'register.mjs'), REGISTER);
    writeFileSync(join(dir.path, 'count-functions.mjs'), COUNT_FUNCTIONS);
    writeFileSync(join(dir.path, 'builtins.mjs'), BUILTINS);
    bus = await makeBus({ node: 'solo' });
  });
  afterAll(async () => {
    await bus?.cleanup();
    await dir?.cleanup();
  });

  it('--version and --help run the ES module build: commander and the command table, no command and no other package', async () => {
    const version = await traced(['--version'], undefined, 'default');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version.r.stdout.trim()).toBe(pkg.version);
    // The markers are there (a minified bundle would have none, and this test would see nothing).
    expect(version.loaded.modules).toContain('cli/main.js');
    expect(version.loaded.modules).toContain('cli/command-table.js');
    expect(version.loaded.packages).toEqual(['commander']);
    // Of the bus, only the version reader (bus/version.ts, which imports nothing else).
    expect(version.loaded.modules.filter((m) => !/^(cli|schemas)\/[^/]+$/.test(m) && m !== 'bus/version.js')).toEqual([]);

    const help = await traced(['--help'], undefined, 'default');
    expect(help.r.code).toBe(0);
    expect(help.r.stdout).toContain('dispatch [options] [title]');
    expect(help.loaded).toEqual(version.loaded);
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

  it('status and dispatch on a local bus load no node:child_process and make no process.stdin stream', async () => {
    for (const build of ['default', 'esm'] as const) {
      for (const args of [['status', '--json'], ['dispatch', 'start-up probe', '--no-git', '--json']]) {
        const log = join(dir.path, `builtins-${runs++}.log`);
        writeFileSync(log, '');
        const env = { NODE_OPTIONS: `--import=${join(dir.path, 'builtins.mjs')}`, GITBUS_TEST_BUILTIN_LOG: log, ...(build === 'esm' ? { GITBUS_CODE_CACHE: '0' } : {}) };
        const r = await gitbus(args, { home: bus.home('solo'), env });
        expect(r.code, r.stderr).toBe(0);
        // commander's require of child_process (for executable subcommands) is deferred by scripts/bundle.mjs,
        // gitbus's own by bus/child-process.ts; the SSH passphrase prompt looks at stdin only for an SSH remote.
        expect(readFileSync(log, 'utf8'), `${build}: ${args.join(' ')}`).toBe('');
      }
    }
    // The preload sees both: a command that reads stdin (a batch from "-") reads it.
    const log = join(dir.path, `builtins-${runs++}.log`);
    writeFileSync(log, '');
    const batch = await gitbus(['dispatch', '--from', '-', '--no-git', '--json'], { home: bus.home('solo'), input: '{"title":"from stdin"}\n', env: { NODE_OPTIONS: `--import=${join(dir.path, 'builtins.mjs')}`, GITBUS_TEST_BUILTIN_LOG: log } });
    expect(batch.code, batch.stderr).toBe(0);
    expect(readFileSync(log, 'utf8')).toContain('process.stdin');
  });

  it('dispatch outside a checkout, on a bus without a pinned trust root, starts no git process', async () => {
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

  it('watch loads at its start what the bus loads on first use, so a package replaced under it cannot break it later', async () => {
    await bus.addNode('worker', [], ['--runner', 'shell']);
    const { r, loaded } = await traced(['watch', '--once', '--json'], bus.home('worker'));
    expect(r.code, r.stderr).toBe(0);
    expect(loaded.modules).toContain('bus/preload.js');
    expect(loaded.packages).toEqual(expect.arrayContaining(['isomorphic-git', 'cron']));
    // The bundle loads them from node_modules, isomorphic-git by import() from the compiled script (the loader
    // gives it Node's own import()).
    const bundled = await traced(['watch', '--once', '--json'], bus.home('worker'), 'default');
    expect(bundled.r.code, bundled.r.stderr).toBe(0);
    expect(bundled.loaded.packages).toEqual(expect.arrayContaining(['isomorphic-git', 'cron']));
  });

  it('a short command parses with zod jitless (no parser compiled at run time); the watcher compiles them', async () => {
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
    // The counter works, and a long-running command keeps zod's compiled parsers, which its later parses repay.
    await bus.addNode('jit-worker', [], ['--runner', 'shell']);
    const watch = await compiled(['watch', '--once', '--json'], bus.home('jit-worker'));
    expect(watch.r.code, watch.r.stderr).toBe(0);
    expect(watch.count).toBeGreaterThan(0);
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

describe('CLI bundle', () => {
  it('holds no absolute path of the folder it was built in, so its code cache key is the same wherever it is built', () => {
    const buildDir = ROOT.replace(/\/$/, '');
    for (const f of ['gitbus.cjs', 'gitbus-loader.cjs', 'gitbus.mjs']) expect(readFileSync(join(dirname(CLI), f), 'utf8').includes(buildDir), f).toBe(false);
  });

  it('every file of dist/cli/ is pure ASCII (V8 scans anything else as UTF-16)', () => {
    const cliDir = dirname(CLI);
    const files = readdirSync(cliDir).filter((f) => f.endsWith('.mjs') || f.endsWith('.cjs'));
    expect(files).toEqual(expect.arrayContaining(['gitbus.mjs', 'gitbus.cjs', 'gitbus-loader.cjs']));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const bytes = readFileSync(join(cliDir, f));
      const at = bytes.findIndex((b) => b > 0x7f);
      expect(at, `${f}: byte ${at} is not ASCII: ${bytes.subarray(Math.max(0, at - 40), at + 10).toString('utf8')}`).toBe(-1);
    }
  });
});

describe('CLI code cache (cli/code-cache.ts)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let runs = 0;
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

  /** Runs the CLI with its code cache in `cache` ($XDG_CACHE_HOME); returns its result and what the loader did. */
  async function run(args: string[], cache: string, opts: { bin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ r: RunResult; report: CodeCacheReport }> {
    const reportFile = join(dir.path, `report-${runs++}.jsonl`);
    const env = { XDG_CACHE_HOME: cache, GITBUS_CODE_CACHE_REPORT: reportFile, ...opts.env };
    const r = opts.bin ? await spawnBin(opts.bin, args, env) : await gitbus(args, { home: bus.home('solo'), env });
    const lines = readFileSync(reportFile, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    return { r, report: JSON.parse(lines[0] as string) as CodeCacheReport };
  }
  const spawnBin = (bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> => spawnBounded(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, timeoutMs: 60_000 });
  /** status --json without the one field that moves with the clock. */
  const statusOf = (r: RunResult): string => {
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.replace(/"windowMs": \d+/, '');
  };

  it('the first status writes its cache, the second uses it, and both print the same as the ES module build', async () => {
    const cache = join(dir.path, 'first');
    const first = await run(['status', '--json'], cache);
    expect(first.report).toMatchObject({ command: 'status', cache: 'none', written: true });
    const file = first.report.file as string;
    expect(file.startsWith(join(cache, 'gitbus', 'code-cache', `${process.version}-${process.arch}-`))).toBe(true);
    expect(file.endsWith('/status.bin')).toBe(true);
    const second = await run(['status', '--json'], cache);
    expect(second.report).toEqual({ command: 'status', cache: 'accepted', written: false, file });
    expect(statusOf(second.r)).toBe(statusOf(first.r));
    const esm = await run(['status', '--json'], cache, { env: { GITBUS_CODE_CACHE: '0' } });
    expect(esm.report).toEqual({ command: 'status', cache: 'off', written: false });
    expect(statusOf(esm.r)).toBe(statusOf(first.r));
    // Private to the user: nobody else may plant code there.
    for (const d of [join(cache, 'gitbus'), join(cache, 'gitbus', 'code-cache'), dirname(file)]) expect(statSync(d).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // Each command has a file of its own.
    expect((await run(['show', taskId], cache)).report).toMatchObject({ command: 'show', cache: 'none', written: true, file: join(dirname(file), 'show.bin') });
    // No command to run: the ES module build, which starts faster for commander and the command table alone.
    for (const args of [['--version'], ['--help'], ['statsu']]) expect((await run(args, cache)).report).toEqual({ command: 'top', cache: 'off', written: false });
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
    expect(unsafe.report).toEqual({ command: 'status', cache: 'unsafe', written: false, reason: `${join(shared, 'gitbus')} may be written by its group or others (mode 777)` });
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
    expect(readdirSync(key).sort()).toEqual(names(files.slice(-4)));
    // The ones used last stay: the oldest kept, used again, outlives one written after it.
    expect((await run(['status', '--json'], cache, options(2))).report).toMatchObject({ cache: 'accepted', written: false, file: files[2] });
    const seventh = await run(['status', '--json'], cache, options(6));
    expect(seventh.report).toMatchObject({ cache: 'none', written: true });
    expect(readdirSync(key).sort()).toEqual(names([files[2], files[4], files[5], seventh.report.file] as string[]));
  });

  it('the cache key changes with the bundle', async () => {
    // A copy of the package's runnable part, its node_modules linked.
    const pkg = join(dir.path, 'package');
    mkdirSync(join(pkg, 'bin'), { recursive: true });
    mkdirSync(join(pkg, 'dist', 'cli'), { recursive: true });
    for (const f of ['package.json', 'bin/gitbus.js', 'bin/package.json', 'dist/cli/gitbus-loader.cjs', 'dist/cli/gitbus.cjs']) copyFileSync(join(ROOT, f), join(pkg, f));
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    const cache = join(dir.path, 'rebuilt');
    const bin = join(pkg, 'bin', 'gitbus.js');
    const status = ['status', '--json', '--home', bus.home('solo')];
    const before = await run(status, cache, { bin });
    expect(before.r.code, before.r.stderr).toBe(0);
    expect(json<{ node: string }>(before.r).node).toBe('solo');
    expect((await run(status, cache, { bin })).report).toMatchObject({ cache: 'accepted' });
    appendFileSync(join(pkg, 'dist', 'cli', 'gitbus.cjs'), '\n// rebuilt\n');
    const after = await run(status, cache, { bin });
    expect(after.report).toMatchObject({ command: 'status', cache: 'none', written: true });
    expect(dirname(after.report.file as string)).not.toBe(dirname(before.report.file as string));
    expect(after.r.code, after.r.stderr).toBe(0);
    expect(json<{ node: string }>(after.r).node).toBe('solo');
  });
});

/** Root can run the CLI as a uid of no account (setpriv), as a container's `--user 12345` does. */
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0 && existsSync('/usr/bin/setpriv');
const OTHER_UID = 12345;

describe('CLI start-up in odd places', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let runs = 0;

  beforeAll(async () => {
    dir = await tempDir('gitbus-odd-start-');
    // Another uid must reach the homes and the report files made here.
    chmodSync(dir.path, 0o755);
    bus = await makeBus({ node: 'solo' });
  });
  afterAll(async () => {
    await bus?.cleanup();
    await dir?.cleanup();
  });

  /** Runs bin/gitbus.js with exactly `env` (plus PATH), as `uid` when given; returns its result and the loader's report. */
  async function runAs(uid: number | undefined, args: string[], env: NodeJS.ProcessEnv): Promise<{ r: RunResult; report: CodeCacheReport }> {
    const reportFile = join(dir.path, `report-${runs++}.jsonl`);
    writeFileSync(reportFile, '', { mode: 0o666 });
    chmodSync(reportFile, 0o666);
    const full = { PATH: process.env['PATH'], GITBUS_CODE_CACHE_REPORT: reportFile, ...env };
    const command = uid === undefined ? [process.execPath, BIN, ...args] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, BIN, ...args];
    const r = await spawnBounded(command[0] as string, command.slice(1), { cwd: dir.path, env: full, timeoutMs: 60_000 });
    const lines = readFileSync(reportFile, 'utf8').split('\n').filter(Boolean);
    expect(lines, r.stderr).toHaveLength(1);
    return { r, report: JSON.parse(lines[0] as string) as CodeCacheReport };
  }
  /** A home folder of OTHER_UID's. */
  const homeOf = (name: string, mode = 0o700): string => {
    const home = join(dir.path, name);
    mkdirSync(home);
    chownSync(home, OTHER_UID, OTHER_UID);
    chmodSync(home, mode);
    return home;
  };
  const noBus = (): string[] => ['status', '--home', join(dir.path, 'no-bus-here')];

  it.skipIf(!asRoot)('a cache place the user cannot use runs the ES module build, and doctor says why and what to do', async () => {
    // A fresh account: no ~/.cache yet. It is made (private), with the cache.
    const fresh = homeOf('fresh');
    const first = await runAs(OTHER_UID, noBus(), { HOME: fresh });
    expect(first.r.code).toBe(7);
    expect(first.report).toMatchObject({ cache: 'none', written: true });
    expect(statSync(join(fresh, '.cache')).mode & 0o777).toBe(0o700);
    expect(statSync(join(fresh, '.cache')).uid).toBe(OTHER_UID);

    // A read-only home without ~/.cache.
    const readOnly = homeOf('read-only', 0o500);
    expect((await runAs(OTHER_UID, noBus(), { HOME: readOnly })).report).toMatchObject({ cache: 'unavailable', written: false, reason: `${join(readOnly, '.cache')} cannot be made or written (EACCES)` });

    // ~/.cache left by `sudo` (root's, with the user's HOME).
    const sudoed = homeOf('sudoed');
    mkdirSync(join(sudoed, '.cache'), { mode: 0o755 });
    const blocked = await runAs(OTHER_UID, noBus(), { HOME: sudoed });
    const sudoedReason = `${join(sudoed, '.cache', 'gitbus')} does not exist, and ${join(sudoed, '.cache')} belongs to uid 0, not to this user (uid ${OTHER_UID})`;
    expect(blocked.report).toMatchObject({ cache: 'unavailable', written: false, reason: sudoedReason });
    expect(blocked.r.stderr).toContain('no bus at');
    const doctor = await runAs(OTHER_UID, ['doctor', '--json', '--home', join(dir.path, 'no-bus-here')], { HOME: sudoed });
    const check = json<{ checks: { name: string; status: string; detail: string; fix: string }[] }>(doctor.r).checks.find((c) => c.name === 'cli.code-cache');
    expect(check).toMatchObject({ status: 'warn' });
    expect(check?.detail).toContain(sudoedReason);
    expect(check?.fix).toContain(`chown ${OTHER_UID} ${join(sudoed, '.cache')}`);

    // ~/.cache/gitbus that its group may write to: unsafe, not read, and doctor says chmod 700.
    const shared = homeOf('shared');
    mkdirSync(join(shared, '.cache', 'gitbus'), { recursive: true });
    chownSync(join(shared, '.cache'), OTHER_UID, OTHER_UID);
    chownSync(join(shared, '.cache', 'gitbus'), OTHER_UID, OTHER_UID);
    chmodSync(join(shared, '.cache', 'gitbus'), 0o770);
    expect((await runAs(OTHER_UID, noBus(), { HOME: shared })).report).toMatchObject({ cache: 'unsafe', written: false });
    const sharedDoctor = await runAs(OTHER_UID, ['doctor', '--json', '--home', join(dir.path, 'no-bus-here')], { HOME: shared });
    expect(json<{ checks: { name: string; fix: string }[] }>(sharedDoctor.r).checks.find((c) => c.name === 'cli.code-cache')?.fix).toContain(`chmod 700 ${join(shared, '.cache', 'gitbus')}`);

    // Root with that user's HOME (sudo without -H) makes nothing there: no ~/.cache, no ~/.cache/gitbus of root's.
    const foreign = homeOf('foreign');
    expect((await runAs(undefined, noBus(), { HOME: foreign })).report).toMatchObject({ cache: 'unavailable', written: false });
    expect(readdirSync(foreign)).toEqual([]);
    expect((await runAs(undefined, noBus(), { HOME: fresh })).report).toMatchObject({ cache: 'unsafe', written: false });
    expect(readdirSync(join(fresh, '.cache'))).toEqual(['gitbus']);
    expect(statSync(join(fresh, '.cache', 'gitbus')).uid).toBe(OTHER_UID);
  });

  it.skipIf(!asRoot)('a uid with no home folder and no passwd entry gets an error that says what to do', async () => {
    for (const env of [{}, { GITBUS_CODE_CACHE: '0' }, { XDG_CACHE_HOME: join(homeOf('xdg'), 'cache') }]) {
      const { r, report } = await runAs(OTHER_UID, ['status', '--json'], env);
      expect(r.code, r.stderr).toBe(7);
      expect(r.stderr).not.toContain('uv_os_homedir');
      expect(json<{ error: { code: string; fix: string } }>(r).error).toMatchObject({ code: 'NO_USER_HOME', fix: expect.stringContaining('set HOME') });
      // Without a home there is no cache folder either, unless XDG_CACHE_HOME names one.
      expect(report.cache).toBe('XDG_CACHE_HOME' in env ? 'none' : 'GITBUS_CODE_CACHE' in env ? 'off' : 'unavailable');
    }
  });

  /** Runs bin/gitbus.js with its standard output closed before it writes (a reader that stopped: `| head -1`). */
  const closedStdout = (args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: dir.path, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`gitbus ${args.join(' ')} did not end within 60 s: ${stderr}`));
      }, 60_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout: '', stderr });
      });
    });

  it('a reader that stops early (| head -1) ends the command quietly, with either build', async () => {
    for (const env of [{ GITBUS_CODE_CACHE: '0' }, {}]) {
      for (const args of [['status', '--help'], ['--help'], ['status', '--json']]) {
        const r = await closedStdout(args, { ...env, GITBUS_HOME: bus.home('solo') });
        expect({ args, env, code: r.code, stderr: r.stderr }).toEqual({ args, env, code: 0, stderr: '' });
      }
    }
  });

  it('a command that can no longer finish (nothing left to wait for) exits 13, not 0, with either build', async () => {
    // A preload that makes the read of node.yaml a promise that never settles.
    const hang = join(dir.path, 'hang.cjs');
    writeFileSync(
      hang,
      `const fsp = require('node:fs/promises');
const real = fsp.readFile;
fsp.readFile = (p, ...rest) => (String(p).endsWith('node.yaml') ? new Promise(() => {}) : real(p, ...rest));
require('node:module').syncBuiltinESMExports();
`,
    );
    for (const env of [{ GITBUS_CODE_CACHE: '0' }, {}]) {
      const r = await gitbus(['status', '--json'], { home: bus.home('solo'), env: { ...env, NODE_OPTIONS: `--require=${hang}` } });
      expect(r.code, JSON.stringify(env)).toBe(13);
      expect(r.stderr).toContain('the command stopped before it finished');
    }
  });
});
