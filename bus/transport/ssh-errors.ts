import { GitbusError } from '../../schemas/errors.js';

/**
 * A line of an ssh_config file that OpenSSH would also refuse (bad value, bad quotes, Include loop), or a config
 * file OpenSSH would refuse to read. `line` is 0 when the problem is the file as a whole.
 */
export class SshConfigError extends GitbusError {
  readonly code = 'SSH_CONFIG_INVALID';
  constructor(file: string, line: number, keyword: string, problem: string, fix: string, options?: { cause?: unknown }) {
    super(`ssh config ${file}${line > 0 ? ` line ${line}` : ''}: ${problem}`, fix, { file, line, keyword, problem }, options);
  }
}

/** A host name or key type that must not be written into known_hosts (it would corrupt the file or widen the entry). */
export class KnownHostsLineError extends GitbusError {
  readonly code = 'SSH_KNOWN_HOSTS_LINE_INVALID';
  constructor(what: string, value: string, reason: string) {
    super(
      `refusing to write ${what} ${JSON.stringify(value)} to known_hosts: ${reason}`,
      'connect using a plain host name or address (set HostName in ~/.ssh/config if the alias is unusual), or add the key by hand with `ssh-keyscan`',
      { what, value, reason },
    );
  }
}

/** Appending a newly accepted host key to a known_hosts file failed (permissions, read-only home, full disk). */
export class KnownHostsWriteError extends GitbusError {
  readonly code = 'SSH_KNOWN_HOSTS_WRITE_FAILED';
  constructor(file: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      `could not add the host key to ${file}: ${reason}`,
      `make ${file} and its directory writable by you (\`chmod 700 ~/.ssh; chmod 600 ${file}\`), or add the key yourself with \`ssh-keyscan -H <host> >> ${file}\` after checking its fingerprint`,
      { file, reason },
      { cause },
    );
  }
}
