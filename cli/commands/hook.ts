import { isatty } from 'node:tty';
import { Argument, type Command } from 'commander';
import { runHook } from '../../claude/hook.js';
import { HOOK_EVENTS, parseHookInput, type HookEvent } from '../../claude/hook-input.js';
import { waitForNews } from '../../claude/waiter.js';
import { resolveHome } from '../../bus/home.js';
import { tryParseDuration } from '../../schemas/duration.js';
import type { CommonOptions } from '../common.js';
import { withCommon } from '../common.js';
import { writeErr, writeOut } from '../output.js';
import { intFlag } from '../flags.js';

/** The most a hook reads from standard input: Claude Code's input is a few KiB, but holds the prompt; past this, parseHookInput reads it leniently. */
const MAX_INPUT = 1024 * 1024;
/** How long `wait` waits at most, unless GITBUS_CLAUDE_WAIT (a duration) says otherwise; hooks.json gives it 1h. */
const WAIT_MAX_MS = 55 * 60 * 1000;

/**
 * The hook's input, read through process.stdin: in a watcher's standby (cli/serve/) that stream is the client's
 * standard input relayed over the socket, so the hooks Claude Code runs at every prompt and stop are served. Only
 * the stream reads fd 0: a synchronous read after process.stdin was made threw EAGAIN, since the stream makes the
 * pipe non-blocking, whenever Claude Code wrote the input a moment after starting the hook.
 */
function readInput(): Promise<string> {
  // isatty first: a terminal's stream is not made at all. A standby's own fd 0 is /dev/null, and its process.stdin
  // (the relayed one, already made) says whether the client's is a terminal.
  if (isatty(0) || process.stdin.isTTY) return Promise.resolve('');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => resolve(Buffer.concat(chunks).subarray(0, MAX_INPUT).toString('utf8'));
    process.stdin.on('data', (d: Buffer) => {
      // Read to the end (the writer is not cut off), keeping the first MAX_INPUT bytes.
      if (size < MAX_INPUT) chunks.push(d);
      size += d.length;
    });
    process.stdin.once('end', done);
    process.stdin.once('error', done);
  });
}

export function register(program: Command): void {
  const hook = program.command('hook').description("hooks of other tools that call gitbus: \"gitbus hook claude EVENT\" is run by the Claude Code plugin's hooks");
  withCommon(
    hook
      .command('claude')
      .description('run one Claude Code hook of the gitbus plugin: reads the hook input (JSON) on stdin, prints the hook output (JSON) on stdout')
      .addArgument(new Argument('<event>', 'the hook: session-start, user-prompt-submit, stop, or wait (the Stop hook that runs in the background and wakes the session when a task ends)').choices(HOOK_EVENTS))
      .option('--wake-exit <code>', 'wait: exit with this code instead of 2 when a task ended (the plugin\'s hook line maps it to 2, so that a usage error of a gitbus too old to know "wait" wakes nobody)', intFlag('--wake-exit', 3, 125))
      .addHelpText(
        'after',
        '\nThe session\'s tasks are the ones gitbus commands recorded under its id (CLAUDE_CODE_SESSION_ID) in\n' +
          '<home>/claude/sessions/. The hooks read only this node\'s clone; "wait" also lists the remote once per poll\n' +
          'interval when no watcher runs for this home. Exit codes follow Claude Code\'s hooks: 0 (with or without\n' +
          'output), 2 from "wait" when a task ended (stderr goes to Claude; --wake-exit CODE instead), 1 for a failure\n' +
          '(shown, never blocking).',
      ),
  ).action(async (event: HookEvent, opts: CommonOptions & { wakeExit?: number }) => {
    // Any failure is exit 1 (Claude Code shows it and goes on); 2 would block the prompt or the stop.
    try {
      const home = resolveHome(opts.home);
      const input = parseHookInput(await readInput());
      const pid = Number(process.env['CLAUDE_PID']);
      const r =
        event === 'wait'
          ? await waitForNews(input, home, { attended: process.env['CLAUDE_CODE_SESSION_ATTENDED'] !== '0', maxMs: tryParseDuration(process.env['GITBUS_CLAUDE_WAIT'] ?? '') ?? WAIT_MAX_MS, ...(Number.isSafeInteger(pid) && pid > 0 ? { claudePid: pid } : {}) })
          : await runHook(event, input, home);
      // With nothing to say a hook prints nothing (Claude Code's contract); a script that asked for --json gets a
      // document all the same: {}, which Claude Code reads as nothing to say too.
      if (r.output) writeOut(`${JSON.stringify(r.output)}\n`);
      else if (opts.json) writeOut('{}\n');
      if (r.stderr) writeErr(`${r.stderr}\n`);
      process.exitCode = r.exitCode === 2 && event === 'wait' && opts.wakeExit !== undefined ? opts.wakeExit : r.exitCode;
    } catch (err) {
      writeErr(`gitbus hook claude ${event}: ${(err as Error).message.split('\n')[0] ?? ''}\n`);
      process.exitCode = 1;
    }
  });
}
