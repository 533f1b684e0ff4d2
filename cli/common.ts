import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { openBus, type BusContext } from '../bus/context.js';
import { resolveHome } from '../bus/home.js';
import { InputError } from '../bus/errors.js';
import { asLocalFailure } from '../bus/local-io.js';
import { reportError } from './output.js';

export interface CommonOptions {
  home?: string;
  json?: boolean;
}

/** Adds the options every command has. */
export function withCommon(cmd: Command): Command {
  return cmd.option('--home <dir>', 'bus home of this node (default: $GITBUS_HOME or ~/.gitbus)').option('--json', 'print one JSON document on stdout, for scripts');
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function intOption(name: string): (v: string) => number {
  return (v) => {
    if (!/^-?\d+$/.test(v)) throw new InputError(`${name} "${v}" is not a whole number`, `give ${name} as an integer`);
    return Number(v);
  };
}

export function choice(flags: string, description: string, choices: string[]): Option {
  return new Option(flags, description).choices(choices);
}

/** Reads `--body-file F`, where `-` is standard input. */
export function readBodyFile(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read ${file === '-' ? 'standard input' : file}: ${(err as Error).message}`, 'give a readable file, or - for standard input');
  }
}

/**
 * Runs a command body with the node's bus open and turns errors into exit codes; the only place commands exit.
 */
export async function run(opts: CommonOptions, body: (home: string) => Promise<void>): Promise<void> {
  const home = resolveHome(opts.home);
  try {
    await body(home);
  } catch (err) {
    // A full disk or a failing file system is the machine's failure, not a bug: say so, with the path.
    process.exitCode = reportError(asLocalFailure(err, home), Boolean(opts.json));
  }
}

export async function withBus(opts: CommonOptions, body: (ctx: BusContext) => Promise<void>, actor?: string): Promise<void> {
  await run(opts, async (home) => {
    const ctx = await openBus(home, actor);
    try {
      await body(ctx);
    } finally {
      await ctx.repo.close();
    }
  });
}
