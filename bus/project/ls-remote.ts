import { git, lastLines, outageOf, ProjectGitError } from './git.js';
import { ProjectRemoteError, type ProjectCommand } from './base-errors.js';

/** What a project remote advertises: its refs (tags also peeled, as `refs/tags/v1^{}`) and its default branch. */
export interface RemoteListing {
  refs: Map<string, string>;
  /** The branch the remote's HEAD points at (`refs/heads/main`), when it says (only a whole listing does). */
  head: string | null;
  /** Every ref the remote has; false for a listing of its branches and tags alone (`LsRemoteScope`). */
  complete: boolean;
}

/**
 * What to list: every ref, or the branches and tags alone. A host keeps other refs too (GitHub one or two per pull
 * request, `refs/pull/*`: megabytes for a project of tens of thousands); with protocol v2 the remote sends only the
 * refs under the prefixes asked for (`ref-prefix refs/heads/`, `refs/tags/`), an older server sends all and git
 * keeps those. Without HEAD, so without the default branch.
 */
export type LsRemoteScope = 'all' | 'branches-and-tags';

/** One network round trip, bounded: a listing that takes longer than this means the remote is not answering. */
export const LS_REMOTE_MS = 60_000;

/** Parses `git ls-remote` (`--symref`: with the remote's HEAD). Pure. */
export function parseLsRemote(out: string, complete = true): RemoteListing {
  const refs = new Map<string, string>();
  let head: string | null = null;
  for (const line of out.split('\n')) {
    const sym = /^ref: (\S+)\tHEAD$/.exec(line);
    if (sym?.[1]) {
      head = sym[1];
      continue;
    }
    const m = /^([0-9a-f]{40}(?:[0-9a-f]{24})?)\t(\S+)$/.exec(line);
    if (m?.[1] && m[2]) refs.set(m[2], m[1]);
  }
  return { refs, head, complete };
}

/**
 * `git ls-remote --symref URL`, or `git ls-remote --heads --tags URL` for the branches and tags alone; a failure is
 * ProjectRemoteError (naming the remote as `shown`, with a fix for the command `by`), saying whether it is an outage.
 */
export async function lsRemote(url: string, by: ProjectCommand, cwd?: string, shown = url, scope: LsRemoteScope = 'all'): Promise<RemoteListing> {
  try {
    const args = scope === 'all' ? ['ls-remote', '--symref', url] : ['ls-remote', '--heads', '--tags', url];
    const r = await git(args, { ...(cwd !== undefined ? { cwd } : {}), timeoutMs: LS_REMOTE_MS, what: `listing ${shown}` });
    return parseLsRemote(r.stdout, scope === 'all');
  } catch (err) {
    if (!(err instanceof ProjectGitError)) throw err;
    // The whole listing says the same and more.
    if (scope !== 'all' && headsRefused(err)) return lsRemote(url, by, cwd, shown, 'all');
    // git adds "Could not read from remote repository" (an outage to outageOf) to "no repository there": a wrong
    // URL is not an outage, and no remote-tracking ref may stand in for it.
    const outage = /does not appear to be a git repository|repository .*not found/i.test(err.stderr) ? null : outageOf(err.stderr);
    throw new ProjectRemoteError(shown, lastLines(err.stderr) || outage || `git ls-remote exited with ${err.exitCode ?? 'a timeout'}`, outage !== null, by);
  }
}

/**
 * Whether git refused `ls-remote --heads` as an option it does not know: git 2.46 named it `--branches` and keeps
 * `--heads` as a synonym it may drop; such a git exits 129 before asking the remote anything. A listing without
 * the option then stands in for it.
 */
export function headsRefused(err: unknown): boolean {
  return err instanceof ProjectGitError && err.exitCode === 129;
}

/** The sha a ref name given as `--base` has on the remote: a branch, a tag (peeled to its commit), or a full ref. Pure. */
export function remoteRef(base: string, listing: RemoteListing): { ref: string; sha: string } | null {
  const candidates = base === 'HEAD' ? ['HEAD'] : base.startsWith('refs/') ? [base] : [`refs/heads/${base}`, `refs/tags/${base}`];
  for (const ref of candidates) {
    const sha = listing.refs.get(`${ref}^{}`) ?? listing.refs.get(ref);
    if (sha !== undefined) return { ref, sha };
  }
  return null;
}
