import { GitbusError } from '../../schemas/errors.js';
import { otherHostFileUrl } from '../../schemas/file-url.js';
import { shellWord } from '../project/shell-word.js';
import { PktLineError } from '../git/errors.js';

/** The remote string is neither an absolute path nor a file:// URL. */
export class LocalRemoteInvalidError extends GitbusError {
  readonly code = 'LOCAL_REMOTE_INVALID';
  constructor(remote: string, reason: string) {
    super(
      `${JSON.stringify(remote)} is not a usable local remote: ${reason}`,
      'give the remote as an absolute path to a bare repository (/srv/bus.git) or a file:///srv/bus.git URL',
      { remote, reason },
    );
  }
}

/**
 * A `file://` URL whose host is another machine: git ignores the host and opens the path on this one, so taking it
 * (as the bus remote, or a task's project remote) would silently read a local folder of that name instead.
 */
export class FileUrlOtherHostError extends GitbusError {
  readonly code = 'FILE_URL_OTHER_HOST';
  constructor(url: string, host: string, path: string) {
    const { reason, fix } = otherHostFileUrl(url, { host, path });
    super(reason, fix, { url, host, path });
  }
}

/** Where a missing repository was looked for: a local path (the default), an http(s) URL, or a path on an SSH host. */
export type NotFoundVia = 'local' | 'empty' | 'http' | { ssh: { host: string; path: string; said: string } };

/**
 * A local remote path that does not exist or is an empty folder (a mount point without its disk: an outage, not a
 * repository to repair), an http(s) remote answering 404, or an SSH host whose git found no repository at the path.
 * `path` is the remote as node.yaml names it, alone: what the server said goes apart.
 */
export class RemoteNotFoundError extends GitbusError {
  readonly code = 'REMOTE_NOT_FOUND';
  constructor(path: string, via: NotFoundVia = 'local') {
    if (via === 'http') {
      super(
        `there is no git repository at ${path} (HTTP 404)`,
        'check the URL (it usually ends in .git); some hosts answer 404 instead of 401 for private repositories, so also check the token (GITBUS_TOKEN or credentials.yaml in the bus home)',
        { path, status: 404 },
      );
    } else if (via === 'empty') {
      // An empty folder where the repository is named: most often the mount point of a shared disk not mounted.
      super(`the remote repository ${path} is an empty folder`, 'is the shared disk mounted there? check the path; for a new bus, give `gitbus init --remote` a path that does not exist yet: it creates the repository there', { path, empty: true });
    } else if (via === 'local') {
      // An empty repository made by hand is no bus either (NOT_A_BUS): init makes the repository and the bus in one.
      super(`the remote repository ${path} does not exist`, `check the path (is the shared disk mounted?); to make a new bus there, \`gitbus init --remote ${shellWord(path)}\` creates the repository`, { path });
    } else {
      const { host, path: onHost, said } = via.ssh;
      super(
        `the remote repository ${path} does not exist${said ? ` (the host said: ${said})` : ''}`,
        `check the path on ${host}; to make a new bus there, \`gitbus init --remote ${shellWord(path)}\` creates the repository, or create it yourself with \`ssh ${shellWord(host)} git init --bare --initial-branch=main ${shellWord(onHost)}\``,
        { path, host, hostPath: onHost, said },
      );
    }
  }
}

/**
 * A local remote that lists and fetches but cannot be written (a read-only mount, permissions changed): a push
 * outage a person ends (bus/remote-failure.ts), where each wake's push reported a bare EROFS under the remote.
 */
export class RemoteNotWritableError extends GitbusError {
  readonly code = 'REMOTE_NOT_WRITABLE';
  constructor(path: string, file: string, errno: string) {
    super(
      `the remote repository ${path} cannot be written (${errno} on ${file})`,
      errno === 'EROFS'
        ? `the file system holding ${path} is read-only: remount it writable (mount -o remount,rw), or ask whoever runs it; results wait in the outbox meanwhile`
        : `give this user write access to ${path} (owner, group, or the mount's options); results wait in the outbox meanwhile`,
      { path, file, errno },
    );
  }
}

