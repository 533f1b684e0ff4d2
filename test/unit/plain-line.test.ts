import { describe, it, expect, beforeAll } from 'vitest';
import { CommanderError, type Command } from 'commander';
import { COMMANDS, type CommandEntry } from '../../cli/command-table.js';
import { newProgram } from '../../cli/program.js';
import { parsePlainLine, readPlainLine, recordCommand, type RecordedCommand } from '../../cli/plain-line.js';
import { GitbusError } from '../../schemas/errors.js';
import { prng as draws } from '../helpers/seeded-random.js';

type Register = (program: Command) => void;

/** What commander calls the action with for `tokens` after the command's name, or the error it ends with. */
async function commanderReads(register: Register, name: string, tokens: readonly string[]): Promise<{ args: unknown[] } | { error: unknown }> {
  const program = newProgram();
  program.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  register(program);
  let called: unknown[] | undefined;
  for (const cmd of program.commands) {
    cmd.exitOverride();
    // The action commander calls, with what it calls it with (the command itself, last, left out).
    cmd.action((...args: unknown[]) => {
      called = args.slice(0, -1);
    });
  }
  try {
    await program.parseAsync(['node', 'gitbus', name, ...tokens]);
  } catch (error) {
    return { error };
  }
  return called ? { args: called } : { error: new Error('commander ran no action') };
}

/** The plain reader's answer: null (commander's line), the action's arguments, or the error a parser threw. */
function plainReads(command: RecordedCommand, tokens: readonly string[]): null | { args: unknown[] } | { error: unknown } {
  const line = readPlainLine(command, tokens);
  if (line === null) return null;
  try {
    return { args: parsePlainLine(line) };
  } catch (error) {
    return { error };
  }
}

/** Values a line may carry: plain words, ones the parsers refuse, ones that look like options, the empty one. */
const VALUES = ['x', 'Run the tests', '', '-', '-5', '--help', '--version', '-h', '-V', '--', 'help', '3', '0', '-1', '1001', '10m', 'abc', 'n1', 'sonnet', '20261206-120000-abc123', 'node-a', 'a b', 'ci', 'manual', 'shell', '*/5 * * * *', 'true'];
/** Tokens no command has, or that only commander takes. */
const STRAYS = ['--', '-', '-h', '--help', '-V', '--version', '-Vx', '--bogus', '--no-bogus', '--json=1', '-x', '--home', '--to='];

/** A random command line for `command`: its options in every form, values, words and strays, in any order. */
function drawLine(command: RecordedCommand, next: () => number): string[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const tokens: string[] = [];
  const length = Math.floor(next() * 7);
  for (let i = 0; i < length; i++) {
    const r = next();
    const option = command.options.length > 0 ? pick(command.options) : undefined;
    if (option && r < 0.55) {
      if (option.kind === 'value') {
        if (next() < 0.3) tokens.push(`${option.long}=${pick(VALUES)}`);
        else tokens.push(option.long, pick(VALUES));
      } else tokens.push(next() < 0.1 ? `${option.long}=x` : option.long);
    } else if (r < 0.85) tokens.push(pick(VALUES));
    else tokens.push(pick(STRAYS));
  }
  return tokens;
}

