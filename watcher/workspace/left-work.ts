import { git } from '../../bus/project/git.js';
import { shellWord } from '../../bus/project/shell-word.js';
import { firstLine } from '../../schemas/errors.js';
import { quotedName } from '../../schemas/quoted-name.js';
import type { WorktreeRecord } from './registry.js';
import { inWorktree } from './worktree-git.js';

/**
 * Work a run leaves off what gitbus delivers. gitbus pushes the worktree's HEAD as the task's branch, so a run that
 * ends on another branch (`git checkout main`) has that branch's head delivered, and commits it makes on a branch it
 * then leaves (`git checkout -b x`, a commit, `git checkout -`) are delivered nowhere: they stay in the node's
 * cached clone, which every worktree of the project shares. Which commits are the run's is read from the
 * worktree's own HEAD reflog, which records what HEAD did in that worktree alone: the branches of the shared clone
 * as a whole would take in what a parallel run of the same project made in its own worktree meanwhile.
 */

/** Where a run started: the entries of the worktree's HEAD reflog before it (its own are the newer ones), and HEAD's ref. */
export interface RunStart {
  entries: number;
  /** The ref HEAD was on (`refs/heads/x`); null on a detached HEAD. */
  ref: string | null;
}

/** Commits a run made on a local branch that are neither in the result nor on the project remote. */
export interface LeftBranch {
  branch: string;
  commits: number;
  /** The newest of them. */
  tip: string;
}

export interface LeftWork {
  /** The ref HEAD ended on, when that is not the task's branch (null: a detached HEAD it did not start on). */
  endedOn?: string | null;
  left: LeftBranch[];
  /** Further branches holding such commits, not counted (a run seldom leaves more than one). */
  more: number;
  /** For the task's log: why something could not be looked at. The response then warns of nothing it could not check. */
  notes: string[];
}

/** The newest entries read of a run's own, and the commits it made looked up at most: a run makes few of either. */
const MAX_ENTRIES = 2000;
const MAX_MADE = 200;
const MAX_BRANCHES = 10;
/** Branches the response names one by one; the rest are a count (each warning is a long line). */
const WARNED_BRANCHES = 3;

/**
 * Reflog entries of a commit the run made (commit, amend, a merge commit, cherry-pick, revert, am, a rebase's
 * picks), not of HEAD moving to a commit that was there before (checkout, reset, a fast-forward, a rebase's start
 * and finish): a branch that a move put HEAD on holds work of whoever made it.
 */
const MADE = /^(?:commit|cherry-pick|revert|am|merge|pull|rebase)\b/;
const MOVED = /^[^:]*\((?:start|finish|abort)\)|^(?:merge|pull)\b[^:]*: Fast-forward$/;

/** Which reflog subjects are commits the run made. Pure. */
export function madeByRun(subject: string): boolean {
  return MADE.test(subject) && !MOVED.test(subject);
}

/** The worktree's HEAD reflog now, newest first, as commit ids and subjects; null when the worktree has none of its own. */
async function reflogOf(path: string, max?: number): Promise<{ commit: string; subject: string }[] | null> {
  const at = inWorktree(path);
  // `reflog exists` first: asked for a HEAD without a reflog of its own, git walks its branch's, which other worktrees write too.
  const [exists, log] = await Promise.all([git(['reflog', 'exists', 'HEAD'], { ...at, okCodes: [1] }), git(['reflog', 'show', '--format=%H%x00%gs', ...(max === undefined ? [] : ['-n', String(max)]), 'HEAD'], { ...at, okCodes: [128] })]);
  if (exists.code !== 0) return null;
  if (log.code !== 0) throw new Error(`git reflog show HEAD: ${firstLine(log.stderr)}`);
  return log.stdout.split('\n').flatMap((line) => {
    const [commit = '', subject = ''] = line.split('\0');
    return /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(commit) ? [{ commit, subject }] : [];
  });
}

async function headRef(path: string): Promise<string | null> {
  const r = await git(['symbolic-ref', '--quiet', 'HEAD'], { ...inWorktree(path), okCodes: [1] });
  return r.code === 0 ? r.stdout.trim() : null;
}

/** Where the run in `path` starts (before its setup command), or why that could not be read; never throws. */
export async function runStart(path: string): Promise<RunStart | { problem: string }> {
  try {
    const [log, ref] = await Promise.all([reflogOf(path), headRef(path)]);
    return { entries: log?.length ?? 0, ref };
  } catch (err) {
    return { problem: firstLine(err) };
  }
}

/** A note for the task's log, capped: git's message may list every commit id it was given. */
const note = (what: string, why: string) => `gitbus: could not look for ${what} (the response warns of nothing it could not check): ${why.slice(0, 500)}`;

/**
 * What the run in `path` left off the result `head` of the task's `branch`: the ref it ended on when not the
 * branch, and the local branches holding commits it made that are neither in `head` nor on the project remote (as
 * last fetched). Never throws: what could not be checked is a note for the task's log, and warns of nothing.
 */
