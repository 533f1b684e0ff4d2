import { closeSync, mkdtempSync, openSync, readFileSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { childProcess } from '../child-process.js';
import { git, gitEnv, gitFailed, gitMissing, LOCAL_GIT_MS, SAFE_CONFIG, type GitOptions, type GitRun } from './git.js';

/** The most output kept, as git() keeps by default (`maxBuffer`): more is an error there too. */
const QUICK_MAX = 64 * 1024 * 1024;

/**
 * A short local git command (the look at a checkout a dispatch takes), run as git() runs it but with its output
 * written to two files in a private temp folder (0700, the files 0600) rather than read through pipes: Node reads a
 * pipe through a net.Socket, and the first such child of a process cost ~1 ms more to start, every later one ~0.2 ms
 * more, and the readings' events more again (four commands at once: ~5-6 ms against ~9-10 ms in a script alone;
 * issue 14, docs/PERFORMANCE.md "A dispatch from a checkout: output to files").
 *
 * The same answers as git(), and the same errors, but:
 * - a failure git explains nowhere says its exit code, or the signal that ended git, rather than Node's "Command
 *   failed";
 * - the output is read once git has ended (its 'exit'): what a process git left behind writes later is not in it (the
 *   look's commands start none: no pager writes to a file), and the size bound is checked then, not as it is
 *   written;
 * - a process killed from outside while git runs leaves its folder in the temp folder, which the system clears.
 *
 * Where the folder cannot be made, or the output cannot be read back, git() runs it.
 */
export async function gitQuick(args: string[], o: Pick<GitOptions, 'cwd' | 'okCodes' | 'timeoutMs' | 'maxBuffer'> & { what?: string; fix?: string } = {}): Promise<GitRun> {
  let dir: string;
  try {
    dir = mkdtempSync(join(process.env['TMPDIR'] || '/tmp', 'gitbus-git-'));
  } catch {
    return git(args, o);
  }
  const files = [join(dir, 'out'), join(dir, 'err')] as const;
  let fds: number[] = [];
  try {
    fds = files.map((f) => openSync(f, 'wx', 0o600));
  } catch {
    for (const fd of fds) closeSync(fd);
    removeAll(dir, files);
    return git(args, o);
  }
  const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean; error?: NodeJS.ErrnoException }>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    let settled = false;
    const end = (code: number | null, signal: NodeJS.Signals | null, error?: NodeJS.ErrnoException): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      resolve({ code, signal, timedOut, ...(error ? { error } : {}) });
    };
    try {
      const child = childProcess().spawn('git', [...SAFE_CONFIG, ...args], { cwd: o.cwd, env: gitEnv(), stdio: ['ignore', fds[0] as number, fds[1] as number] });
      child.once('error', (e: NodeJS.ErrnoException) => end(null, null, e));
      // 'exit', not 'close': there is no pipe to drain, the files hold all git wrote once it has ended.
      child.once('exit', (code, signal) => end(code, signal));
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, o.timeoutMs ?? LOCAL_GIT_MS);
    } catch (e) {
      end(null, null, e as NodeJS.ErrnoException);
    } finally {
      // The child has its own copies of the descriptors.
      for (const fd of fds) closeSync(fd);
    }
  });
  const max = o.maxBuffer ?? QUICK_MAX;
  const stdout = readOutput(files[0], max);
  const stderr = readOutput(files[1], max);
  removeAll(dir, files);
  const { code, signal, timedOut, error } = ended;
  if (error?.code === 'ENOENT') throw gitMissing(args, o);
  // An output that could not be read back (no descriptor left, the folder removed under it) is no answer: ask again.
  if (stdout === undefined || stderr === undefined) return git(args, o);
  if (stdout === null || stderr === null) throw gitFailed(args, 'its output was larger than gitbus reads', null, o);
  if (code !== null && (code === 0 || o.okCodes?.includes(code))) return { stdout, stderr, code };
  const why = timedOut ? 'it did not finish in time and was stopped' : signal !== null ? `it was killed by ${signal}` : (error?.message ?? '');
  throw gitFailed(args, stderr || why, code, o);
}

/** A file's text; null when it is larger than `max` bytes, undefined when it cannot be read. */
function readOutput(file: string, max: number): string | null | undefined {
  try {
    return statSync(file).size > max ? null : readFileSync(file, 'utf8');
  } catch {
    return undefined;
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
