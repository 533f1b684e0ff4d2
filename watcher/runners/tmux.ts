import { timeoutReason } from './runner.js';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readTail } from './output-tail.js';
import { keeperArgv, logCapOf, pipeKeeperScript, readKept } from './log-keeper.js';
import type { RunOutcome, RunRequest, Runner } from './runner.js';
import { endGroup, failedToStart, killGroup, termThenKill } from './process-group.js';
import { exactSession, formatLiteral, shellQuote, tmux, waitFor } from './tmux-client.js';
import { setLongTimeout } from '../../bus/long-timeout.js';

/** The fallback when no signal comes: a session killed from outside, or a wrapper that could not reach tmux. */
const POLL_MS = 1_000;
/** After the command ended, how long tmux and the log keeper get to hand over the last output. */
const FLUSH_MS = 5_000;

/** What a person types after `tmux attach -t` to watch a task. Task ids are `[a-z0-9_-]`, safe in a session name. */
export const sessionName = (id: string): string => `gitbus-${id}`;

/**
 * The command in a detached tmux session, so a person can attach on the node and watch (or answer a prompt).
 * Unlike the shell runner the command has a terminal, so it behaves as it would for a person; pipe-pane copies
 * what it writes to the log, through a keeper of it that pipe-pane runs (pipe-log-keeper.ts: at most the node's
 * cap, the end kept). A wrapper script records the exit status in a file: tmux itself only knows it while a dead
 * pane is kept.
 */
export const tmuxRunner: Runner = {
  async run(req: RunRequest, abort: AbortSignal): Promise<RunOutcome> {
    const started = new Date();
    const command = req.handoff.command;
    if (!command) return failedToStart(started, 'the handoff has no command');
    const keeper = pipeKeeperScript();
    if (!keeper) return failedToStart(started, "this gitbus lacks dist/watcher/runners/pipe-log-keeper.js, which writes a tmux task's output to its log: reinstall gitbus (or run npm run build in its checkout)");
    const name = sessionName(req.id);
    const keep = req.handoff.keep === true;
    const base = req.logPath.replace(/\.log$/, '');
    const files = { script: `${base}.tmux.sh`, exit: `${base}.exit`, piped: `${base}.piped` };
    const channel = `${name}-${req.attempt}`;
    mkdirSync(dirname(req.logPath), { recursive: true });
    for (const f of [files.exit, `${files.exit}.tmp`, files.piped, `${files.piped}.tmp`]) rmSync(f, { force: true });
    writeFileSync(files.script, wrapperScript(req, command, files.exit, channel));
    const removeFiles = () => [files.script, files.exit, `${files.exit}.tmp`, files.piped, `${files.piped}.tmp`].forEach((f) => rmSync(f, { force: true }));

    const created = await createSession(name, req, { ...files, keeper }, keep);
    if ('reason' in created) {
      removeFiles();
      return failedToStart(started, created.reason);
    }
    const panePid = created.panePid;
    req.onStart?.(panePid);

    let wakeUp = () => {};
    const waiter = waitFor(channel, () => wakeUp());
    let ended: 'timed-out' | 'cancelled' | null = null;
    let over = false;
    const stop = (why: 'timed-out' | 'cancelled') => {
      // An exit the wrapper already recorded stands: the command ended by itself before the timeout or the cancel.
      if (ended || over || readExit(files.exit) !== null) return;
      ended = why;
      // The pane's process is a session leader, so its group holds everything the command started.
      termThenKill(panePid);
    };
    const timer = req.timeoutMs ? setLongTimeout(() => stop('timed-out'), req.timeoutMs) : undefined;
    const onAbort = () => stop('cancelled');
    abort.addEventListener('abort', onAbort, { once: true });
    if (abort.aborted) onAbort();

    let exitCode: number | null;
    for (;;) {
      const pane = await paneState(name);
      // Read after the pane's state: a status written just before the pane died is still seen. A dead pane (kept)
      // or no session (killed from outside, or the server went) without one will never write it.
      exitCode = readExit(files.exit);
      if (exitCode !== null || pane === 'dead' || pane === 'gone') break;
      // Installed synchronously after the read, so a wake-up from the wrapper cannot fall in between.
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, POLL_MS);
        wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    over = true;
    // Gone without a status: whatever the command left in its group must not outlive its session. With one, the
    // run is over as for the shell runner: what it left in the background goes too (nohup'd, it outlives the hangup).
    if (exitCode === null) killGroup(panePid, 'SIGKILL');
    else endGroup(panePid);
    timer?.clear();
    abort.removeEventListener('abort', onAbort);
    waiter.kill();

    // tmux lets a pane die only once its output is in the pipe; after that only the keeper may still be writing.
    // A kept session's pipe stays open while the session does: closed once the pane is dead (it prints no more),
    // so that the keeper reaches the end of its pipe and writes the output's end to the log.
    if (keep && (await until(async () => ['dead', 'gone'].includes(await paneState(name)), FLUSH_MS))) await tmux(['pipe-pane', '-t', `${exactSession(name)}:`]);
    else if (!keep && !(await until(async () => (await paneState(name)) === 'gone', FLUSH_MS))) await tmux(['kill-session', '-t', exactSession(name)]);
    await until(async () => existsSync(files.piped), FLUSH_MS);
    const loss = readKept(files.piped);
    const finished = new Date();
    // The wrapper sees `sh -c` killed by signal n as status 128+n; the shell runner sees the signal itself, and
    // reports no exit code: the same here, so that a task's response does not depend on its runner.
    const bySignal = exitCode !== null && exitCode > 128 && exitCode <= 128 + 64;
    const code = bySignal ? null : exitCode;
    // The pane's terminal turns \n into \r\n; the response is read as text, not replayed on a terminal.
    const outputTail = (await readTail(req.logPath)).replace(/\r\n/g, '\n');
    removeFiles();
    const kept = loss ? { logLoss: loss } : {};
    if (ended === 'timed-out') return { status: 'timed-out', exitCode: code, started, finished, outputTail, ...kept, reason: timeoutReason(req) };
    if (ended === 'cancelled') return { status: 'cancelled', exitCode: code, started, finished, outputTail, ...kept, reason: 'stopped on request' };
    if (exitCode === null) return { status: 'failed', exitCode, started, finished, outputTail, ...kept, reason: `tmux session ${name} ended before the command did (killed from outside?)` };
    if (bySignal) return { status: 'failed', exitCode: null, started, finished, outputTail, ...kept, reason: 'killed by a signal' };
    return exitCode === 0
      ? { status: 'succeeded', exitCode, started, finished, outputTail, ...kept }
      : { status: 'failed', exitCode, started, finished, outputTail, ...kept, reason: `exit code ${exitCode}` };
  },
};

