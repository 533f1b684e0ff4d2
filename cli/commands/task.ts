import type { Command } from 'commander';
import { UnknownTaskError } from '../../bus/errors.js';
import { localSnapshot, snapshotOrLast } from '../../bus/ops/query.js';
import { readProgress } from '../../bus/progress.js';
import { openBus } from '../../bus/context.js';
import { run, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';
import { taskSelf } from '../task-env.js';

interface Opts extends CommonOptions {
  body?: boolean;
}

export function register(program: Command): void {
  withCommon(
    program
      .command('task')
      .description('inside a task: the task this process runs in (from GITBUS_TASK_ID): its handoff, attempt, node, worktree and latest progress')
      .option('--body', 'print only the handoff\'s body (the task description)'),
  ).action(async (opts: Opts) =>
    run(opts, async (home) => {
      // Outside a task is the caller's mistake whatever the home holds, so it is said before the bus is opened (a
      // home without a bus would answer NO_BUS), as progress does. The queue is left to the task's watcher.
      const self = taskSelf(home);
      const ctx = await openBus(home);
      try {
        // The clone already has the handoff (this node claimed it); ask the remote only if it does not.
        let view = await (await localSnapshot(ctx)).view(self.id).catch(() => undefined);
        if (!view?.handoff) view = await (await snapshotOrLast(ctx)).snap.view(self.id);
        if (!view) throw new UnknownTaskError(self.id);
        const progress = readProgress(ctx.paths.home, self.id, self.attempt);
        const out = { ...self, node: self.node ?? ctx.config.node, state: view.state, handoff: view.handoff ?? null, body: view.handoffBody ?? '', progress };
        emit(opts, out, () => {
          if (opts.body) return out.body;
          const h = view.handoff;
          const where = [self.worktree && `worktree ${self.worktree}`, self.branch && `branch ${self.branch}`].filter(Boolean).join(', ');
          return [
            `task ${self.id} (attempt ${self.attempt}) on node ${out.node}: ${view.state}`,
            ...(h ? [`title: ${h.title}`, ...(h.from ? [`from: ${h.from}`] : [])] : ['(its handoff cannot be read: gitbus show shows why)']),
            ...(where ? [where] : []),
            ...(progress ? [`progress: ${progress.text} (${progress.at})`] : []),
            '',
            out.body.trimEnd(),
          ].join('\n');
        });
      } finally {
        await ctx.repo.close();
      }
    }),
  );
}
