import type { Command } from 'commander';
import { taskOutput } from '../../bus/ops/task-output.js';
import { isFinal } from '../../bus/model/types.js';
import { offlineNote, withBus, withCommon, type CommonOptions } from '../common.js';
import { emit, note } from '../output.js';
import { truncationNote } from '../output-note.js';
import { outputView } from '../../watcher/output-view.js';
import { OutputFollower } from '../../watcher/output-follow.js';

interface Opts extends CommonOptions {
  follow?: boolean;
  raw?: boolean;
}

export function register(program: Command): void {
  withCommon(
    program
      .command('logs')
      .argument('<id>', 'task id, or a unique prefix or suffix of it')
      .description('the output of a task: live from the node that runs it (any node can ask), or from its response; a claude run as readable lines')
      .option('-f, --follow', 'keep printing new output until the task ends')
      .option('--raw', "the output as it was logged: on the node that ran it, its log (a claude run's stream-json as claude wrote it; the last 8 MB of a longer one, whose file is named); elsewhere what the heartbeat or response holds, unformatted. Control characters are applied or dropped as everywhere; the file has the bytes"),
  ).action(async (id: string, opts: Opts) =>
    withBus(opts, async (ctx) => {
      let out = await taskOutput(ctx, id, { raw: Boolean(opts.raw) });
      if (!opts.json) offlineNote(out.offline);
      const said = opts.json ? null : truncationNote(out);
      if (said) note(said);
      if (!opts.follow || opts.json) {
        emit(opts, out, () => outputView(out, opts.raw));
        return;
      }
      const follower = new OutputFollower(Boolean(opts.raw));
      process.stdout.write(follower.next(out).printed);
      // An archived task does not change any more: one whose end is damaged or forged (`invalid`) would be followed in vain.
      while (!isFinal(out.state) && !out.archived) {
        await new Promise((r) => setTimeout(r, 1000));
        out = await taskOutput(ctx, out.id, { raw: Boolean(opts.raw) });
        // This node's log is read on by position (a log only grows, and output that repeats itself is new each time
        // it is written); a heartbeat or response is a window on the end of the output, matched by its text.
        const more = follower.next(out).printed;
        if (more) process.stdout.write(more);
      }
      // Once it ended: whether its response holds only the end of the output, and where all of it is.
      const end = truncationNote(out);
      if (end && end !== said) note(end);
    }),
  );
}
