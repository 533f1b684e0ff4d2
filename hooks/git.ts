import { spawn } from 'node:child_process';
import { GitbusError } from '../schemas/errors.js';

/** Variables with which git points its commands at a repository other than the one in the working directory. */
const REPO_ENV = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_COMMON_DIR', 'GIT_PREFIX', 'GIT_IMPLICIT_WORK_TREE', 'GIT_QUARANTINE_PATH'];

export class GitCommandError extends GitbusError {
  readonly code = 'HOOK_GIT_FAILED';
  constructor(args: readonly string[], detail: string) {
    super(`git ${args.join(' ')} failed: ${detail}`, 'check that git works in this repository (run the same command yourself)', { args, detail });
  }
}

export interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export interface GitOptions {
  cwd: string;
  input?: string;
  timeoutMs?: number;
  /**
   * Inside a git hook, keep the variables git set for it (GIT_INDEX_FILE above all: `git commit -a` hands the
   * pre-commit hook a temporary index). Outside one, drop them so that the command looks at `cwd`.
   */
  hookEnv?: boolean;
}

/** Runs git without a shell and collects its output; never rejects on an exit code, only on a spawn failure or timeout. */
export function git(args: readonly string[], opts: GitOptions): Promise<GitResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (!opts.hookEnv) for (const name of REPO_ENV) delete env[name];
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...args], { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new GitCommandError(args, `it did not finish within ${Math.round(timeoutMs / 1000)}s`));
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new GitCommandError(args, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'git is not installed (or not on PATH)' : e.message));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs git and returns its standard output; a non-zero exit is an error. */
export async function gitOut(args: readonly string[], opts: GitOptions): Promise<Buffer> {
  const r = await git(args, opts);
  if (r.code !== 0) throw new GitCommandError(args, r.stderr.trim() || `exit code ${r.code}`);
  return r.stdout;
}

/** The NUL-separated fields git prints with -z. */
export function splitZ(out: Buffer): string[] {
  return out.toString('utf8').split('\0').filter((s) => s.length > 0);
}

/**
 * Reads objects with one `git cat-file --batch`: `specs` are object ids or `<rev>:<path>` names (no newlines).
 * Missing objects are absent from the result.
 */
export async function readObjects(specs: readonly string[], opts: GitOptions): Promise<Map<string, Buffer>> {
  const result = new Map<string, Buffer>();
  if (specs.length === 0) return result;
  const out = await gitOut(['cat-file', '--batch'], { ...opts, input: specs.map((s) => `${s}\n`).join('') });
  let at = 0;
  for (const spec of specs) {
    const eol = out.indexOf(0x0a, at);
    if (eol < 0) break;
    const header = out.subarray(at, eol).toString('utf8');
    at = eol + 1;
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) continue; // "<spec> missing" or "ambiguous"
    const size = Number(m[2]);
    if (m[1] === 'blob') result.set(spec, out.subarray(at, at + size));
    at += size + 1;
  }
  return result;
}

/** Sizes of objects, by one `git cat-file --batch-check`; missing objects are absent. */
export async function objectSizes(oids: readonly string[], opts: GitOptions): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  if (oids.length === 0) return result;
  const out = await gitOut(['cat-file', '--batch-check=%(objectname) %(objectsize)'], { ...opts, input: oids.map((s) => `${s}\n`).join('') });
  for (const line of out.toString('utf8').split('\n')) {
    const m = /^([0-9a-f]+) (\d+)$/.exec(line);
    if (m?.[1] !== undefined) result.set(m[1], Number(m[2]));
  }
  return result;
}
