import { GitbusError } from '../../schemas/errors.js';

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

export class RemoteNotFoundError extends GitbusError {
  readonly code = 'REMOTE_NOT_FOUND';
  constructor(path: string) {
    super(
      `the remote repository ${path} does not exist`,
      `check the path (is the shared disk mounted?), or create the repository with \`git init --bare --initial-branch=main ${path}\``,
      { path },
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
