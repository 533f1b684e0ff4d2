import type { Command } from 'commander';
import { lintPath, type LintReport } from '../../bus/ops/lint.js';
import { currentSnapshot } from '../../bus/ops/query.js';
import { openBus } from '../../bus/context.js';
import { EXIT } from '../exit-codes.js';
import { run, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';
import { problemLine } from '../format.js';
import { busProblems } from '../../bus/ops/lint-bus.js';

export function register(program: Command): void {
  withCommon(
    program
      .command('lint')
      .argument('[path]', 'a bus file, or the folder of a bus checkout; default: the bus of this node (its remote main)')
      .description('check bus files against the protocol; exits 8 when there are errors'),
  ).action(async (path: string | undefined, opts: CommonOptions) =>
    run(opts, async (home) => {
      let report: LintReport;
      if (path !== undefined) report = await lintPath(path);
      else {
        const ctx = await openBus(home);
        try {
          report = await busProblems(ctx, await currentSnapshot(ctx));
        } finally {
          await ctx.repo.close();
        }
      }
      const errors = report.problems.filter((p) => p.severity === 'error').length;
      emit(opts, { ...report, errors }, () => [...report.problems.map(problemLine), `${report.problems.length ? '' : 'ok: '}${errors} error(s), ${report.problems.length - errors} warning(s)`].join('\n'));
      if (errors > 0) process.exitCode = EXIT.invalid;
    }),
  );
}
