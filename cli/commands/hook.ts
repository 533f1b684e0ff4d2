import { readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { Argument, type Command } from 'commander';
import { runHook } from '../../claude/hook.js';
import { HOOK_EVENTS, parseHookInput, type HookEvent } from '../../claude/hook-input.js';
import { waitForNews } from '../../claude/waiter.js';
import { resolveHome } from '../../bus/home.js';
import { tryParseDuration } from '../../schemas/duration.js';
import type { CommonOptions } from '../common.js';
import { withCommon } from '../common.js';
import { writeErr } from '../output.js';

/** The most a hook reads from standard input: Claude Code's input is a few KiB. */
const MAX_INPUT = 1024 * 1024;
/** How long `wait` waits at most, unless GITBUS_CLAUDE_WAIT (a duration) says otherwise; hooks.json gives it 1h. */
const WAIT_MAX_MS = 55 * 60 * 1000;

function readInput(): string {
  // isatty, not process.stdin.isTTY: making process.stdin turns fd 0 non-blocking, and readFileSync(0) then threw
  // EAGAIN whenever Claude Code wrote the hook's input a moment after starting it (the input was lost as '').
  if (isatty(0)) return '';
  try {
    return readFileSync(0).subarray(0, MAX_INPUT).toString('utf8');
  } catch {
    return '';
  }
}

export function register(program: Command): void {
  const hook = program.command('hook').description("hooks of other tools that call gitbus: \"gitbus hook claude EVENT\" is run by the Claude Code plugin's hooks");
  withCommon(
    hook
      .command('claude')
      .description('run one Claude Code hook of the gitbus plugin: reads the hook input (JSON) on stdin, prints the hook output (JSON) on stdout')
      .addArgument(new Argument('<event>', 'the hook: session-start, user-prompt-submit, stop, or wait (the Stop hook that runs in the background and wakes the session when a task ends)').choices(HOOK_EVENTS))
      .addHelpText(
        'after',
        '\nThe session\'s tasks are the ones gitbus commands recorded under its id (CLAUDE_CODE_SESSION_ID) in\n' +
          '<home>/claude/sessions/. The hooks read only this node\'s clone; "wait" also lists the remote once per poll\n' +
          'interval when no watcher runs for this home. Exit codes follow Claude Code\'s hooks: 0 (with or without\n' +
          'output), 2 from "wait" when a task ended (stderr goes to Claude), 1 for a failure (shown, never blocking).',
      ),
  ).action(async (event: HookEvent, opts: CommonOptions) => {
    // Any failure is exit 1 (Claude Code shows it and goes on); 2 would block the prompt or the stop.
    try {
      const home = resolveHome(opts.home);
      const input = parseHookInput(readInput());
      const pid = Number(process.env['CLAUDE_PID']);
      const r =
        event === 'wait'
          ? await waitForNews(input, home, { attended: process.env['CLAUDE_CODE_SESSION_ATTENDED'] !== '0', maxMs: tryParseDuration(process.env['GITBUS_CLAUDE_WAIT'] ?? '') ?? WAIT_MAX_MS, ...(Number.isSafeInteger(pid) && pid > 0 ? { claudePid: pid } : {}) })
          : await runHook(event, input, home);
      if (r.output) process.stdout.write(`${JSON.stringify(r.output)}\n`);
      if (r.stderr) writeErr(`${r.stderr}\n`);
      process.exitCode = r.exitCode;
    } catch (err) {
      writeErr(`gitbus hook claude ${event}: ${(err as Error).message.split('\n')[0] ?? ''}\n`);
      process.exitCode = 1;
    }
  });
}
