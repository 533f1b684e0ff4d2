import { GitbusError } from '../../schemas/errors.js';
import { shellWord } from './shell-word.js';

/**
 * Why a dispatch refuses to make project work: the worker starts from the exact commit the dispatcher saw, so
 * that commit must be where the worker fetches from. The fix names only what the command that asked accepts.
 */

/** The command whose project work is checked: `dispatch` (and the MCP server's dispatch tool), `run` or `fanout`. */
export type ProjectCommand = 'dispatch' | 'run' | 'fanout';

const AGAIN: Record<ProjectCommand, string> = { dispatch: 'dispatch again', run: 'run gitbus run again', fanout: 'run gitbus fanout again' };

/** How to make the same task without the project: dispatch has --no-repo; run makes project work only when asked; a fan-out always is. */
const PLAIN: Record<ProjectCommand, string> = {
  dispatch: '; or add --no-repo for a task that does not work on this code',
  run: '; or leave out --repo, --base and --branch for a task that does not work on this code',
  fanout: '',
};

/** The base commit is not on the project remote: the worker could not fetch it. */
export class BaseNotPushedError extends GitbusError {
  readonly code = 'BASE_NOT_PUSHED';
  /**
   * `headOf`: the local branch whose HEAD the commit is, when it is named otherwise than the base it tracks.
   * `unlisted`: why the remote's refs other than branches and tags could not be listed (a pull request's may hold it).
   * `elsewhere`: the checkout's pushes to `remote` go to another URL (a push URL, a pushInsteadOf), perhaps another
   * repository, so `command` pushes to the URL the task reads.
   */
  constructor(d: { commit: string; base: string; remote: string; url: string; command: string; dir: string; headOf?: string; unlisted?: string; elsewhere?: boolean }, by: ProjectCommand) {
    const named = d.base === d.commit ? d.commit : `${d.commit} (${d.headOf !== undefined ? `the HEAD of your local branch ${d.headOf}, which tracks ${d.base}` : d.base})`;
    const unlisted = d.unlisted !== undefined ? ` (on no branch or tag of it; its other refs could not be listed: ${d.unlisted})` : '';
    const elsewhere = d.elsewhere ? `; "git push ${d.remote}" goes to another URL (a push URL or url.*.pushInsteadOf in its git config) than ${d.url}, which the task reads` : '';
    super(
      `the base commit ${named} is not on the project remote ${d.remote === d.url ? d.url : `${d.remote} (${d.url})`}${unlisted}: a worker could not fetch it${elsewhere}`,
      d.elsewhere
        ? `push it to ${d.url}: run "${d.command}"${d.dir ? ` in ${d.dir}` : ''} (a url.*.pushInsteadOf that matches ${d.url} rewrites that push too: run it where that rule does not apply), or give --repo the repository you push to; then ${AGAIN[by]}${PLAIN[by]}`
        : `push it: run "${d.command}"${d.dir ? ` in ${d.dir}` : ''}, then ${AGAIN[by]}${PLAIN[by]}`,
      d,
    );
  }
}

/** `--base` names nothing the checkout or the project remote has, or the remote has no default branch to start from. */
export class BaseNotFoundError extends GitbusError {
  readonly code = 'BASE_NOT_FOUND';
  constructor(base: string | null, url: string, where: string) {
    super(
      base === null ? `the project remote ${url} has no default branch to start from (it is empty, or its HEAD names no branch)` : `--base ${JSON.stringify(base)} is not a commit ${where}`,
      `give --base: a branch or tag of ${url}, or a full commit id on it (git ls-remote ${shellWord(url)} lists its branches and tags)`,
      { base, url },
    );
  }
}

/** `git ls-remote` on the project remote failed: it is down, or refuses us. Not the same as "not pushed". */
export class ProjectRemoteError extends GitbusError {
  readonly code = 'PROJECT_REMOTE_UNREACHABLE';
  /** `named`: the `--repo` word was taken as a path relative to the current directory because no project or remote has that name. */
  constructor(url: string, message: string, outage: boolean, by: ProjectCommand, named?: { word: string; projects: string[] }) {
    const projects = named ? (named.projects.length ? `node.yaml names ${named.projects.join(', ')}` : 'node.yaml names none') : '';
    super(
      `the project remote ${url} cannot be ${outage ? 'reached' : 'read'}: ${message}${named ? `; --repo ${named.word} was taken as a path because no node.yaml project and no remote of the checkout here is named ${named.word} (${projects})` : ''}`,
      named
        ? `give --repo a project name node.yaml has, a remote name of the checkout you run in, or the remote's URL${PLAIN[by]}`
        : outage
          ? `check the network and that the host is up, then ${AGAIN[by]}${PLAIN[by]}`
          : `check the URL (git remote -v) and that you may read it (git ls-remote ${shellWord(url)})${PLAIN[by]}`,
      { url, message, outage, ...(named ? { repo: named.word, projects: named.projects } : {}) },
    );
  }
}
