import type { Command } from 'commander';

/**
 * A command line read without commander (issue 14). Building commander's program and the command's ~30 options, then
 * commander's parse, cost a `dispatch` ~1 ms of its ~14 ms over Node's own start (docs/PERFORMANCE.md "A command
 * line read without commander"): most lines are plain — the command's name, its arguments, its long options. Such a
 * line is read here, from what the command's module registers (recorded by `recordCommand`), with commander's rules;
 * anything else (help, `--version`, a short flag, `--`, an unknown option, a value that looks like an option, a
 * missing or excess argument) goes to commander, which then reads it, answers or refuses it as it always did.
 *
 * What commander does with a plain line, and so what this does: the options' defaults first (a `--no-X` alone makes
 * X true), then each option in the order given (a flag true, `--no-X` false, a value through the option's parser
 * with the value before it, `--x=v` as `--x v`), then each argument through its parser, then the action with the
 * arguments and the options. A parser that throws here throws where commander would have called it.
 * test/unit/plain-line.test.ts holds every command this records to commander on generated lines.
 */

type Parser = (value: string, previous: unknown) => unknown;

interface PlainOption {
  /** `--to`, `--no-git`. */
  long: string;
  /** The key in the options object: commander's attributeName (`--max-turns` maxTurns, `--no-git` git). */
  key: string;
  kind: 'value' | 'flag' | 'negate';
  parse?: Parser;
  defaultValue?: unknown;
  /** A `--no-X` registered after a `--X`: commander then gives X no default. */
  hasPositive: boolean;
}

interface PlainArgument {
  required: boolean;
  parse?: Parser;
  defaultValue?: unknown;
}

/** One command as its module registers it, in the part of commander's builder that plain lines need. */
export interface RecordedCommand {
  name: string;
  args: readonly PlainArgument[];
  options: readonly PlainOption[];
  action: (...args: unknown[]) => unknown;
}

/** A plain line, read: what commander would call the action with (the arguments, then the options), not yet parsed. */
export interface PlainLine {
  command: RecordedCommand;
  operands: readonly string[];
  given: readonly { option: PlainOption; value?: string }[];
}

/** Why a registration cannot be recorded: it uses more of commander than a plain line can follow. Never leaves recordCommand. */
class Unrecordable extends Error {}

/**
 * Stands in for commander's program and command while a module registers its command: `command`, `description`,
 * `argument`, `option` and `action`, each checked to be a form this file reads as commander does. A register that
 * calls any other method (a subcommand's, `addOption`, `hook`, ...) fails with a TypeError, and one that uses a form
 * left to commander (a short flag, an optional or variadic value, a parser on a flag, a RegExp) with Unrecordable:
 * either way its lines all go to commander.
 */
class Recorder {
  readonly commands: Recorder[] = [];
  readonly args: PlainArgument[] = [];
  readonly options: PlainOption[] = [];
  handler: ((...args: unknown[]) => unknown) | undefined;

  constructor(
    readonly recordedName: string,
    private readonly isProgram: boolean,
  ) {}

  command(name: string, ...rest: unknown[]): Recorder {
    // One level: the program's command. A command with subcommands (`trust add`) is commander's, and so is one given
    // a description here (commander then runs it as an executable of its own).
    if (!this.isProgram || rest.length > 0 || typeof name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(name)) throw new Unrecordable(`command ${String(name)}`);
    const cmd = new Recorder(name, false);
    this.commands.push(cmd);
    return cmd;
  }

  description(text: string): this {
    // Without a text commander returns the description, not the command.
    if (typeof text !== 'string') throw new Unrecordable('description()');
    return this;
  }

  argument(name: string, _description?: string, parse?: unknown, defaultValue?: unknown): this {
    const m = /^(<|\[)[^.<>[\]]+(>|\])$/.exec(name);
    if (this.isProgram || !m || (m[1] === '<') !== (m[2] === '>')) throw new Unrecordable(`argument ${name}`);
    const required = m[1] === '<';
    // commander refuses a required argument after an optional one; a plain line never meets that order.
    if (required && this.args.some((a) => !a.required)) throw new Unrecordable(`argument ${name} after an optional one`);
    this.args.push({ required, ...parserAndDefault(parse, defaultValue) });
    return this;
  }

  option(flags: string, _description?: string, parse?: unknown, defaultValue?: unknown): this {
    // `--name`, `--no-name` or `--name <value>`: no short flag, no optional or variadic value, words joined by single
    // dashes (commander's camelcase fails on others), and neither of the options commander takes for gitbus's own.
    const m = /^(--[a-z0-9]+(?:-[a-z0-9]+)*)(?: <([^<>[\].]+)>)?$/.exec(flags);
    if (this.isProgram || !m || m[1] === undefined || m[1] === '--help' || m[1] === '--version') throw new Unrecordable(`option ${flags}`);
    const long = m[1];
    // commander reads `--no-x <value>` as negated all the same.
    if (long.startsWith('--no-') && m[2] !== undefined) throw new Unrecordable(`option ${flags}`);
    const kind = m[2] !== undefined ? 'value' : long.startsWith('--no-') ? 'negate' : 'flag';
    const how = parserAndDefault(parse, defaultValue);
    // commander calls a flag's parser with no value; no command gives one one.
    if (kind !== 'value' && how.parse) throw new Unrecordable(`option ${flags} with a parser`);
    const key = camelCase(long.slice(2).replace(/^no-/, ''));
    if (this.options.some((o) => o.long === long)) throw new Unrecordable(`option ${flags} twice`);
    const hasPositive = kind === 'negate' && this.options.some((o) => o.long === `--${long.slice(5)}`);
    this.options.push({ long, key, kind, ...how, hasPositive });
    return this;
  }

