import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, tempDir, commandsAsProcesses } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

// Every command here runs as a process: what of Node's own a command process loads and starts is the subject.
commandsAsProcesses();

/**
 * Node's own modules that a short command does not need at its start (issue 14, session 10): node:child_process
 * (which loads net and dgram) and the process.stdin stream; node:crypto for `status` (session 35: `dispatch` hashes
 * the objects it writes); node:tty, perf_hooks and fs/promises (session 36: the serve client's isatty, the lock's
 * performance.now(), one file read); node:net, which process.stdout's stream for a pipe is (session 42: the output is
 * written to its file descriptor, cli/std-write.ts); node:module's public module, which loads Node's ES module loader (session 53: the
 * bundles' own require, schemas/own-require.ts); node:os and Node's rimraf (session 54: the host name from /proc,
 * schemas/node-os.ts; a lock file removed without fs.rmSync, bus/remove-file.ts). A preload writes down each read of process.stdin and, at exit, those modules
 * if Node loaded them (process.moduleLoadList: Node's list of the built-ins it loaded). The preload is CommonJS
 * (`--require`): Node's ES module loader loads fs/promises to read files, and an ES module import of node:fs reads
 * every export of it, fs.promises too (so the ES module build, GITBUS_CODE_CACHE=0, loads it whatever gitbus uses).
 */
const BUILTINS = `const { appendFileSync } = require('node:fs');
const log = process.env.GITBUS_TEST_BUILTIN_LOG;
const stdin = Object.getOwnPropertyDescriptor(process, 'stdin');
Object.defineProperty(process, 'stdin', { ...stdin, get() { appendFileSync(log, 'process.stdin\\n'); return stdin.get.call(this); } });
process.on('exit', () => appendFileSync(log, process.moduleLoadList.filter((m) => /^NativeModule (child_process|crypto|tty|net|perf_hooks|internal\\/fs\\/promises|module|os|internal\\/fs\\/rimraf)$/.test(m)).map((m) => m + '\\n').join('')));
`;

