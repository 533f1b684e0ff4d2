import { GitbusError } from '../schemas/errors.js';
import { reportError, writeErr } from './output.js';
import type { CommandEntry } from './command-table.js';
import { loadCommand } from './command-load.js';
import { hoistGlobalOptions, invokedCommand } from './invoked-command.js';
import { parsePlainLine, readPlainLine, recordCommand } from './plain-line.js';

// Only the module of the command being run is imported (docs/ARCHITECTURE.md "How the CLI starts"): a command
// starts without compiling the layers it does not use, and --version or --help without any of them. In the
// CommonJS bundle (cli/main-cjs.ts) the same import() runs the command's modules, already in the one file.
async function run(entry: CommandEntry | undefined): Promise<void> {
  // A plain line (the command's name, its arguments and long options) is read without commander, which is then not
  // even initialised (cli/plain-line.ts); every other line, and a command it cannot follow, is commander's.
  if (entry?.plain === true && process.argv[2] === entry.name) {
    const command = recordCommand((await loadCommand(entry)).register, entry.name);
    const line = command ? readPlainLine(command, process.argv.slice(3)) : null;
    if (line) {
      lineReader = 'plain';
      try {
        const args = parsePlainLine(line);
        actionRan = true;
        await line.command.action(...args);
      } catch (err) {
        // A flag parser (cli/flags.ts) refused a value, or the action threw one: reported as when commander reads the line.
        if (!(err instanceof GitbusError)) throw err;
        process.exitCode = reportError(err, process.argv.includes('--json'));
      }
      return;
    }
  }
  lineReader = 'commander';
  const { runWithCommander } = await import('./commander-line.js');
  await runWithCommander(entry, {
    onAction: () => {
      actionRan = true;
    },
    run,
  });
}

/** Who read the command line: the code cache's report says it (cli/code-cache.ts), for the tests. */
let lineReader: 'plain' | 'commander' | undefined;

export function commandLine(): 'plain' | 'commander' | undefined {
  return lineReader;
}

let actionRan = false;

/**
 * True once a command's action started. A run that printed help (`gitbus status --help`, `gitbus help status`) ran
 * none, and compiled commander and little of the command: the loader writes no code cache from it (cli/code-cache.ts).
 */
export function commandRan(): boolean {
  return actionRan;
}

/** Exit code of a run whose command neither finished nor failed: Node's own for an unsettled top-level await. */
const UNSETTLED = 13;

/** Runs the command that process.argv names: the whole CLI, for both entries (main.ts, main-cjs.ts). */
export function start(): Promise<void> {
  // A reader that stops early (`gitbus logs | head -1`) ends the command quietly: cli/std-write.ts, through which
  // every command writes (no stream is made here: making standard output's costs a command ~3 ms on a pipe).
  let settled = false;
  // Both entries run the CLI without a top-level await that Node would watch (the loader imports gitbus.mjs, and
  // CommonJS has none): a command whose promise can no longer settle (nothing left to wait for) would exit 0 as
  // if it had succeeded. 'beforeExit' comes only when the event loop ran empty, never after process.exit().
  process.once('beforeExit', () => {
    if (settled) return;
    writeErr('gitbus: the command stopped before it finished (nothing was left for it to wait for); this is a bug in gitbus\n');
    process.exitCode = UNSETTLED;
  });
  return runArgv().finally(() => {
    settled = true;
  });
}

/**
 * The command process.argv names, without the hooks start() sets on the process: for a process that runs more
 * than one command (the test suite runs most of its commands in its own process, test/helpers/cli-in-process.ts).
 */
export function runArgv(): Promise<void> {
  // `gitbus --home DIR status` as `gitbus status --home DIR` (the loader did it already when it ran first).
  process.argv.splice(2, Infinity, ...hoistGlobalOptions(process.argv.slice(2)));
  return run(invokedCommand(process.argv.slice(2)));
}
