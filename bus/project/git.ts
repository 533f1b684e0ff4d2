import { childProcess } from '../child-process.js';
import { GitbusError } from '../../schemas/errors.js';

/**
 * The git CLI, for project repositories (the bus itself keeps its in-process git). Every call is bounded in time,
 * never asks on a terminal, and refuses transports that run commands, because URLs and refs come from the shared
 * repository. Network calls get a longer bound than local ones.
 */
export interface GitRun {
  stdout: string;
  stderr: string;
  code: number;
}

export interface GitOptions {
  cwd?: string;
  /** A bare repository or `.git` folder to act on (`git --git-dir`). */
  gitDir?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  input?: string;
  /** Exit codes that are answers, not failures (`merge-base --is-ancestor` says no with 1). */
  okCodes?: readonly number[];
  /** Bytes of output kept; more is an error (a listing of a huge repository is cut, not held whole). */
  maxBuffer?: number;
}

/** Local operations (commit, worktree add, log): generous, but a hung git is not waited for forever. */
export const LOCAL_GIT_MS = 120_000;
/** Fetches and pushes over a network: the first fetch of a big project takes a while. */
export const NETWORK_GIT_MS = 30 * 60_000;

/**
 * Settings that make a git run safe with values from the bus, whatever the user's git configuration says. No hooks:
 * a project clone's config and hooks folder are shared by every task's worktree, and any task may write them (`git
 * config core.hooksPath /x` in its worktree); a hook run by gitbus's own git (a post-checkout in `worktree add`, a
 * pre-push, a post-commit of the auto-commit) would run outside every task's timeout and process group.
 */
export const SAFE_CONFIG = ['-c', 'protocol.ext.allow=never', '-c', 'protocol.fd.allow=never', '-c', 'core.askPass=', '-c', 'credential.interactive=false', '-c', 'core.hooksPath=/dev/null'];
const SAFE_SHOWN = new Set(SAFE_CONFIG.filter((a) => a !== '-c'));

export function gitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // Never stop to ask for a password or a host key: a watcher has nobody to answer.
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: 'echo',
    SSH_ASKPASS: 'echo',
    GCM_INTERACTIVE: 'never',
    GIT_SSH_COMMAND: process.env['GIT_SSH_COMMAND'] ?? 'ssh -o BatchMode=yes',
    // Messages are matched in English (outageOf) whatever the node's locale.
    LC_ALL: 'C',
    LANG: 'C',
    ...extra,
  };
}

/**
 * A branch git cannot make because another is in its way: `a` and `a/b` cannot both exist (a ref is a file, and a
 * branch under it needs a folder of that name). Read from git's "cannot lock ref" message, local or the remote's. Pure.
 */
