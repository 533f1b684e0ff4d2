import { hasSidecarIn, lintListing, type LintReport, type ListedFile } from '../bus/ops/lint.js';
import { classifyPath, isFileProblem } from '../schemas/layout.js';
import { ENV_FOLDER, TRUST_FOLDER } from '../schemas/signature-layout.js';
import { gitOut, readObjects, splitZ } from './git.js';
import { addSizes, BUS_PATHSPECS, stagedFiles } from './listing.js';
import { writtenOnceProblems } from './written-once.js';

export interface StagedLint extends LintReport {
  /** Bus paths the commit adds or modifies. */
  changed: string[];
  /**
   * Handoffs the commit adds or modifies without a signature staged beside them, on a bus with a trust root
   * (trust/): the hook names the `gitbus sign` command for each, and does not refuse the commit.
   */
  unsigned: string[];
}

/**
 * Lints what is staged in the repository at `cwd` — the index about to be committed, never the work tree — and
 * reports the problems of the bus files the commit adds or modifies, and of each written-once file it modifies or
 * deletes that was valid in HEAD. Runs with the hook's environment, so that the temporary index of `git commit -a`
 * or `git commit PATH` is the one read.
 */
export async function lintStaged(cwd: string): Promise<StagedLint> {
  const opts = { cwd, hookEnv: true };
  // Against HEAD, or against nothing on an unborn branch; deletions are judged by writtenOnceProblems.
  const changed = splitZ(await gitOut(['diff', '--cached', '--name-only', '-z', '--no-renames', '--no-ext-diff', '--diff-filter=d', '--', ...BUS_PATHSPECS], opts));
  // A file deleted from a profile breaks it as an edit does (its manifest still names it): the profile is checked.
  changed.push(...splitZ(await gitOut(['diff', '--cached', '--name-only', '-z', '--no-renames', '--no-ext-diff', '--diff-filter=D', '--', `:(literal)${ENV_FOLDER}`], opts)));
  const files = await stagedFiles(opts);
  const writtenOnce = await writtenOnceProblems(files, opts);
  if (changed.length === 0) return { changed, checked: 0, problems: writtenOnce, unsigned: [] };
  const changedSet = new Set(changed);
  await addSizes(files, changedSet, opts);
  const report = await lintListing(files, changedSet, (oids) => readObjects(oids, opts));
  return { changed, ...report, problems: [...writtenOnce, ...report.problems], unsigned: unsignedHandoffs(files, changed) };
}

/** Staged handoffs without a staged sidecar, when the bus has trust/ (docs/PROTOCOL.md §11). */
function unsignedHandoffs(files: readonly ListedFile[], changed: readonly string[]): string[] {
  if (!files.some((f) => f.path.startsWith(`${TRUST_FOLDER}/`))) return [];
  const paths = new Set(files.map((f) => f.path));
  return changed.filter((p) => {
    const where = classifyPath(p);
    return where !== undefined && !isFileProblem(where) && where.kind === 'handoff' && !hasSidecarIn(paths, p);
  });
}
