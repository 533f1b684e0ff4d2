import type { Command } from 'commander';
import { newOutput, taskOutput } from '../../bus/ops/task-output.js';
import { isFinal } from '../../bus/model/types.js';
import { offlineNote, withBus, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';

interface Opts extends CommonOptions {
  follow?: boolean;
}

export function register(program: Command): void {
  withCommon(
    program
      .command('logs')
      .argument('<id>', 'task id, or a unique prefix or suffix of it')
      .description('the output of a task: live from the node that runs it (any node can ask), or from its response')
      .option('-f, --follow', 'keep printing new output until the task ends'),
  ).action(async (id: string, opts: Opts) =>
    withBus(opts, async (ctx) => {
      let out = await taskOutput(ctx, id);
      if (!opts.json) offlineNote(out.offline);
      if (!opts.follow || opts.json) {
        emit(opts, out, () => out.text);
        return;
      }
      process.stdout.write(out.text);
      let shown = out.text;
      while (!isFinal(out.state)) {
        await new Promise((r) => setTimeout(r, 1000));
        out = await taskOutput(ctx, out.id);
        // A local log only grows; a heartbeat or response is a window on the end of the output.
        const more = out.source === 'local' && out.text.startsWith(shown) ? out.text.slice(shown.length) : newOutput(shown, out.text);
        if (more) process.stdout.write(more);
        shown = out.text;
      }
    }),
  );
}