  action(fn: (...args: unknown[]) => unknown): this {
    // commander calls it with the arguments, the options, then the command: an action that takes the command is
    // commander's.
    if (typeof fn !== 'function' || fn.length > this.args.length + 1) throw new Unrecordable('action');
    this.handler = fn;
    return this;
  }
}

/** `.option(flags, description, parser, default)` or `.option(flags, description, default)`, as commander takes them. */
function parserAndDefault(parse: unknown, defaultValue: unknown): { parse?: Parser; defaultValue?: unknown } {
  if (typeof parse === 'function') return { parse: parse as Parser, ...(defaultValue !== undefined ? { defaultValue } : {}) };
  if (parse instanceof RegExp || defaultValue !== undefined) throw new Unrecordable('a RegExp or a default after a default');
  return parse !== undefined ? { defaultValue: parse } : {};
}

/** commander's camelcase: `max-budget-usd` maxBudgetUsd (the words are never empty: `option` checks). */
function camelCase(name: string): string {
  return name.split('-').reduce((s, word) => s + word.charAt(0).toUpperCase() + word.slice(1));
}

/**
 * The command `name` as `register` registers it, or null when the registration uses more of commander than a plain
 * line follows (or does anything but register `name`).
 */
export function recordCommand(register: (program: Command) => void, name: string): RecordedCommand | null {
  const program = new Recorder('', true);
  try {
    // The Recorder has the part of commander's builder the recordable commands use, checked call by call; a
    // register that reaches beyond it fails here, and its command is read by commander.
    register(program as unknown as Command);
  } catch {
    return null;
  }
  const cmd = program.commands[0];
  if (program.commands.length !== 1 || cmd === undefined || cmd.recordedName !== name || cmd.handler === undefined) return null;
  return { name, args: cmd.args, options: cmd.options, action: cmd.handler };
}

/**
 * `tokens` (the command line after the command's name) as commander would read it for `command`, when it is plain;
 * null when commander must read it. Pure: no parser runs here.
 */
export function readPlainLine(command: RecordedCommand, tokens: readonly string[]): PlainLine | null {
  const operands: string[] = [];
  const given: { option: PlainOption; value?: string }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (!token.startsWith('-')) {
      operands.push(token);
      continue;
    }
    // No option is named `--`, `-x` (short flags, negative numbers, commander's own -h and -V) or `--help` or
    // `--version`, which commander takes for gitbus's own wherever they stand: such a line is commander's.
    const eq = token.indexOf('=');
    const option = command.options.find((o) => o.long === (eq < 0 ? token : token.slice(0, eq)));
    if (option === undefined) return null;
    if (option.kind !== 'value') {
      if (eq >= 0) return null;
      given.push({ option });
      continue;
    }
    if (eq >= 0) {
      given.push({ option, value: token.slice(eq + 1) });
      continue;
    }
    // A value that looks like an option (`--to --help`) is commander's to take or refuse; `-` (standard input) is a
    // plain value.
    const value = tokens[i + 1];
    if (value === undefined || (value.startsWith('-') && value !== '-')) return null;
    given.push({ option, value });
    i++;
  }
  if (operands.length > command.args.length || command.args.some((a, i) => a.required && i >= operands.length)) return null;
  return { command, operands, given };
}

/**
 * What commander would call the action with for a plain line: the arguments (each through its parser), then the
 * options object. Runs the parsers as commander does, options first, in the order given; one that throws throws here.
 */
export function parsePlainLine(line: PlainLine): unknown[] {
  const opts: Record<string, unknown> = {};
  for (const o of line.command.options) {
    if (o.kind === 'negate') {
      if (!o.hasPositive) opts[o.key] = o.defaultValue === undefined ? true : o.defaultValue;
    } else if (o.defaultValue !== undefined) opts[o.key] = o.defaultValue;
  }
  for (const { option, value } of line.given) {
    if (option.kind === 'flag') opts[option.key] = true;
    else if (option.kind === 'negate') opts[option.key] = false;
    else {
      const parsed = option.parse ? option.parse(value as string, opts[option.key]) : value;
      // commander keeps '' where a parser gave nothing.
      opts[option.key] = parsed ?? '';
    }
  }
  const args = line.command.args.map((a, i) => {
    const value = line.operands[i];
    if (value === undefined) return a.defaultValue;
    return a.parse ? a.parse(value, a.defaultValue) : value;
  });
  return [...args, opts];
}
