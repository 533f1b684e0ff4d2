import { spawn, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitbusInProcess } from './cli-in-process.js';
export { commandsAsProcesses } from './cli-in-process.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The ES module build, which tests that start the CLI themselves run (what GITBUS_CODE_CACHE=0 runs). */
export const CLI = join(ROOT, 'dist/cli/gitbus.mjs');
/** The package's bin: the CommonJS bundle with its V8 code cache (cli/code-cache.ts), as a person runs gitbus. */
export const BIN = join(ROOT, 'bin/gitbus.js');
/**
 * The code cache of the CLI that tests run (cli/code-cache.ts): $XDG_CACHE_HOME for them, so that tests never write
 * into the user's ~/.cache. One per user, made private by the loader itself.
 */
export const TEST_CACHE_HOME = join(tmpdir(), `gitbus-test-cache-${typeof process.getuid === 'function' ? process.getuid() : 'user'}`);

let neutral: string | undefined;
/**
 * Where the CLI runs unless a test says otherwise: a directory inside no git checkout. `gitbus dispatch` inside
 * a checkout with a remote makes project work (PROTOCOL.md §3a), and the gitbus repository is one in CI, so
 * running from ROOT would turn every test's dispatch into project work on gitbus itself.
 */
export function neutralCwd(): string {
  if (neutral !== undefined) return neutral;
  const dir = tmpdir();
  let top: string | null = null;
  try {
    top = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // Not in a checkout: what the tests need.
  }
  if (top !== null) throw new Error(`the temp directory ${dir} is inside the git checkout ${top}: set TMPDIR to a directory outside any checkout to run the tests`);
  neutral = dir;
  return dir;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the compiled gitbus CLI through bin/gitbus.js, with a bounded wait, in `cwd` (default: neutralCwd()): a
 * served command in the test's own process when it may (test/helpers/cli-in-process.ts), else as its own OS
 * process; `process: true` asks for a process, for a test about the process itself.
 */
export async function gitbus(args: string[], opts: { home?: string; cwd?: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; process?: true; onStderr?: (text: string) => void } = {}): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: TEST_CACHE_HOME, ...opts.env };
  delete env['GITBUS_HOME'];
  if (opts.home) env['GITBUS_HOME'] = opts.home;
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const run = { cwd: opts.cwd ?? neutralCwd(), env, input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000, ...(opts.onStderr ? { onStderr: opts.onStderr } : {}) };
  if (!opts.process && !opts.onStderr) {
    const here = await gitbusInProcess(ROOT, BIN, args, run);
    if (here) return here;
  }
  return spawnBounded(process.execPath, [BIN, ...args], run);
}

/** `onStderr` sees the process's stderr as it comes (a test that acts on what a running command said). */
export function spawnBounded(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | undefined; timeoutMs: number; onStderr?: (text: string) => void }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish within ${opts.timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    // A child that exits without reading its input (a refused command) closes the pipe: not an error here.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Parses the one JSON document a --json command prints. */
export function json<T = Record<string, unknown>>(r: RunResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

export function gitCli(args: string[], cwd?: string, input?: string): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', input, env: { ...process.env, GIT_AUTHOR_NAME: 'tester', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 'tester', GIT_COMMITTER_EMAIL: 't@example.invalid' } });
}

/** A temp folder removed after the test. */
export async function tempDir(prefix = 'gitbus-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  // Retried (Node's rm retries ENOTEMPTY and EBUSY with a growing delay, bounded): a git process of a watcher the
  // test just killed can still be writing an object while the folder is removed under it.
  return { path, cleanup: () => rm(path, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }) };
}

/**
 * Temp folders a test file makes as it goes, all removed after the file's tests (vitest's afterAll, registered
 * by the caller): `const { temp, cleanup } = tempDirs(); afterAll(cleanup);`.
 */
export function tempDirs(): { temp: (prefix: string) => Promise<string>; cleanup: () => Promise<void> } {
  const made: (() => Promise<void>)[] = [];
  return {
    temp: async (prefix) => {
      const d = await tempDir(prefix);
      made.push(d.cleanup);
      return d.path;
    },
    cleanup: async () => {
      for (const c of made.reverse()) await c();
    },
  };
}
