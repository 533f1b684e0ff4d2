import type { ChildProcess } from 'node:child_process';
import { childProcess } from '../child-process.js';
import { GitCliMissingError, TransportTimeoutError } from './errors.js';

/**
 * Variables that make git look at some other repository than the one named on the command line. git itself
 * strips these before running upload-pack/receive-pack for a local remote (`git rev-parse --local-env-vars`);
 * we must too, because gitbus runs from git hooks (GIT_DIR, GIT_OBJECT_DIRECTORY, GIT_QUARANTINE_PATH are set
 * there) and the service would otherwise read or write the hook's repository instead of the remote.
 */
const LOCAL_REPO_ENV = [
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_CONFIG',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_COUNT',
  'GIT_OBJECT_DIRECTORY',
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_IMPLICIT_WORK_TREE',
  'GIT_GRAFT_FILE',
  'GIT_INDEX_FILE',
  'GIT_NO_REPLACE_OBJECTS',
  'GIT_REPLACE_REF_BASE',
  'GIT_PREFIX',
  'GIT_SHALLOW_FILE',
  'GIT_COMMON_DIR',
  'GIT_QUARANTINE_PATH',
  'GIT_NAMESPACE',
  // Our parsers speak protocol v0/v1 only; a v2 request in the environment would change what the service prints.
  'GIT_PROTOCOL',
];

function serviceEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of LOCAL_REPO_ENV) delete env[name];
  for (const name of Object.keys(env)) if (/^GIT_CONFIG_(KEY|VALUE)_\d+$/.test(name)) delete env[name];
  // git's own words in English whatever the user's locale: some answers are only told apart by their text (an
  // upload-archive pathspec that matched nothing, bus/archive/upload-archive.ts), and gettext ignores LANGUAGE
  // under the C locale.
  env['LC_ALL'] = 'C';
  delete env['LANGUAGE'];
  return env;
}

export interface GitRun {
  exitCode: number | null;
  signal: string | null;
  stdout: Uint8Array;
  stderr: string;
}

export interface RunGitOptions {
  gitPath: string;
  args: readonly string[];
  input?: Uint8Array;
  timeoutMs: number;
  /** For the timeout message: what was running and where. */
  what: string;
  remote: string;
  /** Called with the child while it runs, so the owner can stop it on close(). */
  track?: (child: ChildProcess, running: boolean) => void;
}

/** Run git once without a shell, feed it `input`, collect everything it prints. Never rejects on exit codes. */
export function runGit(opts: RunGitOptions): Promise<GitRun> {
  return new Promise<GitRun>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = childProcess().spawn(opts.gitPath, [...opts.args], { env: serviceEnv(), stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    } catch (err) {
      reject(isEnoent(err) ? new GitCliMissingError(opts.gitPath, err) : err);
      return;
    }
    opts.track?.(child, true);
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.track?.(child, false);
      fn();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(() => reject(new TransportTimeoutError(opts.what, opts.remote, opts.timeoutMs)));
    }, opts.timeoutMs);
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => errOut.push(c));
    child.on('error', (err) => finish(() => reject(isEnoent(err) ? new GitCliMissingError(opts.gitPath, err) : err)));
    child.on('close', (code, signal) =>
      finish(() =>
        resolve({
          exitCode: code,
          signal,
          stdout: new Uint8Array(Buffer.concat(out)),
          stderr: Buffer.concat(errOut).toString('utf8'),
        }),
      ),
    );
    // The service may exit before reading all input (upload-pack dies on "not our ref"): EPIPE is expected
    // then, and the exit code and stderr say what happened.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? new Uint8Array(0));
  });
}

function isEnoent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}