/** Runs in the pane: the command under `sh -c` like the shell runner, then its exit status, then a wake-up for the watcher. */
function wrapperScript(req: RunRequest, command: string, exitPath: string, channel: string): string {
  const tmp = `${exitPath}.tmp`;
  return [
    `# gitbus task ${req.id}, attempt ${req.attempt}`,
    // Outlive Ctrl-C in the pane and a cancel long enough to record the command's status. A handler, not '': an
    // ignored signal stays ignored in the command. Not HUP: when the session is killed this script must die, so
    // the terminal's hangup reaches the command too.
    'trap : INT TERM',
    // In the script rather than `new-session -e`, which older tmux lacks.
    `export GITBUS_TASK_ID=${shellQuote(req.id)} GITBUS_ATTEMPT=${req.attempt}${Object.entries(req.env ?? {}).map(([k, v]) => ` ${k}=${shellQuote(v)}`).join('')}`,
    `sh -c ${shellQuote(command)}`,
    // Renamed into place so the watcher never reads half a number.
    `echo $? > ${shellQuote(tmp)} && mv -f ${shellQuote(tmp)} ${shellQuote(exitPath)}`,
    `tmux wait-for -S ${shellQuote(channel)} 2>/dev/null`,
    '',
  ].join('\n');
}

async function createSession(name: string, req: RunRequest, files: { script: string; piped: string; keeper: string }, keep: boolean): Promise<{ panePid: number } | { reason: string }> {
  const target = `${exactSession(name)}:`;
  // The output goes to the log through its keeper (pipe-log-keeper.ts: at most the node's cap, the end kept), which
  // writes its status to the `piped` file once its pipe ends: what the runner waits for, and how it learns the counts.
  const pipe = `exec ${keeperArgv(files.keeper, req.logPath, logCapOf(req.node), files.piped).map(shellQuote).join(' ')}`;
  const args = [
    'new-session', '-d', '-P', '-F', '#{pane_pid}', '-s', name, '-c', formatLiteral(req.cwd), 'sh', files.script,
    // One tmux command: the server runs the chain before it reads any of the pane's output, so none is missed.
    ';', 'pipe-pane', '-o', '-t', target, formatLiteral(pipe),
    ...(keep ? [';', 'set-option', '-w', '-t', target, 'remain-on-exit', 'on'] : []),
  ];
  let r = await tmux(args);
  if (r.missing) return { reason: 'tmux is not installed on this node (or not on the watcher\'s PATH): install tmux, or dispatch the task with --runner shell' };
  if (!r.ok && r.stderr.includes('duplicate session')) {
    // Left by an earlier attempt on this node (kept, or its watcher died): this attempt owns the name now.
    await tmux(['kill-session', '-t', exactSession(name)]);
    r = await tmux(args);
  }
  const panePid = Number.parseInt(r.stdout.trim(), 10);
  if (!r.ok || !Number.isInteger(panePid)) {
    if (!r.stderr.includes('duplicate session')) await tmux(['kill-session', '-t', exactSession(name)]);
    return { reason: `tmux could not start session ${name}: ${r.stderr || 'it printed no pane pid'}` };
  }
  return { panePid };
}

/** `dead`: the command is over but the session is kept. `unknown`: tmux did not answer in time. */
async function paneState(name: string): Promise<'alive' | 'dead' | 'gone' | 'unknown'> {
  const r = await tmux(['display-message', '-p', '-t', `${exactSession(name)}:`, '#{pane_dead}']);
  if (r.timedOut) return 'unknown';
  if (!r.ok) return 'gone';
  return r.stdout.trim() === '1' ? 'dead' : 'alive';
}

async function until(check: () => Promise<boolean>, deadlineMs: number, everyMs = 50): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function readExit(path: string): number | null {
  try {
    const n = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(n) ? n : null;
  } catch {
    return null;
  }
}
