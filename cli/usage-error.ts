import type { CommanderError } from 'commander';
import { commandLine, shellWord } from './shell-words.js';

/** What `--json` prints for a command line commander refused: the same shape as every other error (cli/output.ts). */
export interface UsageErrorJson {
  code: 'BAD_INPUT';
  message: string;
  fix: string;
  data: { commander: string; flag?: string };
}

/**
 * The flag (`--to`) or argument (`TITLE`, upper case as the usage lines write it) a commander message names, or
 * undefined when it names none (too many arguments, an unknown command). commander gives only a message, so the
 * name is read from it: `unknown option '--bogus'`, `option '--to <node>' argument missing`, `required option
 * '--admin <name=pubkeyfile>' not specified`, `missing required argument 'title'`, `command-argument value 'x' is
 * invalid for argument 'hook'`. Pure.
 */
export function flagOfUsageError(code: string, message: string): string | undefined {
  if (code === 'commander.unknownOption') return /unknown option '([^']+)'/.exec(message)?.[1];
  if (code === 'commander.missingArgument') return /missing required argument '([^']+)'/.exec(message)?.[1]?.toUpperCase();
  if (code === 'commander.invalidArgument') {
    const argument = /is invalid for argument '([^']+)'/.exec(message)?.[1];
    if (argument !== undefined) return argument.toUpperCase();
  }
  // An option's flags as declared, "-n, --node <name>": the long name is the one the documentation uses.
  const flags = /option '([^']+)'/.exec(message)?.[1];
  if (flags === undefined) return undefined;
  return /--[A-Za-z0-9][\w-]*/.exec(flags)?.[0] ?? /-[A-Za-z0-9]/.exec(flags)?.[0];
}

/** The command line commander refused, as the command read it: the words after its name, and its operands. */
export interface RefusedLine {
  argv: readonly string[];
  operands: readonly string[];
}

/**
 * What to do about a usage error that a command's line makes easy to run into, beyond its --help; undefined for
 * the others. `gitbus run NODE ls -la` reads `-la` as an option of gitbus run's: the command's own options go
 * after `--`. `gitbus dispatch "t" -- make test` gives a task's command as arguments, which go in `--command` as
 * one shell line (`line`: the words, to write the fixed line with). Pure.
 */
export function usageHint(err: Pick<CommanderError, 'code' | 'message'>, command: string, line?: RefusedLine): string | undefined {
  if (command === 'gitbus dispatch' && err.code === 'commander.excessArguments') return dispatchWordsHint(line);
  if (command !== 'gitbus run' || err.code !== 'commander.unknownOption') return undefined;
  const flag = flagOfUsageError(err.code, err.message) ?? '-x';
  return `if ${flag} is the command's own option, put -- before the command: gitbus run NODE -- CMD ${flag} ...`;
}

const COMMAND_FLAG = `a task's command goes in --command, as one shell line`;

/** `gitbus dispatch` with more than its title: a command after `--`, or a title of several words not quoted. Pure. */
function dispatchWordsHint(line: RefusedLine | undefined): string {
  const dash = line?.argv.indexOf('--') ?? -1;
  const after = line && dash >= 0 ? line.argv.slice(dash + 1) : [];
  if (line && after.length > 0) return `${COMMAND_FLAG}: gitbus dispatch ${commandLine(line.argv.slice(0, dash))} --command ${shellWord(commandLine(after))}`;
  const title = line && line.operands.length > 1 ? shellWord(line.operands.join(' ')) : '"TITLE"';
  return `the title is one argument: quote it (gitbus dispatch ${title}), and ${COMMAND_FLAG} (gitbus dispatch ${title} --command "make test")`;
}

/** The `--json` error for a usage error commander caught in `command` (its path, `gitbus trust add signer`). Pure. */
export function usageErrorJson(err: Pick<CommanderError, 'code' | 'message'>, command: string, line?: RefusedLine): UsageErrorJson {
  const flag = flagOfUsageError(err.code, err.message);
  return {
    code: 'BAD_INPUT',
    message: err.message.replace(/^error: /, ''),
    fix: usageHint(err, command, line) ?? `see the accepted options and values with "${command} --help"`,
    data: { commander: err.code, ...(flag !== undefined ? { flag } : {}) },
  };
}
