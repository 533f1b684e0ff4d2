import { GitbusError } from '../../schemas/errors.js';

/** Where a connection went, for messages: the alias the user wrote and what it resolved to. */
export interface SshWhere {
  /** The remote as written (`gpu:bus.git`, `ssh://bus@host/srv/bus.git`). */
  remote: string;
  /** `user@hostname:port`, after ~/.ssh/config. */
  endpoint: string;
  /** The host as written in the remote, when it is an alias for another HostName. */
  alias?: string;
}

function describe(w: SshWhere): string {
  return w.alias ? `${w.endpoint} (alias ${w.alias})` : w.endpoint;
}

/** No TCP connection (DNS, refused, unreachable, timed out) or the proxy command failed. */
export class SshUnreachableError extends GitbusError {
  readonly code = 'SSH_UNREACHABLE';
  constructor(where: SshWhere, reason: string, cause?: unknown) {
    super(
      `could not connect to ${describe(where)} for the remote ${where.remote}: ${reason}`,
      'check that the host is up and sshd listens on that port (try `ssh -v` with the same host), and the HostName/Port of the alias in ~/.ssh/config',
      { ...where, reason },
      cause === undefined ? undefined : { cause },
    );
  }
}

/** The server's host key is not in known_hosts (OpenSSH would ask; a daemon cannot). */
export class SshHostKeyUnknownError extends GitbusError {
  readonly code = 'SSH_HOST_KEY_UNKNOWN';
  constructor(where: SshWhere & { knownHostsName: string; keyType: string; fingerprint: string; knownHostsFile: string; port: number; hostName: string }) {
    const keyscan = `ssh-keyscan${where.port === 22 ? '' : ` -p ${where.port}`} -t ${where.keyType} ${where.hostName} >> ${where.knownHostsFile}`;
    super(
      `the host key of ${describe(where)} is not known: ${where.keyType} ${where.fingerprint} (no entry for ${where.knownHostsName} in known_hosts)`,
      `make sure ${where.fingerprint} is the host's key (on the host: \`ssh-keygen -lf /etc/ssh/ssh_host_${where.keyType.replace(/^ssh-|-sha2-.*$/g, '')}_key.pub\`), then trust it: \`${keyscan}\`, or connect once with \`ssh${where.port === 22 ? '' : ` -p ${where.port}`} ${where.hostName}\` and answer yes, or set \`StrictHostKeyChecking accept-new\` for the host in ~/.ssh/config`,
      { ...where },
    );
  }
}

/** The server presented a different key than known_hosts has for it: possibly a man-in-the-middle. */
export class SshHostKeyChangedError extends GitbusError {
  readonly code = 'SSH_HOST_KEY_CHANGED';
  constructor(where: SshWhere & { knownHostsName: string; keyType: string; knownKeyType: string; fingerprint: string; file: string; line: number; revoked?: boolean }) {
    super(
      where.revoked
        ? `the host key of ${describe(where)} (${where.keyType} ${where.fingerprint}) is marked @revoked in ${where.file}:${where.line}; refusing to connect`
        : `the host key of ${describe(where)} has CHANGED: it offered ${where.keyType} ${where.fingerprint}, but ${where.file}:${where.line} has ${where.knownKeyType === where.keyType ? 'another' : 'an'} ${where.knownKeyType} key for ${where.knownHostsName}. Someone could be intercepting the connection, or the host was reinstalled`,
      where.revoked
        ? 'ask the host administrator for the host\'s current key'
        : `confirm the new key with the host's administrator; only then remove the old one with \`ssh-keygen -R '${where.knownHostsName}' -f ${where.file}\` and connect again`,
      { ...where },
    );
  }
}

/** Every authentication method was refused (wrong key, user not allowed, no key at all). */
export class SshAuthError extends GitbusError {
  readonly code = 'SSH_AUTH_FAILED';
  constructor(where: SshWhere & { user: string; tried: string[]; serverAccepts: string[] }) {
    const tried = where.tried.length > 0 ? where.tried.join('; ') : 'no key was available (no ssh-agent, no IdentityFile, no ~/.ssh/id_* key)';
    super(
      `${describe(where)} refused the login of ${where.user}: tried ${tried}` +
        (where.serverAccepts.length > 0 ? `; the server accepts ${where.serverAccepts.join(', ')}` : ''),
      `put your public key in ~${where.user}/.ssh/authorized_keys on the host (\`ssh-copy-id\`), or load the right key into ssh-agent (\`ssh-add <key>\`), or name it with IdentityFile for the host in ~/.ssh/config; check that the user (${where.user}) may log in`,
      { ...where },
    );
  }
}

/** The handshake or a channel failed in a way that is not one of the above (protocol error, disconnect). */
export class SshConnectionError extends GitbusError {
  readonly code = 'SSH_CONNECTION_FAILED';
  constructor(where: SshWhere, reason: string, cause?: unknown) {
    super(
      `the SSH connection to ${describe(where)} failed: ${reason}`,
      'try again; if it persists, compare with `ssh -v` to the same host and check the server\'s sshd log',
      { ...where, reason },
      cause === undefined ? undefined : { cause },
    );
  }
}

/** The remote command could not run git at all (not installed, a restricted shell, a nologin account). */
export class SshRemoteCommandError extends GitbusError {
  readonly code = 'SSH_REMOTE_COMMAND_FAILED';
  constructor(where: SshWhere, command: string, exitCode: number | null, stderr: string) {
    const said = stderr.trim().split('\n').slice(-3).join(' / ');
    const notFound = exitCode === 127 || /command not found|not found/i.test(said);
    super(
      `${describe(where)} could not run \`${command}\`${exitCode === null ? '' : ` (exit ${exitCode})`}${said ? `: ${said}` : ''}`,
      notFound
        ? 'install git on the host and make sure git-upload-pack and git-receive-pack are on the PATH of a non-interactive ssh session'
        : 'check that this user may run git commands on the host (its login shell, a ForceCommand, or an authorized_keys command= option)',
      { ...where, command, exitCode, stderr },
    );
  }
}

/** A private key file is encrypted and no passphrase was available. */
export class SshKeyPassphraseError extends GitbusError {
  readonly code = 'SSH_KEY_PASSPHRASE';
  constructor(keyFile: string, reason: string) {
    super(
      `the SSH key ${keyFile} ${reason}`,
      `add it to ssh-agent (\`ssh-add ${keyFile}\`), or set GITBUS_SSH_PASSPHRASE for non-interactive use`,
      { keyFile, reason },
    );
  }
}
