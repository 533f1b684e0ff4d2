import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { readTail } from './output-tail.js';
import { taskEnv, type RunOutcome, type RunRequest, type Runner, timeoutReason } from './runner.js';
import { endGroup, failedToStart, stopOnTimeoutOrAbort } from './process-group.js';


/**
 * `sh -c <command>` in its own process group, so that a timeout or cancel stops everything the command started;
 * stdout and stderr go straight to the log file, which `gitbus logs` and the response's output tail read.
 */
export const shellRunner: Runner = {
  async run(req: RunRequest, abort: AbortSignal): Promise<RunOutcome> {
    if (!req.handoff.command) return failedToStart(new Date(), 'the handoff has no command');
    return runShellCommand(req, req.handoff.command, taskEnv(req), abort);
  },
};

/**
 * `sh -c <command>` with `env`, in its own process group, output appended to the log, stopped on timeout or
 * abort, and the group ended when the command exits (what it left running in the background goes with it): the
 * run every command runner shares (the icecc runner adds only its environment and its counts).
 */
export async function runShellCommand(req: RunRequest, command: string, env: NodeJS.ProcessEnv, abort: AbortSignal): Promise<RunOutcome> {
  const started = new Date();
  mkdirSync(dirname(req.logPath), { recursive: true });
  const log = openSync(req.logPath, 'a');
  let child;
  try {
    child = spawn('sh', ['-c', command], { cwd: req.cwd, detached: true, stdio: ['ignore', log, log], env });
  } catch (err) {
    closeSync(log);
    return failedToStart(started, `could not start sh: ${(err as Error).message}`);
  }
  closeSync(log);
  if (child.pid !== undefined) req.onStart?.(child.pid);
  const stopper = stopOnTimeoutOrAbort(child, req.timeoutMs, abort);
  const result = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  stopper.dispose();
  endGroup(child.pid);
  const finished = new Date();
  const outputTail = await readTail(req.logPath);
  if (result.error) return { status: 'failed', exitCode: null, started, finished, outputTail, reason: `could not start sh: ${result.error.message}` };
  if (stopper.reason() === 'timed-out') return { status: 'timed-out', exitCode: result.code, started, finished, outputTail, reason: timeoutReason(req) };
  if (stopper.reason() === 'cancelled') return { status: 'cancelled', exitCode: result.code, started, finished, outputTail, reason: 'stopped on request' };
  return result.code === 0
    ? { status: 'succeeded', exitCode: 0, started, finished, outputTail }
    : { status: 'failed', exitCode: result.code, started, finished, outputTail, reason: withFullDisk(result.code === null ? 'killed by a signal' : `exit code ${result.code}`, dirname(req.logPath)) };
}

/** Less free than this on the log's file system, and a failed run's reason says the disk may be why. */
const NEARLY_FULL_BYTES = 1024 * 1024;

/**
 * A failed run's reason, with the disk named when the log's file system is (nearly) full: the command's output goes
 * straight to the log, so a write that failed there failed in the command (`head` exits 1 on ENOSPC), and its
 * reason read only "exit code 1".
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
