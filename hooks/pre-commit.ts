import { hasSidecarIn, lintListing, type LintReport, type ListedFile } from '../bus/ops/lint.js';
import { classifyPath, isFileProblem, LIVE_FOLDERS, SETTINGS_PATH } from '../schemas/layout.js';
import { SIGNATURES_FOLDER, TRUST_FOLDER } from '../schemas/signature-layout.js';
import { gitOut, objectSizes, readObjects, splitZ } from './git.js';

/** Pathspecs of everything gitbus reads in `main`: literal, so that no name is taken as a pattern. */
const BUS_PATHSPECS = [SETTINGS_PATH, ...LIVE_FOLDERS, SIGNATURES_FOLDER, TRUST_FOLDER].map((p) => `:(literal)${p}`);

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
 * reports the problems of the bus files the commit adds or modifies. Runs with the hook's environment, so that
 * the temporary index of `git commit -a` or `git commit PATH` is the one read.
 */
export async function lintStaged(cwd: string): Promise<StagedLint> {
  const opts = { cwd, hookEnv: true };
  // Against HEAD, or against nothing on an unborn branch; deletions are never a problem.
  const changed = splitZ(await gitOut(['diff', '--cached', '--name-only', '-z', '--no-renames', '--no-ext-diff', '--diff-filter=d', '--', ...BUS_PATHSPECS], opts));
  if (changed.length === 0) return { changed, checked: 0, problems: [], unsigned: [] };
  const files: ListedFile[] = [];
  for (const record of splitZ(await gitOut(['ls-files', '--stage', '-z', '--', ...BUS_PATHSPECS], opts))) {
    // <mode> SP <oid> SP <stage> TAB <path>
    const m = /^(\d+) ([0-9a-f]+) \d\t([\s\S]+)$/.exec(record);
    if (m?.[1] !== undefined && m[2] !== undefined && m[3] !== undefined) files.push({ mode: m[1], oid: m[2], path: m[3] });
  }
  const changedSet = new Set(changed);
  const sizes = await objectSizes([...new Set(files.filter((f) => changedSet.has(f.path) && f.mode !== '160000').map((f) => f.oid))], opts);
  for (const f of files) {
    const size = sizes.get(f.oid);
    if (size !== undefined) f.size = size;
  }
  const report = await lintListing(files, changedSet, (oids) => readObjects(oids, opts));
  return { changed, ...report, unsigned: unsignedHandoffs(files, changed) };
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
