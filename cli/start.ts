import { CommanderError } from 'commander';
import { GitbusError } from '../schemas/errors.js';
import { EXIT } from './exit-codes.js';
import { reportError } from './output.js';
import type { CommandEntry } from './command-table.js';
import { invokedCommand } from './invoked-command.js';
import { newProgram, registerCommand, registerStubs } from './program.js';

// Only the module of the command being run is imported (docs/ARCHITECTURE.md "How the CLI starts"): a command
// starts without compiling the layers it does not use, and --version or --help without any of them. In the
// CommonJS bundle (cli/main-cjs.ts) the same import() runs the command's modules, already in the one file.
async function run(entry: CommandEntry | undefined): Promise<void> {
  const program = newProgram();
  if (entry) await registerCommand(program, entry);
  else registerStubs(program, run);
  for (const cmd of program.commands) cmd.exitOverride();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0 through here; everything else commander rejects is a usage error.
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      // commander printed its message on stderr; a script asking for --json gets the same error as a document.
      if (err.exitCode !== 0 && process.argv.includes('--json')) {
        const error = { code: 'BAD_INPUT', message: err.message.replace(/^error: /, ''), fix: 'see the accepted options and values with --help', data: { commander: err.code } };
        process.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`);
      }
    } else if (err instanceof GitbusError) {
      // A flag parser (cli/flags.ts) refused a value while commander read the command line, before any action ran.
      process.exitCode = reportError(err, process.argv.includes('--json'));
    } else {
      throw err;
    }
  }
}

/** Runs the command that process.argv names: the whole CLI, for both entries (main.ts, main-cjs.ts). */
export function start(): Promise<void> {
  return run(invokedCommand(process.argv.slice(2)));
}
