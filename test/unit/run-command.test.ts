import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { commandLine, runTitle, shellWord } from '../../cli/commands/run.js';
import { MAX_TITLE_CHARS } from '../../schemas/field-limits.js';

describe('gitbus run: the command line and title', () => {
  it('quotes each argument so sh -c gets exactly the argv', () => {
    const argv = ['printf', '%s|', 'a b', `it's`, '"q"', '$HOME', '`x`', '', 'new\nline', '*'];
    expect(execFileSync('sh', ['-c', commandLine(argv)], { encoding: 'utf8' })).toBe(`${argv.slice(2).join('|')}|`);
    expect(shellWord('plain-word_1.txt')).toBe('plain-word_1.txt');
    expect(shellWord('a b')).toBe(`'a b'`);
    expect(shellWord('')).toBe(`''`);
  });

  it('makes a one-line title within the limit', () => {
    expect(runTitle(commandLine(['echo', 'hi there']))).toBe(`run: echo 'hi there'`);
    expect(runTitle(`echo 'a\nb'`)).toBe(`run: echo 'a b'`);
    const long = runTitle('x'.repeat(500));
    expect(Array.from(long)).toHaveLength(MAX_TITLE_CHARS);
    expect(long.endsWith('…')).toBe(true);
  });
});
