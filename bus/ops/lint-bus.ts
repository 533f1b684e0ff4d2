import type { BusContext } from '../context.js';
import type { Snapshot } from '../model/snapshot.js';
import { flatProblems } from '../model/snapshot-problems.js';
import { signatureProblemsInTree } from '../trust/lint-signatures.js';
import { untrustedProblems } from '../trust/enforce.js';
import { trustRootProblems } from '../trust/lint-trust-root.js';
import { envProblems } from '../env/lint-env.js';
import { isFinal } from '../model/types.js';
import { releasesWithoutClaim } from '../model/index-tree.js';
import { handoffProblems } from './lint-handoff.js';
import type { LintReport } from './lint.js';

/**
 * The problems of the node's bus at one commit, as `gitbus lint` (no path) and the web view's problems page show
 * them: every invalid file, the sidecars of signatures/ (docs/PROTOCOL.md §11), a trust root that cannot be
 * accepted (§12), and the live tasks this node
 * would refuse as untrusted with the reason, the files forged in a node's name it ignores (§12), what a handoff
 * would get wrong on the bus (lint-handoff.ts), and the environment profiles that cannot be applied (§13).
 */
export async function busProblems(ctx: BusContext, snap: Snapshot): Promise<LintReport> {
  const report: LintReport = { checked: snap.ids().length, problems: flatProblems(await snap.problemParts()) };
  if (snap.commit) report.problems.push(...(await signatureProblemsInTree(snap.store, await snap.store.readCommitTree(snap.commit))));
  // A trust root a joining machine cannot accept refuses every join (§12): named here, not only to the joiner.
  report.problems.push(...(await trustRootProblems(snap)));
  report.problems.push(...(await untrustedProblems(snap, ctx.paths.home, ctx.config)));
  // Claims, releases, responses and cards forged in a node's name, which this node ignores (§12).
  report.problems.push(...snap.forged.map((f) => ({ path: f.path, field: '', reason: f.reason, fix: f.fix, severity: 'error' as const })));
  // What each handoff would get wrong on the bus (a schedule that dispatches nothing, an `after` that waits for
  // ever), the checks `gitbus lint PATH` runs too. A task ended already is done with, until it is archived.
  const templates = new Set(await snap.handoffIdsWhere('schedule', (h) => h.schedule !== undefined, false));
  const ids = new Set([...templates, ...(await snap.handoffIdsWhere('after', (h) => (h.after?.length ?? 0) > 0, false))]);
  const now = new Date();
  for (const id of ids) {
    const view = await snap.view(id);
    if (!view?.handoff || isFinal(view.state)) continue;
    report.problems.push(...handoffProblems({ id, path: `handoffs/${id}.md`, handoff: view.handoff, body: view.handoffBody ?? '' }, (d) => templates.has(d), now));
  }
  // Releases of attempts no claim holds, written by hand (a new claim skips their numbers, bus/ops/claim.ts).
  for (const files of snap.filesWith(['releases'])) report.problems.push(...releasesWithoutClaim(files));
  // Environment profiles (env/, §13): each checked as a node checks it before applying it.
  report.problems.push(...(await envProblems(snap)));
  return report;
}
