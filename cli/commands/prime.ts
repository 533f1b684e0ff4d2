import type { Command } from 'commander';
import { withClone } from '../../claude/hook.js';
import { busFacts, primerText, rulesText, workerFacts } from '../../claude/primer.js';
import { localSnapshot } from '../../bus/ops/query.js';
import { run, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';

interface Opts extends CommonOptions {
  brief?: boolean;
}

export function register(program: Command): void {
  withCommon(
    program
      .command('prime')
      .description("print the guide for an AI agent working with gitbus: what the bus is, the commands, and the rules for handing work to other machines and for working inside a task")
      .option('--brief', 'only the short rules (the CLAUDE.md block of gitbus setup claude)')
      .addHelpText('after', '\nWhen this home has a bus, the guide starts with this node and the nodes it can hand work to, read from the\nnode\'s clone (no remote contact). Inside a task (GITBUS_TASK_ID set) it says so first.'),
  ).action(async (opts: Opts) =>
    run(opts, async (home) => {
      const bus = await withClone(home, async (ctx) => busFacts(ctx.config.node, ctx.repo.transport.display, await (await localSnapshot(ctx)).nodes()));
      const worker = workerFacts(process.env);
      const guide = (opts.brief ? rulesText() : primerText()).trim();
      emit(opts, { bus, worker, guide }, () => [worker, bus, guide].filter((s): s is string => Boolean(s)).join('\n\n'));
    }),
  );
}
