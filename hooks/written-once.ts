import { lintListing, type ListedFile } from '../bus/ops/lint.js';
import type { FileProblem } from '../schemas/errors.js';
import { classifyPath, isFileProblem, KIND_FOLDER, type ArchivableKind } from '../schemas/layout.js';
import { classifySignaturePath, SIGNATURES_FOLDER } from '../schemas/signature-layout.js';
import { git, readObjects, splitZ, gitOut, type GitOptions } from './git.js';
import { addSizes, committedFiles } from './listing.js';

/** The folders of a task's files, which are written once (docs/PROTOCOL.md §1); nodes/ and gitbus.yaml are rewritten. */
const TASK_FOLDERS = (['handoff', 'claim', 'release', 'cancel', 'response'] as const satisfies readonly ArchivableKind[]).map((k) => KIND_FOLDER[k]);

/** The task a path of a written-once file belongs to, or undefined when the path is not one. */
function taskOf(path: string): string | undefined {
  const where = classifyPath(path);
  if (where !== undefined && !isFileProblem(where) && 'id' in where) return where.id;
  return undefined;
}

/**
 * Whether a path is one of a written-once file: a task's file, or the sidecar that signs one. Sidecars of node cards,
 * trust files and environment manifests are signed again whenever their file is rewritten.
 */
function isWrittenOnce(path: string): boolean {
  if (!path.startsWith(`${SIGNATURES_FOLDER}/`)) return taskOf(path) !== undefined;
  const where = classifySignaturePath(path, '100644');
  return where !== undefined && !isFileProblem(where) && taskOf(where.signed) !== undefined;
}

interface Change {
  /** git's status letter: M (modified), T (type changed: a file became a link), D (deleted). */
  status: string;
  path: string;
}

function problemFor(change: Change): FileProblem {
  const restore = `git restore --staged --worktree ${change.path}`;
  if (change.status === 'D') {
    const id = taskOf(change.path);
    return {
      path: change.path,
      field: '',
      reason: 'the commit deletes it, but a bus file on main is written once and leaves main only by archiving (docs/PROTOCOL.md §1, §7)',
      fix: `put it back with: ${restore}${id !== undefined ? `; to withdraw the task run "gitbus cancel ${id}"; to move ended tasks off main run "gitbus archive"` : ''}`,
      severity: 'error',
    };
  }
  return {
    path: change.path,
    field: '',
    reason: 'the commit changes it, but a bus file on main is written once: no file is modified after it is committed (docs/PROTOCOL.md §1)',
    fix: `undo the change with: ${restore}; a change of a task's state is a new file (a claim, release, cancel or response), never an edit`,
    severity: 'error',
  };
}

/**
 * The staged changes and deletions of written-once bus files that were valid in HEAD: each refuses the commit.
 * Changing or removing a file that was invalid in HEAD (it did not parse, broke a rule, was a link or folder) is how a
 * person repairs the bus (docs/PROTOCOL.md §4), and stays allowed; so does a change a merge brings from the branch
 * merged (an archive by a node, committed after a conflict was resolved). `staged` is the index being committed.
 */
export async function writtenOnceProblems(staged: readonly ListedFile[], opts: GitOptions): Promise<FileProblem[]> {
  if ((await git(['rev-parse', '--quiet', '--verify', 'HEAD^{commit}'], opts)).code !== 0) return []; // nothing committed yet
  const pathspecs = [...TASK_FOLDERS, SIGNATURES_FOLDER].map((p) => `:(literal)${p}`);
  const fields = splitZ(await gitOut(['diff', '--cached', '--name-status', '-z', '--no-renames', '--no-ext-diff', '--diff-filter=DMT', 'HEAD', '--', ...pathspecs], opts));
  let changes: Change[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const status = fields[i] ?? '';
    const path = fields[i + 1] ?? '';
    if (isWrittenOnce(path)) changes.push({ status, path });
  }
  if (changes.length === 0) return [];
  changes = await withoutMergedIn(changes, staged, opts);
  if (changes.length === 0) return [];

  const head = await committedFiles('HEAD', opts);
  const paths = new Set(changes.map((c) => c.path));
  await addSizes(head, paths, opts);
  const report = await lintListing(head, paths, (oids) => readObjects(oids, opts), { undated: false });
  const broken = new Set(report.problems.filter((p) => p.severity === 'error').map((p) => p.path));
  const byPath = new Map(head.map((f) => [f.path, f] as const));
  return changes.filter((c) => {
    const before = byPath.get(c.path);
    // A path named right but holding a link or submodule in HEAD was no bus file; lint said so at its path.
    return before !== undefined && !broken.has(c.path);
  }).map(problemFor);
}

/** Drops the changes whose staged state is MERGE_HEAD's: they come from the branch being merged, not from this commit. */
async function withoutMergedIn(changes: Change[], staged: readonly ListedFile[], opts: GitOptions): Promise<Change[]> {
  if ((await git(['rev-parse', '--quiet', '--verify', 'MERGE_HEAD^{commit}'], opts)).code !== 0) return changes;
  const theirs = new Map((await committedFiles('MERGE_HEAD', opts, changes.map((c) => `:(literal)${c.path}`))).map((f) => [f.path, f] as const));
  const ours = new Map(staged.map((f) => [f.path, f] as const));
  return changes.filter((c) => {
    const a = ours.get(c.path);
    const b = theirs.get(c.path);
    const same = a === undefined || b === undefined ? a === b : a.mode === b.mode && a.oid === b.oid;
    return !same;
  });
}