export function refClash(stderr: string): { wanted: string; existing: string } | null {
  const m = /cannot lock ref 'refs\/heads\/([^']+)': 'refs\/heads\/([^']+)' exists/.exec(stderr);
  return m?.[1] && m[2] ? { wanted: m[1], existing: m[2] } : null;
}

export class ProjectGitError extends GitbusError {
  readonly code = 'PROJECT_GIT';
  readonly stderr: string;
  readonly exitCode: number | null;
  constructor(what: string, args: string[], stderr: string, exitCode: number | null, fix: string) {
    const detail = lastLines(stderr) || (exitCode === null ? 'it did not finish in time' : `exit code ${exitCode}`);
    super(`${what}: git ${args.filter((a) => a !== '-c' && !SAFE_SHOWN.has(a)).join(' ')}: ${detail}`, fix, { args, stderr, exitCode });
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

/**
 * Lines git prints after its error whatever the error was ("Please make sure you have the correct access rights /
 * and the repository exists."): as the last line they would stand for the error itself and say nothing.
 */
const BOILERPLATE = /^(please make sure you have the correct access rights|and the repository exists\.?)$/i;
/** git's own summary of a network failure, printed after the line that says what went wrong. */
const GENERIC = /^fatal: could not read from remote repository\.?$/i;

function stderrLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^hint:/.test(l) && !BOILERPLATE.test(l));
}

/** The last meaningful lines of git's stderr, on one line (without hints and git's closing boilerplate). Pure. */
export function lastLines(stderr: string, n = 3): string {
  return stderrLines(stderr).slice(-n).join(' / ').slice(0, 600);
}

/**
 * The one line of git's stderr that says what went wrong: its first `fatal:` (or `error:`) line other than the
 * generic "Could not read from remote repository." — which follows the line that explains it (`ssh: connect to
 * host …: Connection refused`, `ERROR: Repository not found.`) — else the last such line. Pure.
 */
export function gitReason(stderr: string): string {
  const lines = stderrLines(stderr);
  const specific = lines.filter((l) => !GENERIC.test(l));
  const pick = specific.find((l) => /^(fatal|error):/i.test(l)) ?? specific.at(-1) ?? lines.at(-1) ?? '';
  return pick.slice(0, 600);
}

/** Runs git; rejects with ProjectGitError (carrying `what` and `fix`) unless the exit code is 0 or in `okCodes`. */
export function git(args: string[], o: GitOptions & { what?: string; fix?: string } = {}): Promise<GitRun> {
  const full = [...SAFE_CONFIG, ...(o.gitDir ? ['--git-dir', o.gitDir] : []), ...args];
  return new Promise((resolve, reject) => {
    const child = childProcess().execFile(
      'git',
      full,
      { cwd: o.cwd, env: gitEnv(o.env), timeout: o.timeoutMs ?? LOCAL_GIT_MS, maxBuffer: o.maxBuffer ?? 64 * 1024 * 1024, encoding: 'utf8', killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
        const code = e === null ? 0 : typeof e.code === 'number' ? e.code : null;
        if (e && e.code === 'ENOENT') {
          reject(gitMissing(args, o));
          return;
        }
        if (code !== null && (code === 0 || o.okCodes?.includes(code))) {
          resolve({ stdout, stderr, code });
          return;
        }
        reject(gitFailed(args, stderr || (e?.killed ? 'it did not finish in time and was stopped' : (e?.message ?? '')), code, o));
      },
    );
    if (o.input !== undefined) child.stdin?.end(o.input);
  });
}

/** The error of a git run that could not start: no git on this node. git-quick.ts gives the same. */
export function gitMissing(args: string[], o: { what?: string } = {}): ProjectGitError {
  return new ProjectGitError(o.what ?? 'git is not installed', args, '', null, 'install git on this node (Debian/Ubuntu: "apt-get install git")');
}

/** The error of a git run that failed, `detail` saying how (its stderr, else why it ended). git-quick.ts gives the same. */
export function gitFailed(args: string[], detail: string, exitCode: number | null, o: { what?: string; fix?: string } = {}): ProjectGitError {
  return new ProjectGitError(o.what ?? 'git failed', args, detail, exitCode, o.fix ?? 'see the message from git');
}

/** Why a git network command failed, when it is an outage (retry later) rather than a refusal. Pure. */
export function outageOf(stderr: string): string | null {
  const s = stderr.toLowerCase();
  const outage = [
    'could not resolve host',
    'connection refused',
    'connection timed out',
    'operation timed out',
    'network is unreachable',
    'no route to host',
    'connection reset',
    'could not read from remote repository',
    'the remote end hung up unexpectedly',
    'early eof',
    'failed to connect',
    'temporary failure in name resolution',
    'ssh: connect to host',
    'did not finish in time',
  ];
  // An SSH refusal also prints "could not read from remote repository": not an outage. Neither is a hosting
  // service that answers it has no such repository (or none this node's key may see): `ERROR: Repository not found.`
  // A path that is not a repository ("does not appear to be a git repository") stays an outage: a mount or a
  // repository moved away for a while looks the same, and the dispatcher saw it there. Nor is a ref the remote does
  // not have: over git's protocol v0 (a plain sshd passes no GIT_PROTOCOL; protocol.version=0) `couldn't find remote
  // ref` is followed by "the remote end hung up unexpectedly", which is the remote closing after the answer.
  if (/permission denied|host key verification failed|authentication failed|repository not found|couldn't find remote ref|403|401/.test(s)) return null;
  return outage.some((o) => s.includes(o)) ? (gitReason(stderr) || 'the project remote cannot be reached') : null;
}
