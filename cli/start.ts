import { CommanderError, type Command } from 'commander';
import { GitbusError } from '../schemas/errors.js';
import { EXIT } from './exit-codes.js';
import { reportError, writeErr, writeOut } from './output.js';
import type { CommandEntry } from './command-table.js';
import { hoistGlobalOptions, invokedCommand } from './invoked-command.js';
import { newProgram, registerCommand, registerStubs } from './program.js';
import { usageErrorJson, usageHint } from './usage-error.js';

// Only the module of the command being run is imported (docs/ARCHITECTURE.md "How the CLI starts"): a command
// starts without compiling the layers it does not use, and --version or --help without any of them. In the
// CommonJS bundle (cli/main-cjs.ts) the same import() runs the command's modules, already in the one file.
async function run(entry: CommandEntry | undefined): Promise<void> {
  failedCommand = undefined;
  const program = newProgram();
  program.hook('preAction', () => {
    actionRan = true;
  });
  if (entry) await registerCommand(program, entry);
  else registerStubs(program, run);
  // After a usage error, one line saying where the options are, not the whole help (as git and gh do).
  program.showHelpAfterError('(run "gitbus --help" for the commands)');
  for (const cmd of program.commands) onUsageError(cmd, `gitbus ${cmd.name()}`);
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0 through here; everything else commander rejects is a usage error.
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      // commander printed its message on stderr; a script asking for --json gets the same error as a document.
      if (err.exitCode !== 0 && process.argv.includes('--json')) {
        const error = usageErrorJson(err, failedCommand ?? 'gitbus');
        writeOut(`${JSON.stringify({ error }, null, 2)}\n`);
      } else if (err.exitCode !== 0) {
        const hint = usageHint(err, failedCommand ?? 'gitbus');
        if (hint !== undefined) writeErr(`${hint}\n`);
      }
    } else if (err instanceof GitbusError) {
      // A flag parser (cli/flags.ts) refused a value while commander read the command line, before any action ran.
      process.exitCode = reportError(err, process.argv.includes('--json'));
    } else {
      throw err;
    }
  }
}

/** The command whose command line commander refused (`gitbus trust add signer`): its error names its --help. */
let failedCommand: string | undefined;

/** A command's usage errors, and its subcommands' (trust init, service install), point at its own --help. */
function onUsageError(cmd: Command, path: string): void {
  cmd.showHelpAfterError(`(run "${path} --help" for its options)`);
  // commander's error does not say which command refused the line; the command that raises it does.
  cmd.exitOverride((err) => {
    failedCommand = path;
    throw err;
  });
  for (const sub of cmd.commands) onUsageError(sub, `${path} ${sub.name()}`);
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
