import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { claudeBinary, claudeInvocation, claudePrompt } from './claude-args.js';
import { ClaudeStream, claudeReport, claudeVerdict } from './claude-result.js';
import { readableClaudeLog } from './claude-format.js';
import { runInteractive } from './claude-interactive.js';
import { readTail } from './output-tail.js';
import { keepLog, logCapOf } from './log-keeper.js';
import { taskEnv, type RunOutcome, type RunRequest, type Runner, timeoutReason } from './runner.js';
import { endGroup, failedToStart, stopOnTimeoutOrAbort } from './process-group.js';

/**
 * Claude Code headless: `claude -p` with the handoff's body on standard input, in its own process group (a timeout
 * or cancel stops it and every tool it started), with what the handoff asks narrowed to what the node grants
 * (`claude-args.ts`). Its stream-json output and its stderr go to the log as they come (through the watcher's keeper
 * of it, log-keeper.ts, which holds it to the node's cap), so `gitbus logs` and the heartbeat show progress; the final
 * result line gives the response its result text, session, cost and turns.
 * The run ends when claude exits: what it left running (a tool's background process) is stopped with its group.
 */
export const claudeRunner: Runner = {
  async run(req: RunRequest, abort: AbortSignal): Promise<RunOutcome> {
    const started = new Date();
    const node = req.node?.node ?? 'this node';
    const grants = req.node?.claude ?? {};
    const invocation = claudeInvocation(req.handoff.claude ?? {}, grants, req.session?.id, req.spend);
    if ('refusal' in invocation) return failedToStart(started, invocation.refusal);
    const binary = claudeBinary(grants);
    if (req.handoff.claude?.interactive) return runInteractive(req, abort, binary, invocation);

    mkdirSync(dirname(req.logPath), { recursive: true });
    const log = openSync(req.logPath, 'a');
    const note = (line: string) => writeSync(log, `gitbus: ${line}\n`);
    try {
      note(`${binary} ${invocation.argv.map(quote).join(' ')} < prompt`);
      for (const n of invocation.notes) note(n);
    } finally {
      closeSync(log);
    }
    // The rest of the log through its keeper (log-keeper.ts): claude's stream and its stderr, at most the node's cap.
    const keeper = keepLog(req.logPath, logCapOf(req.node));

    let child;
    try {
      child = spawn(binary, invocation.argv, {
        cwd: req.cwd,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
        env: taskEnv(req),
      });
    } catch (err) {
      await keeper.finish(0);
      return failedToStart(started, cannotStart(binary, err as NodeJS.ErrnoException, node));
    }
    if (child.pid !== undefined) req.onStart?.(child.pid);

    const stream = new ClaudeStream();
    // stdio is ['pipe', 'pipe', 'pipe'], so all three pipes exist.
    const stdout = child.stdout as Readable;
    const stdin = child.stdin as Writable;
    // The log takes the bytes; the stream is read as text, a character split between two reads made whole.
    const text = new StringDecoder('utf8');
    keeper.follow(stdout, (chunk) => stream.push(text.write(chunk)));
    keeper.follow(child.stderr as Readable);
    // A claude that exits before reading its prompt closes the pipe; its exit says why.
    stdin.on('error', () => {});
    stdin.end(claudePrompt(req.handoff.title, req.body));

    const stopper = stopOnTimeoutOrAbort(child, req.timeoutMs, abort);
    // The exit, not the end of stdout: a tool claude started (a `sleep 600 &` in a Bash call) may hold stdout
    // open long after claude is gone, and the run is over when claude is.
    const result = await new Promise<{ code: number | null; error?: NodeJS.ErrnoException }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, error }));
      child.once('exit', (code) => resolve({ code }));
    });
    // What claude wrote just before it exited may still be in the pipe: read until stdout ends, for a moment at most.
    if (!stdout.readableEnded) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, STDOUT_DRAIN_MS);
        stdout.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    stdout.destroy();
    stopper.dispose();
    endGroup(child.pid);
    stream.push(text.end());
    stream.end();
    const loss = await keeper.finish();
    const finished = new Date();
    const rawTail = await readTail(req.logPath);
    // The response shows the run as a person reads it; the raw stream stays in the log on this node.
    const outputTail = readableClaudeLog(await readTail(req.logPath, READABLE_WINDOW));
    const base = { exitCode: result.code, started, finished, outputTail, ...(loss ? { logLoss: loss } : {}) };
    if (result.error) return { status: 'failed', ...base, exitCode: null, reason: cannotStart(binary, result.error, node) };
    const claude = claudeReport(stream);
    const report = Object.keys(claude).length > 0 ? { claude } : {};
    if (stopper.reason()) {
      const retrying = stream.retry ? `; claude was still retrying the API (attempt ${stream.retry.attempt ?? '?'} of ${stream.retry.max_retries ?? '?'}, error ${stream.retry.error ?? 'unknown'}): check that node ${node} reaches it` : '';
      const resume = claude.sessionId ? `; resume it with claude.resume: ${claude.sessionId}` : '';
      return stopper.reason() === 'timed-out'
        ? { status: 'timed-out', ...base, ...report, reason: `${timeoutReason(req)}${retrying}${resume}` }
        : { status: 'cancelled', ...base, ...report, reason: `stopped on request${resume}` };
    }
    const verdict = claudeVerdict(stream, result.code, node, rawTail);
    return {
      status: verdict.status,
      ...base,
      ...report,
      ...(verdict.resultText !== undefined ? { resultText: verdict.resultText } : {}),
      ...(verdict.reason !== undefined ? { reason: verdict.reason } : {}),
    };
  },
};

function cannotStart(binary: string, err: NodeJS.ErrnoException, node: string): string {
  const why = err.code === 'ENOENT' ? 'not found' : err.code === 'EACCES' ? 'not executable' : err.message;
  return (
    `the claude binary "${binary}" could not be started on node ${node} (${why}): install Claude Code there ` +
    '(npm install -g @anthropic-ai/claude-code) and log in once with `claude`, or set ANTHROPIC_API_KEY; ' +
    "point claude.binary in the node's node.yaml (or GITBUS_CLAUDE_BIN) at it if it is not on the watcher's PATH"
  );
}

/** After claude exits, how long what it wrote last may take to come through a pipe its leftovers still hold. */
const STDOUT_DRAIN_MS = 1_000;

/** How much of the log the readable output is made from: stream-json lines are long, the readable ones short. */
export const READABLE_WINDOW = 512 * 1024;

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

