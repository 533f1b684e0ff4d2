import type { Command } from 'commander';
import { repeatableOneOf } from '../flags.js';
import { RUNNERS } from '../../schemas/field-limits.js';
import { claim } from '../../bus/ops/claim.js';
import { InputError } from '../../bus/errors.js';
import { withBus, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';

interface Opts extends CommonOptions {
  next?: boolean;
  runner?: string[];
}

export function register(program: Command): void {
  withCommon(
    program
      .command('claim')
      .argument('[id]', 'task id, or a unique prefix or suffix of it')
      .description('claim a task for this node (for a person, or an agent working without the daemon)')
      .option('--next', 'claim the best task this node may run; exits 3 when there is none')
      .option('--runner <runner>', `with --next: only tasks for this runner: ${RUNNERS.join(', ')} (repeatable)`, repeatableOneOf('--runner', RUNNERS)),
  ).action(async (id: string | undefined, opts: Opts) =>
    withBus(opts, async (ctx) => {
      if ((id === undefined) === !opts.next) throw new InputError('give a task id or --next (not both)', 'run "gitbus claim ID" or "gitbus claim --next"');
      const r = await claim(ctx, id !== undefined ? { id } : { next: true, ...(opts.runner ? { runners: opts.runner } : {}) });
      emit(opts, r, () => `claimed ${r.id} (attempt ${r.attempt}): ${r.title}`);
    }),
  );
}
