/*
 * Command lines as a POSIX shell reads them: what `gitbus run` hands `sh -c` (each argument one word), and the command
 * lines gitbus suggests to a person, quoted so that pasting them does what they say.
 */

/** Quotes one argument for `sh -c`; words made only of safe characters stay as they are, for readable titles. Pure. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command line `sh -c` runs to get exactly `argv`. Pure. */
export function commandLine(argv: readonly string[]): string {
  return argv.map(shellWord).join(' ');
}

/** What only a shell makes sense of: blanks, pipes, redirections, lists, expansions, quotes, globs. */
const SHELL_SYNTAX = /[\s|&;<>()$`\\"'*?[\]{}~]/;

/**
 * Why `gitbus run NODE ARG...` ended 127 (no such program) when its first argument is a shell line, not a word, and
 * the command line that runs it as one; null when the first argument could be a program's name. Pure.
 */
export function shellLineHint(node: string, argv: readonly string[]): string | null {
  const [first] = argv;
  if (first === undefined || !SHELL_SYNTAX.test(first)) return null;
  return `each argument of "gitbus run" is one word of the command, run without a shell, so ${shellWord(first)} was taken for the name of a program, which ${node} does not have (exit 127); for a shell line, give it to sh: gitbus run ${node} -- sh -c ${shellWord(argv.join(' '))}`;
}
