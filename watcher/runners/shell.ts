import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { mkdirSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { readTail } from './output-tail.js';
import { keepLog, logCapOf } from './log-keeper.js';
import { taskEnv, type RunOutcome, type RunRequest, type Runner, timeoutReason } from './runner.js';
import { endGroup, failedToStart, stopOnTimeoutOrAbort } from './process-group.js';


/**
 * `sh -c <command>` in its own process group, so that a timeout or cancel stops everything the command started;
 * stdout and stderr go to the log file through the watcher's keeper of it (log-keeper.ts), and `gitbus logs` and
 * the response's output tail read the file.
 */
export const shellRunner: Runner = {
  async run(req: RunRequest, abort: AbortSignal): Promise<RunOutcome> {
    if (!req.handoff.command) return failedToStart(new Date(), 'the handoff has no command');
    return runShellCommand(req, req.handoff.command, taskEnv(req), abort);
  },
};

/**
 * `sh -c <command>` with `env`, in its own process group, output to the log through the watcher's keeper of it
 * (log-keeper.ts: at most the node's cap, the end kept), stopped on timeout or abort, and the group ended when the
 * command exits (what it left running in the background goes with it): the run every command runner shares (the
 * icecc runner adds only its environment and its counts).
 *
 * stdout and stderr are one pipe, as they were one file before the cap, so that the log has them in the order the
 * command wrote them: Node makes a pipe of each, so the shell's own first words make its stderr its stdout, then
 * `exec` the command's `sh -c` (the same process: no process is started for it).
 */
export async function runShellCommand(req: RunRequest, command: string, env: NodeJS.ProcessEnv, abort: AbortSignal): Promise<RunOutcome> {
  const started = new Date();
  mkdirSync(dirname(req.logPath), { recursive: true });
  const keeper = keepLog(req.logPath, logCapOf(req.node));
  let child;
  try {
    child = spawn('sh', ['-c', ONE_PIPE, 'sh', command], { cwd: req.cwd, detached: true, stdio: ['ignore', 'pipe', 'ignore'], env });
  } catch (err) {
    await keeper.finish(0);
    return failedToStart(started, `could not start sh: ${(err as Error).message}`);
  }
  // stdio is ['ignore', 'pipe', 'ignore'], so stdout exists; the keeper reads it to its end when the task's
  // processes have all closed it.
  keeper.follow(child.stdout as Readable);
  if (child.pid !== undefined) req.onStart?.(child.pid);
  const stopper = stopOnTimeoutOrAbort(child, req.timeoutMs, abort);
  const result = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('exit', (code) => resolve({ code }));
  });
  stopper.dispose();
  endGroup(child.pid);
  const loss = await keeper.finish();
  const finished = new Date();
  const outputTail = await readTail(req.logPath);
  const kept = loss ? { logLoss: loss } : {};
  if (result.error) return { status: 'failed', exitCode: null, started, finished, outputTail, ...kept, reason: `could not start sh: ${result.error.message}` };
  if (stopper.reason() === 'timed-out') return { status: 'timed-out', exitCode: result.code, started, finished, outputTail, ...kept, reason: timeoutReason(req) };
  if (stopper.reason() === 'cancelled') return { status: 'cancelled', exitCode: result.code, started, finished, outputTail, ...kept, reason: 'stopped on request' };
  return result.code === 0
    ? { status: 'succeeded', exitCode: 0, started, finished, outputTail, ...kept }
    : { status: 'failed', exitCode: result.code, started, finished, outputTail, ...kept, reason: withFullDisk(result.code === null ? 'killed by a signal' : `exit code ${result.code}`, dirname(req.logPath)) };
}

/** The shell's stderr made its stdout, then the command (`$1`) run as `sh -c` would run it given alone. */
const ONE_PIPE = 'exec 2>&1; exec sh -c "$1"';

/** Less free than this on the log's file system, and a failed run's reason says the disk may be why. */
const NEARLY_FULL_BYTES = 1024 * 1024;

/**
 * A failed run's reason, with the disk named when the log's file system is (nearly) full: a command that writes
 * there (a build's output beside the logs, a `> file` of its own; `head` exits 1 on ENOSPC) fails with only "exit
 * code 1" to say. Its printed output is not what fails it: the log's keeper reads on past a full disk, and the
 * response's Log section counts what it could not write.
 */
function withFullDisk(reason: string, dir: string): string {
  try {
    const fsStats = statfsSync(dir);
    const free = fsStats.bavail * fsStats.bsize;
    if (free >= NEARLY_FULL_BYTES) return reason;
    return `${reason}; the disk holding ${dir} is full (${Math.floor(free / 1024)} KiB free), which may be why: its output could not all be written (free space there)`;
  } catch {
    return reason; // the failure is the run's to report, not this check's
  }
}
