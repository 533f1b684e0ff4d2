import { execFileSync } from 'node:child_process';
import { IDENTITY } from './person-git.js';

/** git in a person's clone as of `hoursAgo` by their clock (author and committer dates), its stdout. */
export function gitAt(work: string, args: string[], hoursAgo = 0): string {
  const date = `${Math.floor((Date.now() - hoursAgo * 3600_000) / 1000)} +0000`;
  const env: NodeJS.ProcessEnv = { ...process.env, ...IDENTITY, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
  delete env['GITBUS_HOME'];
  return execFileSync('git', args, { cwd: work, encoding: 'utf8', env });
}

/**
 * `n` empty commits on the bus's main from a person's clone of it, dated `hoursAgo`, pushed at once: a history a
 * node fetches, made without a gitbus process per commit. The remote keeps them loose (as gitbus's direct pushes
 * do), so that a node on the same machine copies them directly rather than through upload-pack.
 */
export function datedCommits(work: string, n: number, what: string, hoursAgo = 0): void {
  gitAt(work, ['pull', '-q', '--ff-only', 'origin', 'main']);
  for (let i = 0; i < n; i++) gitAt(work, ['commit', '-q', '--allow-empty', '-m', `${what} ${i}`], hoursAgo);
  pushLoose(work);
}

/** `git push origin HEAD:main` with the remote unpacking what it receives into loose objects. */
export function pushLoose(work: string): void {
  gitAt(work, ['push', '-q', '--receive-pack=git -c receive.unpackLimit=1000000 receive-pack', 'origin', 'HEAD:main']);
}