export async function leftWork(path: string, start: RunStart | { problem: string }, branch: string, head: string): Promise<LeftWork> {
  if ('problem' in start) return { left: [], more: 0, notes: [note('work the run left off its branch', `where it started could not be read: ${start.problem}`)] };
  const out: LeftWork = { left: [], more: 0, notes: [] };
  try {
    const end = await headRef(path);
    // A worktree made on a detached HEAD (its branch checked out by another worktree) delivers its HEAD as the branch.
    if (end !== `refs/heads/${branch}` && !(end === null && start.ref === null)) out.endedOn = end;
  } catch (err) {
    out.notes.push(note('the branch the run ended on', firstLine(err)));
  }
  try {
    const log = await reflogOf(path, start.entries + MAX_ENTRIES);
    if (log === null || log.length < start.entries) {
      if (start.entries > 0) out.notes.push(note('commits the run left on other branches', `its worktree's HEAD reflog has ${log?.length ?? 0} entries, ${start.entries} at its start: the run removed or rewrote it`));
      return out;
    }
    const own = log.slice(0, log.length >= start.entries + MAX_ENTRIES ? MAX_ENTRIES : log.length - start.entries);
    const made = [...new Set(own.filter((e) => madeByRun(e.subject)).map((e) => e.commit))].slice(0, MAX_MADE);
    if (made.length === 0) return out;
    const mine = new Set(made);
    const at = inWorktree(path);
    const offResult = async (tips: string[]) => (await git(['rev-list', ...tips, `^${head}`, '--not', '--remotes=origin'], at)).stdout.split('\n').filter((c) => mine.has(c));
    const lost = await offResult(made);
    if (lost.length === 0) return out;
    // Branch names are read, never given back to git: a name that is not UTF-8 would not survive the round trip.
    const refs = await git(['for-each-ref', '--format=%(objectname)%00%(refname)', ...lost.flatMap((c) => ['--contains', c]), 'refs/heads/'], at);
    const holders = refs.stdout.split('\n').flatMap((line) => {
      const [commit = '', ref = ''] = line.split('\0');
      return ref.startsWith('refs/heads/') ? [{ commit, branch: ref.slice('refs/heads/'.length) }] : [];
    });
    const counted = await Promise.all(holders.slice(0, MAX_BRANCHES).map(async (h) => ({ ...h, own: await offResult([h.commit]) })));
    for (const h of counted) if (h.own[0] !== undefined) out.left.push({ branch: h.branch, commits: h.own.length, tip: h.own[0] });
    out.more = Math.max(0, holders.length - MAX_BRANCHES);
  } catch (err) {
    out.notes.push(note('commits the run left on other branches', firstLine(err)));
    out.left = [];
    out.more = 0;
  }
  return out;
}

/** The Branch section's warning of a run that ended off its task's branch: what was delivered, and how to see it. Pure. */
export function endedOffWarning(r: Pick<WorktreeRecord, 'branch' | 'baseCommit' | 'path'>, endedOn: string | null, head: string, node: string): string {
  const h = head.slice(0, 12);
  const on = endedOn === null ? 'on a detached HEAD' : endedOn.startsWith('refs/heads/') ? `on the branch ${quotedName(endedOn.slice('refs/heads/'.length))}` : `on ${quotedName(endedOn)}`;
  const what = endedOn === null ? `that HEAD, ${h}` : `that branch's head ${h}`;
  return `the run ended ${on}, not on its task branch ${r.branch}: gitbus delivers the worktree's HEAD, so the result given as ${r.branch} is ${what}, and later runs in this worktree continue there. See what it holds with git -C ${shellWord(r.path)} log --oneline ${r.baseCommit.slice(0, 12)}..${h} on ${node}`;
}

/** How a person gets commits left on a branch: into the result, or onto the project remote beside it. Pure. */
export function takeLeftCommands(r: Pick<WorktreeRecord, 'branch' | 'path'>, tip: string): { cherryPick: string; push: string } {
  const path = shellWord(r.path);
  const t = tip.slice(0, 12);
  return { cherryPick: `git -C ${path} cherry-pick HEAD..${t} && git -C ${path} push origin ${shellWord(`HEAD:refs/heads/${r.branch}`)}`, push: `git -C ${path} push origin ${t}:refs/heads/NAME` };
}

/** The Branch section's warning of commits the run left on a branch that was not delivered, with the fix. Pure. */
export function leftBranchWarning(r: Pick<WorktreeRecord, 'branch' | 'path'>, left: LeftBranch, head: string, node: string): string {
  const one = left.commits === 1;
  const it = one ? 'it' : 'them';
  const take = takeLeftCommands(r, left.tip);
  return `the run made ${left.commits} commit${one ? '' : 's'} on the branch ${quotedName(left.branch)} (newest ${left.tip.slice(0, 12)}) that ${one ? 'is' : 'are'} not in the result ${head.slice(0, 12)} nor on the project remote: gitbus delivers only the worktree's HEAD. ${one ? 'It is' : 'They are'} only on ${node}, in its clone of the project; "gitbus worktrees prune" there keeps the worktree ${r.path} until the project remote has ${it} or no branch holds ${it}. Take ${it} into the result with ${take.cherryPick}, or push ${it} as a branch of its own with ${take.push}`;
}

/** The warning of branches beyond those warned of one by one: the worktree is kept for them all the same. Pure. */
export function moreBranchesWarning(more: number): string {
  return `the run left such commits on ${more} more branch${more === 1 ? '' : 'es'} too, not named here; "gitbus worktrees" lists what keeps the worktree`;
}

/** The Branch section's warnings of what the run left off its result: the ref it ended on, then the branches. Pure. */
export function leftWorkWarnings(r: Pick<WorktreeRecord, 'branch' | 'baseCommit' | 'path'>, w: LeftWork, head: string, node: string): string[] {
  const out: string[] = [];
  if (w.endedOn !== undefined) out.push(endedOffWarning(r, w.endedOn, head, node));
  for (const l of w.left.slice(0, WARNED_BRANCHES)) out.push(leftBranchWarning(r, l, head, node));
  const more = Math.max(0, w.left.length - WARNED_BRANCHES) + w.more;
  if (more > 0) out.push(moreBranchesWarning(more));
  return out;
}
