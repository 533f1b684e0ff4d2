import type { Command } from 'commander';
import { showTask } from '../../bus/ops/query.js';
import { withBus, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';

export function register(program: Command): void {
  withCommon(program.command('show').argument('<id>', 'task id, or a unique prefix or suffix of it').description('the handoff, claims and response of one task')).action(async (id: string, opts: CommonOptions) =>
    withBus(opts, async (ctx) => {
      const t = await showTask(ctx, id);
      emit(opts, t, () => [`task ${t.id}: ${t.state}${t.archived ? ` (archived ${t.archived})` : ''}`, ...t.files.map((f) => `\n==> ${f.path} <==\n${f.text.trimEnd()}`)].join('\n'));
    }),
  );
}
