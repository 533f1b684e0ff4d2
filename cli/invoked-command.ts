import { COMMANDS, type CommandEntry } from './command-table.js';

/**
 * The command commander will run for these arguments (process.argv after the script), found before any command
 * is loaded, so that only its module is imported. Reads the line as commander 14 does at the top level: the
 * leading operands, up to the first word that looks like an option (gitbus itself has only --version and
 * --help, so any other option there is unknown, and commander then runs no command at all), and everything after
 * "--". `help NAME` runs NAME's help. Undefined when no command will run: --version, --help, no arguments, an
 * unknown command name.
 */
export function invokedCommand(args: readonly string[]): CommandEntry | undefined {
  const operands: string[] = [];
  for (let i = 0; i < args.length && operands.length < 2; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (arg.length > 1 && arg.startsWith('-')) break;
    operands.push(arg);
  }
  const name = operands[0] === 'help' ? operands[1] : operands[0];
  return COMMANDS.find((c) => c.name === name);
}