export class RemoteNotAGitRepositoryError extends GitbusError {
  readonly code = 'REMOTE_NOT_A_REPOSITORY';
  constructor(path: string, reason: string) {
    super(`${path} is not a git repository (${reason})`, 'point the remote at a bare git repository (a directory holding HEAD, objects/ and refs/)', {
      path,
      reason,
    });
  }
}

export class RemoteNotBareError extends GitbusError {
  readonly code = 'REMOTE_NOT_BARE';
  constructor(path: string) {
    super(
      `${path} is a repository with a work tree, not a bare repository; pushing to it would fight with its checkout`,
      `use a bare repository as the shared remote, e.g. \`git clone --bare ${path} ${path.replace(/\/(\.git)?\/?$/, '')}-bus.git\``,
      { path },
    );
  }
}

export class GitCliMissingError extends GitbusError {
  readonly code = 'GIT_CLI_MISSING';
  constructor(gitPath: string, cause?: unknown) {
    super(
      `the git command (${gitPath}) was not found; gitbus needs it to serve local and shared-disk remotes`,
      'install git (e.g. `apt install git`, `brew install git`, or Xcode command line tools) and make sure it is on PATH',
      { gitPath },
      cause === undefined ? undefined : { cause },
    );
  }
}

/** A git service process failed (non-zero exit). `stdout` is kept because upload-pack puts `ERR` packets there. */
export class GitServiceError extends GitbusError {
  readonly code = 'GIT_SERVICE_FAILED';
  readonly stdout: Uint8Array;
  readonly stderr: string;
  constructor(args: { service: string; remote: string; exitCode: number | null; signal: string | null; stderr: string; stdout: Uint8Array }) {
    const how = args.signal ? `was killed by ${args.signal}` : `exited with code ${args.exitCode}`;
    const said = args.stderr.trim();
    const fix = /dubious ownership/.test(said)
      ? `the repository is owned by another user: run \`git config --global --add safe.directory ${args.remote}\` if you trust it`
      : 'read git\'s message above; check that the remote repository is healthy (`git fsck`) and readable and writable by you';
    super(`git ${args.service.replace(/^git-/, '')} on ${args.remote} ${how}${said ? `: ${said}` : ''}`, fix, {
      service: args.service,
      remote: args.remote,
      exitCode: args.exitCode,
      signal: args.signal,
      stderr: args.stderr,
    });
    this.stdout = args.stdout;
    this.stderr = args.stderr;
  }
}

export class TransportTimeoutError extends GitbusError {
  readonly code = 'TRANSPORT_TIMEOUT';
  constructor(what: string, remote: string, timeoutMs: number) {
    super(`${what} on ${remote} did not finish within ${timeoutMs} ms and was stopped`, 'check that the remote is reachable and not stuck (a hung network mount, a hook waiting for input), then try again', {
      what,
      remote,
      timeoutMs,
    });
  }
}

export class TransportClosedError extends GitbusError {
  readonly code = 'TRANSPORT_CLOSED';
  constructor(remote: string) {
    super(`the transport to ${remote} was used after it was closed`, 'this is a bug in gitbus: report it with the command you ran', { remote });
  }
}

/** An http(s) remote URL that cannot be used as given (a password in it, a malformed URL). */
export class RemoteUrlInvalidError extends GitbusError {
  readonly code = 'REMOTE_URL_INVALID';
  constructor(display: string, reason: string, fix: string) {
    super(`the remote URL ${display} cannot be used: ${reason}`, fix, { url: display, reason });
  }
}

/**
 * The host could not be reached at all (DNS, connection refused or reset, TLS failure), or went silent (`more`: the
 * fix for that, and how long it waited).
 */
export class RemoteUnreachableError extends GitbusError {
  readonly code = 'REMOTE_UNREACHABLE';
  constructor(display: string, reason: string, cause?: unknown, more: { fix?: string; data?: Record<string, unknown> } = {}) {
    super(
      `could not reach the remote ${display}: ${reason}`,
      more.fix ?? 'check the URL, the network and that the git server is running; for https check the server certificate (NODE_EXTRA_CA_CERTS for a private CA)',
      { url: display, reason, ...more.data },
      cause === undefined ? undefined : { cause },
    );
  }
}

