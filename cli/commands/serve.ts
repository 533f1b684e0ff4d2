import type { Command } from 'commander';
import { loadNodeConfig } from '../../bus/home.js';
import { run, withCommon, type CommonOptions } from '../common.js';
import { durationFlag, durationMs } from '../flags.js';
import { span } from '../format.js';
import { EXIT } from '../exit.js';
import { writeOut } from '../output.js';
import { serveUntilIdle, type StandaloneEvent } from '../serve/standalone.js';

interface Opts extends CommonOptions {
  idle?: string;
  auto?: boolean;
}

/** How long a server waits for the next command before it ends, unless --idle says otherwise. */
export const DEFAULT_IDLE = '10m';

function line(e: StandaloneEvent, idle: string): string | null {
  switch (e.type) {
    case 'serving':
      return `serving short commands on ${e.socket}; stops after ${idle} without one, or when a watcher starts`;
    case 'serve-off':
      return `not serving commands: ${e.reason}${e.fix ? `\n  fix: ${e.fix}` : ''}`;
    case 'standbys':
      return null;
    case 'stopped':
      return `stopped: ${STOPPED[e.reason]}`;
  }
}

const STOPPED: Record<Extract<StandaloneEvent, { type: 'stopped' }>['reason'], string> = {
  idle: 'no command came for the idle time',
  watcher: "this home's watcher started; it serves the commands now",
  'no-serve': "this home's watcher started with --no-serve: its commands run in their own process",
  gone: 'the socket was removed (the home moved or was deleted)',
  signal: 'asked to stop',
  off: 'serving could not start (above)',
};

export function register(program: Command): void {
  withCommon(
    program
      .command('serve')
      .description("serve this home's short commands (status, dispatch, show, Claude Code's hooks, ...) from a warmed-up standby process while no watcher runs, until none came for a while")
      .option('--idle <duration>', `stop after this long without a command (default ${DEFAULT_IDLE})`, durationFlag('--idle', { positive: true }))
      .option('--auto', 'as gitbus starts it by itself: print nothing, and exit 0 when the home is served already or is not a bus home')
      .addHelpText(
        'after',
        '\nA running watcher serves these commands itself (gitbus watch --no-serve turns that off), and stops this\n' +
          'server when it starts. A command is served only where it cannot start from its code cache (a cache folder\n' +
          'that cannot be made, is open to others, or is read-only without its cache, as in a sandbox; or\n' +
          'GITBUS_CODE_CACHE=0): from its cache its own process ends sooner.\n' +
          'GITBUS_SERVE=1 serves them all the same, GITBUS_SERVE=0 none. Without a watcher, gitbus starts\n' +
          '"gitbus serve --auto" in the background by itself when a second command it would serve comes within 10\n' +
          'minutes of the one before (an agent, a script, Claude Code\'s hooks); GITBUS_SERVE_AUTO=0 turns that off.\n' +
          'Commands typed in a terminal are served too (a prompt, Ctrl-C and a closed window act as in their own\n' +
          'process). --json prints one JSON event per line.',
      ),
  ).action(async (opts: Opts) => {
    const idle = opts.idle ?? DEFAULT_IDLE;
    const idleMs = durationMs(idle) as number;
    const quiet = Boolean(opts.auto);
    await run(quiet ? { ...opts, json: false } : opts, async (home) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      try {
        // A home with no node in it serves nothing: its commands fail before they would be served.
        await loadNodeConfig(home);
        const { reason, exitNow } = await serveUntilIdle(home, {
          idleMs,
          stop: stop.signal,
          onEvent: (e) => {
            if (quiet) return;
            const text = opts.json ? JSON.stringify(e) : line(e, span(idleMs));
            if (text !== null) writeOut(`${text}\n`);
          },
        });
        // Said above (the serve-off event, with its fix): this machine's socket could not be made.
        if (reason === 'off' && !quiet) process.exitCode = EXIT.local;
        // The socket's path is another's now: ending without closing ours leaves it in place (Serving.close).
        if (exitNow) process.exit(process.exitCode ?? 0);
      } catch (err) {
        // Started by gitbus itself: not needed, or not a bus, is nothing to report, and nobody reads it.
        if (!quiet) throw err;
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });
  });
}
