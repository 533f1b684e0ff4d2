import type { Command } from 'commander';
import { intFlag, oneOfFlag, schemaFlag } from '../flags.js';
import { reasonSchema } from '../../schemas/fields.js';
import { RESPONSE_STATUSES } from '../../schemas/response.js';
import { respond } from '../../bus/ops/respond.js';
import { cutSections, givenSummary } from '../../bus/ops/respond-by-hand.js';
import type { TaskResponse as Response } from '../../schemas/response.js';
import { readBodyFile, withBus, withCommon, type CommonOptions } from '../common.js';
import { emit, note } from '../output.js';
import { manualMergeFields } from '../../watcher/workspace/manual-merge.js';

interface Opts extends CommonOptions {
  status: Response['status'];
  summary?: string;
  bodyFile?: string;
  exitCode?: number;
  reason?: string;
}

export function register(program: Command): void {
  withCommon(
    program
      .command('respond')
      .argument('<id>', 'a task this node holds')
      .description('report the result of a claimed task (like report-back)')
      .requiredOption('--status <status>', `how it ended: ${RESPONSE_STATUSES.join(', ')}`, oneOfFlag('--status', RESPONSE_STATUSES))
      .option('--summary <text>', 'the Summary section; its first line is the headline one-line views show (more lines are kept and marked there); default (and when blank): the status, unless --body-file gives the results')
      .option('--body-file <file>', 'the Results section (Markdown); - reads standard input')
      .option('--exit-code <n>', 'exit code of what ran', intFlag('--exit-code', -2147483648, 2147483647))
      .option('--reason <text>', 'why it failed or was cancelled', schemaFlag('--reason', reasonSchema)),
  ).action(async (id: string, opts: Opts) =>
    withBus(opts, async (ctx) => {
      const results = opts.bodyFile !== undefined ? readBodyFile(opts.bodyFile) : undefined;
      // A merge done by hand (gitbus resolve --runner manual) has no run to check it: its success is the project
      // remote's branch holding every workstream, which this reads and reports as a run's response would.
      const merged = await manualMergeFields(ctx, id, opts.status);
      const r = await respond(ctx, {
        id,
        status: opts.status,
        ...givenSummary(opts.summary, results, opts.status),
        ...(results !== undefined ? { results } : {}),
        ...(opts.exitCode !== undefined ? { exitCode: opts.exitCode } : {}),
        ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
        ...merged,
      });
      const warnings = cutSections({ summary: opts.summary, results, reason: opts.reason });
      if (!opts.json) for (const w of warnings) note(`gitbus: warning: ${w}`);
      emit(opts, { ...r, ...(warnings.length > 0 ? { warnings } : {}) }, () => `responded ${r.id}: ${r.status} (${r.path})`);
    }),
  );
}
