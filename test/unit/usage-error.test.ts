import { describe, expect, it } from 'vitest';
import { flagOfUsageError, usageErrorJson, usageHint } from '../../cli/usage-error.js';

describe('usage errors commander catches', () => {
  it('name the flag or argument of each message commander writes', () => {
    const cases: [string, string, string | undefined][] = [
      ['commander.unknownOption', "error: unknown option '--bogus'\n(Did you mean --body?)", '--bogus'],
      ['commander.optionMissingArgument', "error: option '--to <node>' argument missing", '--to'],
      ['commander.missingMandatoryOptionValue', "error: required option '--admin <name=pubkeyfile>' not specified", '--admin'],
      ['commander.missingMandatoryOptionValue', "error: required option '-n, --node <name>' not specified", '--node'],
      ['commander.invalidArgument', "error: option '--mode <m>' argument 'x' is invalid. Allowed choices are a, b.", '--mode'],
      ['commander.invalidArgument', "error: command-argument value 'x' is invalid for argument 'hook'. Allowed choices are a, b.", 'HOOK'],
      ['commander.missingArgument', "error: missing required argument 'id'", 'ID'],
      ['commander.excessArguments', "error: too many arguments for 'signer'. Expected 2 arguments but got 5.", undefined],
      ['commander.unknownCommand', "error: unknown command 'statsu'", undefined],
    ];
    for (const [code, message, flag] of cases) expect(flagOfUsageError(code, message), message).toBe(flag);
  });

  it('point the fix at the --help of the command that refused the line', () => {
    expect(usageErrorJson({ code: 'commander.unknownOption', message: "error: unknown option '--bogus'" }, 'gitbus trust add signer')).toEqual({
      code: 'BAD_INPUT',
      message: "unknown option '--bogus'",
      fix: 'see the accepted options and values with "gitbus trust add signer --help"',
      data: { commander: 'commander.unknownOption', flag: '--bogus' },
    });
  });

  it("a command's own option before -- in gitbus run: the fix says to put -- first; other commands keep the --help fix", () => {
    const err = { code: 'commander.unknownOption', message: "error: unknown option '-la'" };
    expect(usageHint(err, 'gitbus run')).toBe("if -la is the command's own option, put -- before the command: gitbus run NODE -- CMD -la ...");
    expect(usageErrorJson(err, 'gitbus run').fix).toBe(usageHint(err, 'gitbus run'));
    expect(usageHint(err, 'gitbus dispatch')).toBeUndefined();
    expect(usageHint({ code: 'commander.missingArgument', message: "error: missing required argument 'cmd'" }, 'gitbus run')).toBeUndefined();
  });
});
