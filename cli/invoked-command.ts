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

/**
 * The options every command has (`--home DIR`, `--json`), written before the command's name as `git -C` and
 * `kubectl --context` are (`gitbus --home ~/bus status`), moved after the command's words, where commander reads
 * them: before a "--" if there is one, since what follows it is the command's own. Anything else before the name is
 * left where it is (commander then says what is wrong with it). Pure; a line without such a prefix is returned as is.
 */
export function hoistGlobalOptions(args: readonly string[]): string[] {
  const hoisted: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--json' || arg.startsWith('--home=')) hoisted.push(arg);
    else if (arg === '--home' && i + 1 < args.length) hoisted.push(arg, args[++i] as string);
    else break;
  }
  const rest = args.slice(i);
  if (hoisted.length === 0 || rest.length === 0 || (rest[0] as string).startsWith('-')) return [...args];
  const dashes = rest.indexOf('--');
  return dashes < 0 ? [...rest, ...hoisted] : [...rest.slice(0, dashes), ...hoisted, ...rest.slice(dashes)];
}