/** Node's own modules and threads a short command needs (test/e2e/cli-startup.test.ts: gitbus's modules and packages). */
describe('CLI start-up: what of Node a command loads', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let runs = 0;

  beforeAll(async () => {
    dir = await tempDir('gitbus-startup-node-');
    writeFileSync(join(dir.path, 'builtins.cjs'), BUILTINS);
    bus = await makeBus({ node: 'solo' });
  });
  afterAll(async () => {
    await bus?.cleanup();
    await dir?.cleanup();
  });

  it('status and dispatch on a local bus, their output read through a pipe, load no node:child_process, crypto, tty, net, perf_hooks, fs/promises, module, os or fs rimraf and make no process.stdin stream', async () => {
    // A handoff of 12 KB: past the 4 KiB the JavaScript SHA-1 takes (bus/git/sha1.ts); the WebAssembly one
    // (bus/checksums-wasm.ts) hashes it, without node:crypto, from either build.
    const large = join(dir.path, 'large-body.md');
    writeFileSync(large, 'A long description.\n'.repeat(600));
    for (const build of ['default', 'esm'] as const) {
      for (const args of [['status', '--json'], ['dispatch', 'start-up probe', '--no-git', '--json'], ['dispatch', 'a large body', '--body-file', large, '--no-git', '--json']]) {
        const log = join(dir.path, `builtins-${runs++}.log`);
        writeFileSync(log, '');
        const env = { NODE_OPTIONS: `--require=${join(dir.path, 'builtins.cjs')}`, GITBUS_TEST_BUILTIN_LOG: log, ...(build === 'esm' ? { GITBUS_CODE_CACHE: '0' } : {}) };
        const r = await gitbus(args, { home: bus.home('solo'), env });
        expect(r.code, r.stderr).toBe(0);
        // commander's require of child_process (for executable subcommands) is deferred by scripts/bundle.mjs,
        // gitbus's own by bus/child-process.ts; the SSH passphrase prompt looks at stdin only for an SSH remote;
        // crypto by schemas/node-crypto.ts: a dispatch hashes the few objects it writes in JavaScript
        // (bus/git/sha1.ts) and draws its task id and temp-file names from Math.random (schemas/math-random.ts).
        const loaded = readFileSync(log, 'utf8')
          .split('\n')
          // The ES module build (GITBUS_CODE_CACHE=0) imports its modules' node:os at their load, as ES modules do.
          .filter((l) => l !== '' && !(build === 'esm' && (l === 'NativeModule internal/fs/promises' || l === 'NativeModule module' || l === 'NativeModule os')));
        expect(loaded, `${build}: ${args.join(' ')}`).toEqual([]);
      }
    }
    // The preload sees both: a command that reads stdin (a batch from "-") reads it.
    const log = join(dir.path, `builtins-${runs++}.log`);
    writeFileSync(log, '');
    const batch = await gitbus(['dispatch', '--from', '-', '--no-git', '--json'], { home: bus.home('solo'), input: '{"title":"from stdin"}\n', env: { NODE_OPTIONS: `--require=${join(dir.path, 'builtins.cjs')}`, GITBUS_TEST_BUILTIN_LOG: log } });
    expect(batch.code, batch.stderr).toBe(0);
    expect(readFileSync(log, 'utf8')).toContain('process.stdin');
  });

  it('status and dispatch on a bus gitbus wrote load no node:zlib or node:stream once their code cache was checked: its objects are stored, its checksums small', async () => {
    const preload = join(dir.path, 'zlib.cjs');
    writeFileSync(preload, `process.on('exit', () => require('node:fs').appendFileSync(process.env.GITBUS_TEST_BUILTIN_LOG, process.moduleLoadList.filter((m) => /^NativeModule (zlib|stream)$/.test(m)).map((m) => m + '\\n').join('')));\n`);
    for (const build of ['default', 'esm'] as const) {
      for (const args of [['status', '--json'], ['dispatch', 'start-up probe', '--no-git', '--json']]) {
        // The first run of these Node options writes its cache (its checksum then needs node:zlib, after this
        // preload's look at exit), and the file as written is checked (cli/code-cache-store.ts): no later run sums it.
        const loaded: string[] = [];
        for (let i = 0; i < 3; i++) {
          const log = join(dir.path, `zlib-${runs++}.log`);
          writeFileSync(log, '');
          const env = { NODE_OPTIONS: `--require=${preload}`, GITBUS_TEST_BUILTIN_LOG: log, ...(build === 'esm' ? { GITBUS_CODE_CACHE: '0' } : {}) };
          const r = await gitbus(args, { home: bus.home('solo'), env });
          expect(r.code, r.stderr).toBe(0);
          // Node's ES module loader loads node:stream itself (the ES module build, GITBUS_CODE_CACHE=0).
          loaded.push(readFileSync(log, 'utf8').replace(build === 'esm' ? 'NativeModule stream\n' : '\0', ''));
        }
        expect(loaded, `${build}: ${args.join(' ')}`).toEqual(['', '', '']);
      }
    }
  });

  it('on a bus of 400 tasks, put there by one batch, a dispatch and a status load no node:zlib either: a folder\'s tree is stored up to 64 KiB, a batch\'s message stops at 8 KiB', async () => {
    const big = await makeBus({ node: 'many' });
    try {
      const lines = Array.from({ length: 400 }, (_, i) => JSON.stringify({ title: `task ${i} of a batch big enough that its message once passed 16 KiB` })).join('\n');
      const batch = await gitbus(['dispatch', '--from', '-', '--no-git', '--json'], { home: big.home('many'), input: `${lines}\n` });
      expect(batch.code, batch.stderr).toBe(0);
      const size = (rev: string) => Number(execFileSync('git', ['--git-dir', big.remote, 'cat-file', '-s', rev], { encoding: 'utf8' }));
      // The folder past the 16 KiB other objects are stored up to; the batch's commit within it (its message listed
      // every task: ~36 KB).
      expect(size('main:handoffs')).toBeGreaterThan(16 * 1024);
      expect(size('main')).toBeLessThan(16 * 1024);
      const preload = join(dir.path, 'zlib.cjs');
      for (const args of [['status', '--json'], ['dispatch', 'start-up probe', '--no-git', '--json'], ['status', '--json'], ['dispatch', 'start-up probe', '--no-git', '--json']]) {
        // The first run of a command writes its code cache, whose checksum needs node:zlib: the later runs are looked at.
        const loaded: string[] = [];
        for (let i = 0; i < 2; i++) {
          const log = join(dir.path, `zlib-${runs++}.log`);
          writeFileSync(log, '');
          const r = await gitbus(args, { home: big.home('many'), env: { NODE_OPTIONS: `--require=${preload}`, GITBUS_TEST_BUILTIN_LOG: log } });
          expect(r.code, r.stderr).toBe(0);
          loaded.push(readFileSync(log, 'utf8'));
        }
        expect(loaded.at(-1), args.join(' ')).toBe('');
      }
    } finally {
      await big.cleanup();
    }
  });

  // Linux's /proc/self/task lists the process's threads.
  it.skipIf(process.platform !== 'linux')('status and dispatch on a local bus start no thread beyond Node\'s own: their few file reads are synchronous, so libuv\'s thread pool never starts', async () => {
    const preload = join(dir.path, 'threads.cjs');
    writeFileSync(preload, `process.on('exit', () => require('node:fs').appendFileSync(process.env.GITBUS_TEST_THREADS_LOG, require('node:fs').readdirSync('/proc/self/task').length + '\\n'));\n`);
    const threads = (log: string): number => Number(readFileSync(log, 'utf8').trim());
    const nodeLog = join(dir.path, `threads-${runs++}.log`);
    execFileSync(process.execPath, ['--require', preload, '-e', '0'], { env: { ...process.env, GITBUS_TEST_THREADS_LOG: nodeLog } });
    // A read on the pool starts its threads: the preload sees them.
    const poolLog = join(dir.path, `threads-${runs++}.log`);
    execFileSync(process.execPath, ['--require', preload, '-e', 'require("node:fs").readFile(process.execPath, () => {})'], { env: { ...process.env, GITBUS_TEST_THREADS_LOG: poolLog } });
    expect(threads(poolLog)).toBeGreaterThan(threads(nodeLog));
    for (const args of [['status', '--json'], ['dispatch', 'start-up probe', '--no-git', '--json'], ['status', '--json']]) {
      const log = join(dir.path, `threads-${runs++}.log`);
      const r = await gitbus(args, { home: bus.home('solo'), env: { NODE_OPTIONS: `--require=${preload}`, GITBUS_TEST_THREADS_LOG: log } });
      expect(r.code, r.stderr).toBe(0);
      expect(threads(log), args.join(' ')).toBe(threads(nodeLog));
    }
  });
});
