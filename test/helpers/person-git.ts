import { spawnBounded, type RunResult } from './cli.js';

/** A person's identity for the commits tests make with plain git. */
export const IDENTITY = { GIT_AUTHOR_NAME: 'person', GIT_AUTHOR_EMAIL: 'p@example.invalid', GIT_COMMITTER_NAME: 'person', GIT_COMMITTER_EMAIL: 'p@example.invalid' };

/** Plain git as a person runs it, bounded, without a gitbus home; the hooks it starts run the real CLI. */
export async function git(args: string[], cwd?: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<RunResult & { out: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...IDENTITY, ...extraEnv };
  delete env['GITBUS_HOME'];
  const r = await spawnBounded('git', args, { cwd, env, timeoutMs: 60_000 });
  return { ...r, out: r.stdout + r.stderr };
}

/** `git` that must succeed: its stdout, trimmed. */
export async function gitOk(args: string[], cwd?: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await git(args, cwd, extraEnv);
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed (${r.code}):\n${r.out}`);
  return r.stdout.trim();
}
