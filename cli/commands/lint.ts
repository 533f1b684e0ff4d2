import type { Command } from 'commander';
import { lintPath, type LintReport } from '../../bus/ops/lint.js';
import { currentSnapshot } from '../../bus/ops/query.js';
import { openBus } from '../../bus/context.js';
import { EXIT } from '../exit-codes.js';
import { run, withCommon, type CommonOptions } from '../common.js';
import { emit } from '../output.js';
import { problemLine } from '../format.js';
import { signatureProblemsInTree } from '../../bus/trust/lint-signatures.js';
import { untrustedProblems } from '../../bus/trust/enforce.js';

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
          const snap = await currentSnapshot(ctx);
          report = { checked: snap.ids().length, problems: await snap.allProblems() };
          // The sidecars of signatures/ (docs/PROTOCOL.md §11): names, and each against the file it signs.
          if (snap.commit) report.problems.push(...(await signatureProblemsInTree(snap.store, await snap.store.readCommitTree(snap.commit))));
          // Live tasks this node would refuse as untrusted (docs/PROTOCOL.md §12), with the reason.
          report.problems.push(...(await untrustedProblems(snap, ctx.paths.home, ctx.config)));
          // Claims, releases, responses and cards forged in a node's name, which this node ignores (§12).
          report.problems.push(...snap.forged.map((f) => ({ path: f.path, field: '', reason: f.reason, fix: f.fix, severity: 'error' as const })));
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
