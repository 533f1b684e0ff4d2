import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBus } from '../bus/context.js';
import { initBus } from '../bus/ops/init.js';
import { dispatch } from '../bus/ops/dispatch.js';
import { claim } from '../bus/ops/claim.js';
import { respond } from '../bus/ops/respond.js';
import { archive } from '../bus/ops/archive.js';

// The buses and the checkout the start-up bench (bench/startup.ts) runs its commands in.

/** A checkout of a project of one commit, pushed to a bare remote it tracks: what an agent dispatches code work from. */
export function projectCheckout(dir: string): string {
  const origin = join(dir, 'project.git');
  const work = join(dir, 'project');
  const git = (args: string[], cwd?: string) => {
    const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid' } });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  };
  git(['init', '-q', '--bare', origin]);
  git(['init', '-q', '-b', 'main', work]);
  writeFileSync(join(work, 'README.md'), '# project\n');
  git(['add', 'README.md'], work);
  git(['commit', '-q', '-m', 'start'], work);
  git(['remote', 'add', 'origin', origin], work);
  git(['push', '-q', '-u', 'origin', 'main'], work);
  return work;
}

/**
 * A second checkout of projectCheckout's remote (`dir`/project.git), detached one commit below the tip it pushed: its
 * HEAD is at no remote-tracking ref, so a dispatch lists the remote's branches and tags to find it there.
 */
export function projectCheckoutBelowTip(dir: string): string {
  const work = join(dir, 'project-below');
  const git = (args: string[], cwd?: string) => {
    const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid' } });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  };
  git(['clone', '-q', '-b', 'main', join(dir, 'project.git'), work]);
  git(['commit', '-q', '--allow-empty', '-m', 'next'], work);
  git(['push', '-q', 'origin', 'main'], work);
  git(['switch', '-q', '--detach', 'HEAD~1'], work);
  return work;
}

/** A bus of one node, bench, with five tasks for it (the served rows' watchers, other nodes, claim none of them). */
export async function busOfFive(home: string, remote: string): Promise<void> {
  await busOfTasks(home, remote, 5);
}

export async function busOfTasks(home: string, remote: string, tasks: number): Promise<void> {
  await initBus(home, { remote, node: 'bench' });
  const ctx = await openBus(home);
  for (let i = 0; i < tasks; i++) await dispatch(ctx, { handoff: { title: `start-up ${i}`, to: 'bench' }, body: '## Task\n\nbench\n' });
  await ctx.repo.close();
}

/**
 * Sets main back, on the remote and in the home's clone, to where it is now: a dispatch row then measures one bus
 * throughout. Until session 52 each run left a task more on it, and the rows of the 5,000-pending bench measure that;
 * the dispatch rows' bus grew to ~170 tasks over a run, whose handoffs tree passed the 4 KiB from which a dispatch
 * hashes with node:crypto (bus/git/sha1.ts), so their median was of a bus of some 80 tasks.
 */
export function mainKept(home: string, remote: string): () => void {
  const clone = join(home, 'clone.git');
  const tip = (gitdir: string): string => spawnSync('git', ['--git-dir', gitdir, 'rev-parse', 'refs/heads/main'], { encoding: 'utf8' }).stdout.trim();
  const tips = [remote, clone].map((gitdir) => [gitdir, tip(gitdir)] as const);
  return () => {
    for (const [gitdir, at] of tips) {
      const r = spawnSync('git', ['--git-dir', gitdir, 'update-ref', 'refs/heads/main', at], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`git update-ref in ${gitdir}: ${r.stderr}`);
    }
  };
}

/** A bus (`name` in `dir`) whose archive holds a few finished tasks, made by a node of its own. */
export async function busWithArchive(dir: string, name: string): Promise<void> {
  const home = join(dir, `${name}-archiver`);
  await initBus(home, { remote: join(dir, name), node: 'archiver' });
  const ctx = await openBus(home);
  try {
    for (let i = 0; i < 3; i++) {
      const d = await dispatch(ctx, { handoff: { title: `archived ${i}` }, body: '## Task\n\nbench\n' });
      await claim(ctx, { id: d.id });
      await respond(ctx, { id: d.id, status: 'succeeded' });
    }
    await archive(ctx, { all: true });
  } finally {
    await ctx.repo.close();
  }
}
