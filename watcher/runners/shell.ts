import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { readTail } from './output-tail.js';
import type { RunOutcome, RunRequest, Runner } from './runner.js';

/** After SIGTERM, how long a task's processes get to exit before SIGKILL. */
export const KILL_GRACE_MS = 5_000;

/**
 * `sh -c <command>` in its own process group, so that a timeout or cancel stops everything the command started;
 * stdout and stderr go straight to the log file, which `gitbus logs` and the response's output tail read.
 */
export const shellRunner: Runner = {
  async run(req: RunRequest, abort: AbortSignal): Promise<RunOutcome> {
    const started = new Date();
    const command = req.handoff.command;
    if (!command) return failedToStart(started, 'the handoff has no command');
    mkdirSync(dirname(req.logPath), { recursive: true });
    const log = openSync(req.logPath, 'a');
    let child;
    try {
      child = spawn('sh', ['-c', command], {
        cwd: req.cwd,
        detached: true,
        stdio: ['ignore', log, log],
        env: { ...process.env, GITBUS_TASK_ID: req.id, GITBUS_ATTEMPT: String(req.attempt) },
      });
    } catch (err) {
      closeSync(log);
      return failedToStart(started, `could not start sh: ${(err as Error).message}`);
    }
    closeSync(log);
    if (child.pid !== undefined) req.onStart?.(child.pid);
    let ended: 'timed-out' | 'cancelled' | null = null;
    const stop = (why: 'timed-out' | 'cancelled') => {
      if (ended || child.exitCode !== null || child.pid === undefined) return;
      ended = why;
      killGroup(child.pid, 'SIGTERM');
      setTimeout(() => child.pid !== undefined && killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS).unref();
    };
    const timer = req.timeoutMs ? setTimeout(() => stop('timed-out'), req.timeoutMs) : undefined;
    const onAbort = () => stop('cancelled');
    abort.addEventListener('abort', onAbort, { once: true });
    if (abort.aborted) onAbort();
    const result = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, error }));
      child.once('close', (code) => resolve({ code }));
    });
    if (timer) clearTimeout(timer);
    abort.removeEventListener('abort', onAbort);
    const finished = new Date();
    const outputTail = await readTail(req.logPath);
    if (result.error) return { status: 'failed', exitCode: null, started, finished, outputTail, reason: `could not start sh: ${result.error.message}` };
    if (ended === 'timed-out') return { status: 'timed-out', exitCode: result.code, started, finished, outputTail, reason: `stopped after the timeout of ${req.handoff.timeout}` };
    if (ended === 'cancelled') return { status: 'cancelled', exitCode: result.code, started, finished, outputTail, reason: 'stopped on request' };
    return result.code === 0
      ? { status: 'succeeded', exitCode: 0, started, finished, outputTail }
      : { status: 'failed', exitCode: result.code, started, finished, outputTail, reason: result.code === null ? 'killed by a signal' : `exit code ${result.code}` };
  },
};

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

function failedToStart(started: Date, reason: string): RunOutcome {
  return { status: 'failed', exitCode: null, started, finished: new Date(), outputTail: '', reason };
}
