import { describe, it, expect, beforeAll } from 'vitest';
import { readdirSync } from 'node:fs';
import { Command, CommanderError, Help } from 'commander';
import { COMMANDS, type CommandEntry } from '../../cli/command-table.js';
import { hoistGlobalOptions, invokedCommand } from '../../cli/invoked-command.js';
import { newProgram, registerStubs } from '../../cli/program.js';

type Register = (program: Command) => void;

/** What a program prints and how it ends for one command line, with its output captured. */
async function outcome(program: Command, args: string[]): Promise<{ out: string; err: string; exit: number | null }> {
  let out = '';
  let err = '';
  program.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s), getOutHelpWidth: () => 100, getErrHelpWidth: () => 100 });
  for (const cmd of program.commands) cmd.exitOverride();
  try {
    await program.parseAsync(['node', 'gitbus', ...args]);
    return { out, err, exit: null };
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    return { out, err, exit: e.exitCode };
  }
}

describe('the command table (cli/command-table.ts)', () => {
  const modules = new Map<CommandEntry, Register>();
  /** Every command registered by its own module, as main.ts did before registration became lazy. */
  const eager = (): Command => {
    const program = newProgram();
    for (const entry of COMMANDS) (modules.get(entry) as Register)(program);
    return program;
  };
  // Every command module, so every layer's source through vitest's transform: on a busy machine more than the
  // default minute for hooks.
  beforeAll(async () => {
    for (const entry of COMMANDS) modules.set(entry, (await entry.load()).register);
  }, 240_000);

  it("holds each command's name, help line and description as its module registers them", () => {
    for (const entry of COMMANDS) {
      const program = new Command('gitbus');
      (modules.get(entry) as Register)(program);
      const registered = program.commands.map((c) => ({ name: c.name(), args: new Help().subcommandTerm(c).slice(c.name().length).trim(), description: c.description() }));
      // On a mismatch, the expected value is what to write in cli/command-table.ts.
      expect({ name: entry.name, args: entry.args, description: entry.description }, `cli/command-table.ts, row ${entry.name}`).toEqual(registered[0]);
      expect(registered, `cli/commands/${entry.name}.ts registers one command`).toHaveLength(1);
    }
  });

  it('has a row for every command module in cli/commands/, each loaded by exactly one row', async () => {
    const dir = new URL('../../cli/commands/', import.meta.url);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const mod = (await import(new URL(file, dir).href)) as { register?: unknown };
      if (typeof mod.register !== 'function') continue;
      const rows = COMMANDS.filter((e) => modules.get(e) === mod.register);
      expect(rows.map((r) => r.name), `cli/commands/${file} needs a row in cli/command-table.ts`).toHaveLength(1);
    }
    expect(new Set(COMMANDS.map((c) => c.name)).size).toBe(COMMANDS.length);
  });

  it('gitbus --help lists the commands unloaded exactly as it lists them loaded', async () => {
    const lazy = newProgram();
    registerStubs(lazy, async () => undefined);
    const want = await outcome(eager(), ['--help']);
    expect(want.out).toContain('dispatch [options] [title]');
    expect(await outcome(lazy, ['--help'])).toEqual(want);
  });

  it('a command line that runs no command ends the same with stubs as with every command loaded', async () => {
    const lines = [[], ['--version'], ['-V', 'status'], ['-h'], ['help'], ['help', 'nosuch'], ['stauts'], ['stauts', '--json'], ['--json', 'status'], ['--foo', 'status'], ['-5', 'status']];
    for (const args of lines) {
      expect(invokedCommand(args), args.join(' ')).toBeUndefined();
      const lazy = newProgram();
      registerStubs(lazy, async () => undefined);
      expect(await outcome(lazy, args), args.join(' ')).toEqual(await outcome(eager(), args));
    }
  });

  it('a stub that commander dispatches to hands over to the real command', async () => {
    const ran: string[] = [];
    const lazy = newProgram();
    registerStubs(lazy, async (entry) => void ran.push(entry.name));
    await outcome(lazy, ['status', '--json', 'extra', '--unknown']);
    expect(ran).toEqual(['status']);
  });
});

describe('invokedCommand', () => {
  it('finds the command commander runs: the first operand, after "help", or after "--"', () => {
    const name = (args: string[]) => invokedCommand(args)?.name;
    expect(name(['status'])).toBe('status');
    expect(name(['status', '--json', '--home', '/x'])).toBe('status');
    expect(name(['dispatch', 'fix the build', '--to', 'gpu'])).toBe('dispatch');
    // Program options after the command still belong to commander's top level: -V prints the version there.
    expect(name(['status', '-V'])).toBe('status');
    expect(name(['help', 'trust'])).toBe('trust');
    expect(name(['help', '--', 'trust'])).toBe('trust');
    expect(name(['--', 'status', '--help'])).toBe('status');
    expect(name(['--', 'help', 'status'])).toBe('status');
  });

  it('finds none when commander would run none: options first, no arguments, an unknown name', () => {
    for (const args of [[], ['--version'], ['-V'], ['--help'], ['-h', 'status'], ['--home', '/x', 'status'], ['help'], ['nosuch'], ['help', 'nosuch'], ['Status']]) expect(invokedCommand(args), args.join(' ')).toBeUndefined();
  });
});

describe('hoistGlobalOptions', () => {
  it('moves --home and --json written before the command after its words, before a "--"', () => {
    expect(hoistGlobalOptions(['--home', '/x', 'status'])).toEqual(['status', '--home', '/x']);
    expect(hoistGlobalOptions(['--json', '--home=/x', 'show', 'abc'])).toEqual(['show', 'abc', '--json', '--home=/x']);
    expect(hoistGlobalOptions(['--home', '/x', 'trust', 'init', '--admin', 'a=k.pub'])).toEqual(['trust', 'init', '--admin', 'a=k.pub', '--home', '/x']);
    expect(hoistGlobalOptions(['--home', '/x', 'run', 'n1', '--', 'echo', '--json'])).toEqual(['run', 'n1', '--home', '/x', '--', 'echo', '--json']);
    expect(invokedCommand(hoistGlobalOptions(['--home', '/x', 'status']))?.name).toBe('status');
  });

  it('leaves every other line as it is', () => {
    for (const args of [[], ['status', '--home', '/x'], ['--version'], ['--home', '/x'], ['--home'], ['--home', '/x', '--help'], ['--bogus', 'status'], ['--json', '-h']]) {
      expect(hoistGlobalOptions(args), args.join(' ')).toEqual(args);
    }
  });
});
