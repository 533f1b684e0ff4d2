import { GitbusError } from '../../schemas/errors.js';

/**
 * Why a dispatch refuses to make project work: the worker starts from the exact commit the dispatcher saw, so
 * that commit must be where the worker fetches from.
 */

/** The base commit is not on the project remote: the worker could not fetch it. */
export class BaseNotPushedError extends GitbusError {
  readonly code = 'BASE_NOT_PUSHED';
  constructor(d: { commit: string; base: string; remote: string; url: string; command: string; dir: string }) {
    const named = d.base === d.commit ? d.commit : `${d.commit} (${d.base})`;
    super(
      `the base commit ${named} is not on the project remote ${d.remote === d.url ? d.url : `${d.remote} (${d.url})`}: a worker could not fetch it`,
      `push it: run "${d.command}"${d.dir ? ` in ${d.dir}` : ''}, then dispatch again; or add --no-repo for a task that does not work on this code`,
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
      `give --base: a branch or tag of ${url}, or a full commit id on it (git ls-remote ${url} lists its branches and tags)`,
      { base, url },
    );
  }
}

/** `git ls-remote` on the project remote failed: it is down, or refuses us. Not the same as "not pushed". */
export class ProjectRemoteError extends GitbusError {
  readonly code = 'PROJECT_REMOTE_UNREACHABLE';
  constructor(url: string, message: string, outage: boolean) {
    super(
      `the project remote ${url} cannot be ${outage ? 'reached' : 'read'}: ${message}`,
      outage
        ? 'check the network and that the host is up, then dispatch again; or add --no-repo for a task that does not work on this code'
        : `check the URL (git remote -v) and that you may read it (git ls-remote ${url}); or add --no-repo for a task that does not work on this code`,
      { url, message, outage },
    );
  }
}
