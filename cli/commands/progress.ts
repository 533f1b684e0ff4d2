import type { Command } from 'commander';
import { postProgress, progressText } from '../../bus/progress.js';
import { InputError, NoBusError } from '../../bus/errors.js';
import { homeHasNode } from '../../bus/home.js';
import { run, withCommon, type CommonOptions } from '../common.js';
import { emit, note } from '../output.js';
import { runsHere, taskSelf } from '../task-env.js';

export function register(program: Command): void {
  withCommon(
    program
      .command('progress')
      .argument('<text...>', 'one line saying where the task stands')
      .description('inside a task: post a progress line, shown by status, logs and the dispatcher\'s dispatch --wait on any node (the watcher sends it with its next heartbeat, early when progress is posted)'),
  ).action(async (words: string[], opts: CommonOptions) =>
    run(opts, async (home) => {
      // Outside a task first (NOT_IN_TASK, as `gitbus task` says), whatever the home holds. No bus is opened (the
      // line stays on this node), so nothing else would notice a home without a node, and writing the line would
      // make one's skeleton there.
      const self = taskSelf(home);
      if (!homeHasNode(home)) throw new NoBusError(home);
      const raw = words.join(' ');
      if (progressText(raw) === '') throw new InputError('the progress line is empty', 'say where the task stands, e.g. gitbus progress "tests pass, writing the docs"');
      const p = postProgress(home, self.id, self.attempt, raw);
      const here = runsHere(self);
      if (!here && !opts.json) note(`gitbus: warning: task ${self.id} (attempt ${self.attempt}) is not running under the watcher of ${home}: the line is in its log, but no heartbeat carries it`);
      emit(opts, { id: self.id, attempt: self.attempt, progress: p, carried: here }, () => '');
    }),
  );
}