describe('a command line read without commander (cli/plain-line.ts)', () => {
  const modules = new Map<CommandEntry, Register>();
  beforeAll(async () => {
    for (const entry of COMMANDS) modules.set(entry, (await entry.load()).register);
  }, 240_000);

  it('records the commands whose lines are plain, among them the ones people and agents run most, and the table says which', () => {
    const recorded = COMMANDS.filter((e) => recordCommand(modules.get(e) as Register, e.name) !== null).map((e) => e.name);
    // On a mismatch: the rows to mark `plain: true` in cli/command-table.ts, and only those.
    expect(COMMANDS.filter((e) => e.plain === true).map((e) => e.name)).toEqual(recorded);
    expect(recorded).toEqual(expect.arrayContaining(['dispatch', 'status', 'show', 'claim', 'release', 'watch', 'fanout']));
    // A command with subcommands, or one that adds its options as objects, is commander's.
    expect(recorded).not.toContain('trust');
    expect(recorded).not.toContain('hook');
  });

  it('reads every line of every recorded command as commander does, or leaves it to commander', async () => {
    let plain = 0;
    let total = 0;
    for (const entry of COMMANDS) {
      const register = modules.get(entry) as Register;
      const command = recordCommand(register, entry.name);
      if (command === null) continue;
      const next = draws(entry.name.length * 7919 + (entry.name.charCodeAt(0) ?? 0));
      for (let n = 0; n < 300; n++) {
        const tokens = drawLine(command, next);
        const mine = plainReads(command, tokens);
        total++;
        if (mine === null) continue;
        plain++;
        const theirs = await commanderReads(register, entry.name, tokens);
        const line = `gitbus ${entry.name} ${JSON.stringify(tokens)}`;
        if ('error' in mine) {
          // A parser's refusal, which commander gives for the same line.
          expect(mine.error, line).toBeInstanceOf(GitbusError);
          expect('error' in theirs ? String(theirs.error) : theirs, line).toBe(String(mine.error));
          continue;
        }
        expect('error' in theirs ? String(theirs.error) : 'no error', line).toBe('no error');
        if ('error' in theirs) continue;
        expect(mine.args, line).toEqual(theirs.args);
        // The same keys in the same order: what a command prints of its options follows their order.
        const keys = (args: unknown[]) => Object.keys(args[args.length - 1] as object);
        expect(keys(mine.args), line).toEqual(keys(theirs.args));
      }
    }
    // Most drawn lines have a stray or an odd value somewhere; enough are plain for the comparison to mean something.
    expect(plain, `${plain} of ${total} lines plain`).toBeGreaterThan(total / 10);
  }, 240_000);

  it("reads as commander does what gitbus's commands do not register yet: defaults, --no-X with and without X, a parser that gives nothing", async () => {
    const parser = (v: string, previous: unknown) => (v === 'none' ? undefined : `${String(previous)}+${v}`);
    const registers: Register[] = [
      (p) => void p.command('x').argument('[word]', 'w', (v: string, previous: unknown) => `${v.toUpperCase()}<${String(previous)}`, 'DEF').option('--no-color', 'c', 'auto').option('--no-quiet', 'q').option('--repo <r>', 'r').option('--no-repo', 'n').action(() => undefined),
      (p) => void p.command('x').argument('<word>', 'w').option('--no-repo', 'n').option('--repo <r>', 'r', parser).option('--level <n>', 'l', parser, 'start').option('--mode <m>', 'm', 'fast').action(() => undefined),
    ];
    const words = ['a', 'none', 'b', '', '-'];
    for (const register of registers) {
      const command = recordCommand(register, 'x') as RecordedCommand;
      expect(command).not.toBeNull();
      const next = draws(42);
      for (let n = 0; n < 300; n++) {
        const tokens: string[] = [];
        for (let i = Math.floor(next() * 6); i > 0; i--) {
          const option = command.options[Math.floor(next() * command.options.length)] as RecordedCommand['options'][number];
          if (next() < 0.3) tokens.push(words[Math.floor(next() * words.length)] as string);
          else if (option.kind !== 'value') tokens.push(option.long);
          else if (next() < 0.5) tokens.push(`${option.long}=${words[Math.floor(next() * words.length)] as string}`);
          else tokens.push(option.long, words[Math.floor(next() * words.length)] as string);
        }
        const mine = plainReads(command, tokens);
        if (mine === null) continue;
        const theirs = await commanderReads(register, 'x', tokens);
        expect(mine, JSON.stringify(tokens)).toEqual(theirs);
        if ('args' in mine && 'args' in theirs) expect(Object.keys(mine.args.at(-1) as object), JSON.stringify(tokens)).toEqual(Object.keys(theirs.args.at(-1) as object));
      }
    }
  });

  it('reads the lines gitbus is mostly given without commander', () => {
    const dispatch = recordCommand(modules.get(COMMANDS.find((e) => e.name === 'dispatch') as CommandEntry) as Register, 'dispatch') as RecordedCommand;
    const lines = [
      ['Run the tests', '--command', 'make test'],
      ['Run the tests', '--command=make test', '--to', 'node-a', '--label', 'ci', '--label', 'gpu', '--json', '--home', '/tmp/h'],
      ['--body-file', '-', 'title', '--no-git', '--priority', '5', '--timeout', '10m'],
      ['--from', 'tasks.jsonl'],
      ['Review', '--runner', 'claude', '--model', 'sonnet', '--max-turns', '3', '--repo', 'origin', '--branch', 'b'],
    ];
    for (const tokens of lines) expect(readPlainLine(dispatch, tokens), JSON.stringify(tokens)).not.toBeNull();
    const read = parsePlainLine(readPlainLine(dispatch, lines[1] as string[]) as NonNullable<ReturnType<typeof readPlainLine>>);
    expect(read[0]).toBe('Run the tests');
    expect(read[1]).toMatchObject({ command: 'make test', to: 'node-a', label: ['ci', 'gpu'], json: true, home: '/tmp/h', git: true });
  });

  it('leaves to commander what only commander reads', () => {
    const dispatch = recordCommand(modules.get(COMMANDS.find((e) => e.name === 'dispatch') as CommandEntry) as Register, 'dispatch') as RecordedCommand;
    const show = recordCommand(modules.get(COMMANDS.find((e) => e.name === 'show') as CommandEntry) as Register, 'show') as RecordedCommand;
    for (const tokens of [['--help'], ['t', '-h'], ['t', '--version'], ['t', '-V'], ['--', 't'], ['t', '--bogus'], ['t', '--to'], ['t', '--to', '--json'], ['t', '--priority', '-5'], ['t', '--json=1'], ['a', 'b'], ['-t']]) {
      expect(readPlainLine(dispatch, tokens), JSON.stringify(tokens)).toBeNull();
    }
    // show's <id> is required.
    expect(readPlainLine(show, [])).toBeNull();
    expect(readPlainLine(show, ['--json'])).toBeNull();
  });

  it('records nothing from a registration that reaches beyond what it follows', () => {
    const withShort: Register = (p) => void p.command('x').option('-t, --to <node>', 'd').action(() => undefined);
    const withSub: Register = (p) => void p.command('x').command('y').action(() => undefined);
    const optionalValue: Register = (p) => void p.command('x').option('--to [node]', 'd').action(() => undefined);
    const takesCommand: Register = (p) => void p.command('x').action((_opts: unknown, _cmd: unknown) => undefined);
    const hooked: Register = (p) => void p.command('x').hook('preAction', () => undefined).action(() => undefined);
    const negatedValue: Register = (p) => void p.command('x').option('--no-color <when>', 'd').action(() => undefined);
    const ownVersion: Register = (p) => void p.command('x').option('--version <v>', 'd').action(() => undefined);
    const executable: Register = (p) => void (p.command('x', 'runs gitbus-x') as Command).action(() => undefined);
    const oddName: Register = (p) => void p.command('x').option('--a--b', 'd').option('--c-', 'd').action(() => undefined);
    for (const r of [withShort, withSub, optionalValue, hooked, negatedValue, ownVersion, executable, oddName]) expect(recordCommand(r, 'x')).toBeNull();
    // An action taking the command after its options, with one argument declared: (arg, opts, cmd).
    expect(recordCommand(takesCommand, 'x')).toBeNull();
    expect(recordCommand((p) => void p.command('x').action((_opts: unknown) => undefined), 'x')).not.toBeNull();
    expect(recordCommand((p) => void p.command('y').action(() => undefined), 'x')).toBeNull();
  });

  it('throws a parser refusal as GitbusError, as commander does, before the action runs', async () => {
    const entry = COMMANDS.find((e) => e.name === 'dispatch') as CommandEntry;
    const register = modules.get(entry) as Register;
    const dispatch = recordCommand(register, 'dispatch') as RecordedCommand;
    const tokens = ['t', '--priority', '5000'];
    const mine = plainReads(dispatch, tokens);
    const theirs = await commanderReads(register, 'dispatch', tokens);
    expect(mine && 'error' in mine ? mine.error : null).toBeInstanceOf(GitbusError);
    expect('error' in theirs && !(theirs.error instanceof CommanderError) ? String(theirs.error) : theirs).toBe(String((mine as { error: unknown }).error));
  });
});
