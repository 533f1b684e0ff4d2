import { closeSync, mkdtempSync, openSync, readFileSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { childProcess } from '../child-process.js';
import { git, gitEnv, LOCAL_GIT_MS, ProjectGitError, SAFE_CONFIG, type GitOptions, type GitRun } from './git.js';

/** The most output kept, as git() keeps by default (`maxBuffer`): more is an error there too. */
const QUICK_MAX = 64 * 1024 * 1024;

/**
 * A short local git command (the look at a checkout a dispatch takes), run as git() runs it but with its output
 * written to two files in a private temp folder rather than read through pipes: Node reads a pipe through a
 * net.Socket, and the first such child of a process cost ~1 ms more to start, every later one ~0.2 ms more, and
 * the readings' events more again (four commands at once: ~5-6 ms against ~9-10 ms, issue 14, docs/PERFORMANCE.md
 * "A dispatch from a checkout: output to files"). The same answers as git(), and the same errors, but for a
 * failure git explains nowhere, which says its exit code rather than Node's "Command failed"; where the folder cannot
 * be made, git() runs it.
 */
export function gitQuick(args: string[], o: Pick<GitOptions, 'cwd' | 'okCodes' | 'timeoutMs' | 'maxBuffer'> & { what?: string; fix?: string } = {}): Promise<GitRun> {
  let dir: string;
  let out: number;
  let err: number;
  try {
    dir = mkdtempSync(join(process.env['TMPDIR'] || '/tmp', 'gitbus-git-'));
  } catch {
    return git(args, o);
  }
  const files = [join(dir, 'out'), join(dir, 'err')] as const;
  try {
    out = openSync(files[0], 'wx', 0o600);
    err = openSync(files[1], 'wx', 0o600);
  } catch {
    removeAll(dir, files);
    return git(args, o);
  }
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const finish = (code: number | null, spawnError?: NodeJS.ErrnoException): void => {
      if (timer) clearTimeout(timer);
      const stdout = readOutput(files[0], o.maxBuffer ?? QUICK_MAX);
      const stderr = readOutput(files[1], o.maxBuffer ?? QUICK_MAX);
      removeAll(dir, files);
      if (spawnError?.code === 'ENOENT') {
        reject(new ProjectGitError(o.what ?? 'git is not installed', args, '', null, 'install git on this node (Debian/Ubuntu: "apt-get install git")'));
        return;
      }
      if (stdout === null || stderr === null) {
        reject(new ProjectGitError(o.what ?? 'git failed', args, 'its output was larger than gitbus reads', null, o.fix ?? 'see the message from git'));
        return;
      }
      if (code !== null && (code === 0 || o.okCodes?.includes(code))) {
        resolve({ stdout, stderr, code });
        return;
      }
      reject(new ProjectGitError(o.what ?? 'git failed', args, stderr || (timedOut ? 'it did not finish in time and was stopped' : (spawnError?.message ?? '')), code, o.fix ?? 'see the message from git'));
    };
    try {
      const child = childProcess().spawn('git', [...SAFE_CONFIG, ...args], { cwd: o.cwd, env: gitEnv(), stdio: ['ignore', out, err] });
      let settled = false;
      child.once('error', (e: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        finish(null, e);
      });
      // 'exit', not 'close': no pipe to drain. The files hold all the command wrote once it has ended.
      child.once('exit', (code) => {
        if (settled) return;
        settled = true;
        finish(code);
      });
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, o.timeoutMs ?? LOCAL_GIT_MS);
    } catch (e) {
      finish(null, e as NodeJS.ErrnoException);
    } finally {
      // The child has its own copies of the descriptors.
      closeSync(out);
      closeSync(err);
    }
  });
}

/** A file's text, or null when it is larger than `max` bytes. */
function readOutput(file: string, max: number): string | null {
  try {
    return statSync(file).size > max ? null : readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function removeAll(dir: string, files: readonly string[]): void {
  for (const f of files) {
    try {
      unlinkSync(f);
    } catch {
      // Gone already, or never made.
    }
  }
  try {
    rmdirSync(dir);
  } catch {
    // Left in the temp folder: the system clears it.
  }
}
