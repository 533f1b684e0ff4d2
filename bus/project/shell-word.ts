/**
 * One word of a command people copy into a shell, or an agent runs: left as it is when it has nothing a POSIX
 * shell reads specially, else single-quoted. Every value from the bus (a repo, a branch, a base) printed inside a
 * command goes through it: git accepts `$`, `(`, `;`, `|`, backquotes and quotes in a branch name, and `${IFS}`
 * stands in for a space. Pure.
 */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function shellWord(s: string): string {
  return SAFE_WORD.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Always single-quoted, for a value written into a script or a command line gitbus itself runs (a hook, a tmux
 * pane's command), where a reader gains nothing from a bare word and every value gets the same treatment. Pure.
 */
export function shellQuoted(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
