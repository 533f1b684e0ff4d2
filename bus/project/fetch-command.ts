import { shellWord } from './shell-word.js';

/**
 * The `git fetch` a person or an agent is shown for a task's branch, by its full ref: a short name is taken for a
 * tag of the same name first, when the remote has one, and they would get the tag. Every fetch gitbus prints
 * (a response's Branch section, `show`, `resolve`, `group`) comes from here. Pure.
 */
export function fetchCommand(repo: string, branch: string): string {
  return `git fetch ${shellWord(repo)} ${shellWord(`refs/heads/${branch}`)}`;
}
