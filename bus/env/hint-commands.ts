import { shellWord } from '../project/shell-word.js';

/**
 * The `gitbus env` commands that reasons and fixes offer, pure. A target comes from a manifest anyone with push
 * access wrote, so it is quoted for a shell; `~/` stays bare, so that the shell (or gitbus, given it quoted) reads it
 * as the home.
 */

/** A target as one shell word: `~/.gitconfig`, `~/'my notes.md'`. */
export function targetWord(target: string): string {
  return target.startsWith('~/') ? `~/${shellWord(target.slice(2))}` : shellWord(target);
}

/**
 * What keeps this node's own copy of files that differ on each machine by nature (a git identity) in the profile for
 * it alone, for a reason or fix: `--variant node`. Taking this node's copy for every node, or the bus's copy here,
 * would give one machine's identity to the others.
 */
export function ownCopyHint(profile: string, targets: readonly string[]): string {
  const [first] = targets;
  if (first === undefined) return '';
  const why = 'a file that differs on each machine by nature (a git identity, a machine\'s paths) stays this node\'s own, in the profile for it alone,';
  if (targets.length === 1) return `${why} with "gitbus env capture ${profile} --add ${targetWord(first)} --variant node"`;
  return `${why} with "gitbus env capture ${profile} --add FILE --variant node", FILE each such one of ${targets.map(targetWord).join(', ')}`;
}

/**
 * The capture that makes a file entry merged by keys manage `keys` (the whole list: --keys replaces it), or undefined
 * when --keys cannot say one of them (it splits at commas and trims each key).
 */
export function keysCommand(profile: string, target: string, keys: readonly string[]): string | undefined {
  if (keys.some((k) => k === '' || k.includes(',') || k.trim() !== k)) return undefined;
  return `gitbus env capture ${profile} --add ${targetWord(target)} --keys ${shellWord(keys.join(','))}`;
}
