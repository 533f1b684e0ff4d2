import { CommanderError, type Command } from 'commander';
import { GitbusError } from '../schemas/errors.js';
import { EXIT } from './exit-codes.js';
import { reportError, writeErr, writeOut } from './output.js';
import type { CommandEntry } from './command-table.js';
import { newProgram, registerCommand, registerStubs } from './program.js';
import { usageErrorJson, usageHint, type RefusedLine } from './usage-error.js';

/**
 * A command line read by commander: every line that is not plain (cli/plain-line.ts) — help, --version, no command,
 * an unknown option, a usage error — and every line of a command whose registration the plain reader does not
 * follow. Loaded only then, so that a plain line does not even initialise commander (cli/start.ts).
 */
export async function runWithCommander(entry: CommandEntry | undefined, hooks: { onAction: () => void; run: (entry: CommandEntry) => Promise<void> }): Promise<void> {
  failedCommand = undefined;
  failedLine = undefined;
  const program = newProgram();
  program.hook('preAction', hooks.onAction);
  if (entry) await registerCommand(program, entry);
  else registerStubs(program, hooks.run);
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
        const error = usageErrorJson(err, failedCommand ?? 'gitbus', failedLine);
        writeOut(`${JSON.stringify({ error }, null, 2)}\n`);
      } else if (err.exitCode !== 0) {
        const hint = usageHint(err, failedCommand ?? 'gitbus', failedLine);
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
/** That command line, as the command read it: a hint may write it again, fixed (usage-error.ts usageHint). */
let failedLine: RefusedLine | undefined;

/** A command's usage errors, and its subcommands' (trust init, service install), point at its own --help. */
function onUsageError(cmd: Command, path: string): void {
  cmd.showHelpAfterError(`(run "${path} --help" for its options)`);
  // commander's error does not say which command refused the line; the command that raises it does.
  cmd.exitOverride((err) => {
    failedCommand = path;
    // The words after the command's name (the first of them that is its name: `--home DIR` may come before it).
    const args = process.argv.slice(2);
    const at = args.indexOf(cmd.name());
    failedLine = { argv: at >= 0 ? args.slice(at + 1) : [], operands: [...cmd.args] };
    throw err;
  });
  for (const sub of cmd.commands) onUsageError(sub, `${path} ${sub.name()}`);
}
