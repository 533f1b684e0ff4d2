import { Command, Help } from 'commander';
import { GITBUS_VERSION } from './version.js';
import { COMMANDS, type CommandEntry } from './command-table.js';
import { writeErr, writeOut } from './output.js';
import { loadCommand } from './command-load.js';

/** The top-level program, before any command is registered. */
export function newProgram(): Command {
  return (
    new Command('gitbus')
      .description('a message bus for a fleet of machines, on one shared git repository')
      .version(GITBUS_VERSION)
      .showHelpAfterError()
      .exitOverride()
      // Help, the version and usage errors as every command's output (cli/std-write.ts): commander's own writes go
      // through process.stdout's stream. Its commands inherit this.
      .configureOutput({ writeOut, writeErr })
  );
}

/** The command's own module registers it, as it always did (cli/command-load.ts also sets the SSH passphrase prompt). */
export async function registerCommand(program: Command, entry: CommandEntry): Promise<void> {
  const { register } = await loadCommand(entry);
  register(program);
}

/**
 * For a command line that runs no command (--version, --help, no arguments, an unknown command, a misplaced
 * option): every command as a stub with the name and help line from the table, which is all commander shows of
 * its subcommands there and all it compares an unknown name with ("Did you mean status?").
 *
 * invokedCommand() reads the command line as commander does, so commander never dispatches to a stub; should a
 * later commander do so, the stub accepts anything and hands over to `run`, which runs the real command on the
 * same command line.
 */
export function registerStubs(program: Command, run: (entry: CommandEntry) => Promise<void>): void {
  const helpLines = new Map(COMMANDS.map((c) => [c.name, c.args ? `${c.name} ${c.args}` : c.name]));
  program.configureHelp({ subcommandTerm: (cmd) => (cmd.parent === program ? helpLines.get(cmd.name()) : undefined) ?? new Help().subcommandTerm(cmd) });
  for (const entry of COMMANDS) {
    program
      .command(entry.name)
      .description(entry.description)
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => run(entry));
  }
}