/** 401 or 403 from an http(s) remote. */
export class RemoteAuthError extends GitbusError {
  readonly code = 'REMOTE_AUTH_FAILED';
  constructor(display: string, status: number, sentToken: boolean, credentialsFile: string | undefined) {
    const where = `set GITBUS_TOKEN=<token> in the environment, or add \`- {host: <host>, token: <token>}\` to ${credentialsFile ?? '<bus home>/credentials.yaml'} (mode 0600)`;
    super(
      status === 401
        ? `the remote ${display} asks for authentication (HTTP 401)${sentToken ? ' and refused the token gitbus sent' : ' and no token is configured for its host'}`
        : `the remote ${display} refused access (HTTP 403)${sentToken ? '' : '; no token is configured for its host'}`,
      sentToken ? `check that the token is valid and grants read and write access to the repository; ${where}` : where,
      { url: display, status, sentToken },
    );
  }
}

/** The server answered, but not with git's smart HTTP protocol (a web page, the dumb protocol). */
export class RemoteNotSmartHttpError extends GitbusError {
  readonly code = 'REMOTE_NOT_SMART_HTTP';
  constructor(display: string, contentType: string) {
    super(
      `${display} does not speak git's smart HTTP protocol (content type ${JSON.stringify(contentType)})`,
      'point the remote at a git server with smart HTTP (git http-backend, GitHub, GitLab, Gitea); the dumb HTTP protocol cannot push',
      { url: display, contentType },
    );
  }
}

/** An https remote whose server redirects to plain http: gitbus does not follow it (its data would go in clear). */
export class RemoteInsecureRedirectError extends GitbusError {
  readonly code = 'REMOTE_INSECURE_REDIRECT';
  constructor(display: string, status: number, location: string) {
    super(
      `the https remote ${display} redirects to plain http (HTTP ${status} to ${location}); gitbus does not follow an https remote to http`,
      "fix the server's redirect, or set remote: in this node's node.yaml to the URL the repository is served at over https",
      { url: display, status, location },
    );
  }
}

/** Any other unexpected HTTP answer (5xx, an unexpected redirect). */
export class RemoteHttpError extends GitbusError {
  readonly code = 'REMOTE_HTTP_ERROR';
  constructor(display: string, what: string, status: number, detail: string) {
    super(`${what} on ${display} failed with HTTP ${status}${detail ? `: ${detail}` : ''}`, 'check the git server (its logs, disk, permissions) and try again', {
      url: display,
      what,
      status,
      detail,
    });
  }
}

/** The credentials file is unusable: readable by others, or not a list of {host, username?, token}. */
export class CredentialsFileError extends GitbusError {
  readonly code = 'REMOTE_CREDENTIALS_INVALID';
  constructor(path: string, reason: string, fix: string) {
    super(`${path} cannot be used: ${reason}`, fix, { path, reason });
  }
}

/**
 * A remote whose answer should have been git's protocol and was not (a proxy's or captive portal's page with the
 * right content type, a broken server): a remote failure like any other (REMOTE_), naming the remote.
 */
export class RemoteGarbledError extends GitbusError {
  readonly code = 'REMOTE_PROTOCOL_GARBLED';
  constructor(remote: string, what: string, err: PktLineError) {
    super(
      `the remote ${remote} answered ${what} with data that is not git's protocol: ${err.message}`,
      `check that ${remote} is a git repository served by git itself (for http(s), git's smart HTTP: a proxy, login page or captive portal may be answering in its place); if it is, run git ls-remote ${shellWord(remote)} to see what it sends`,
      { remote, what, ...err.data },
      { cause: err },
    );
  }
}

/** Reads `what` from the remote, a PktLineError becoming the remote's failure (RemoteGarbledError). */
export function readingFrom<T>(remote: string, what: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw err instanceof PktLineError ? new RemoteGarbledError(remote, what, err) : err;
  }
}

/** readingFrom for an answer still on its way. */
export async function readingFromAsync<T>(remote: string, what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw err instanceof PktLineError ? new RemoteGarbledError(remote, what, err) : err;
  }
}
