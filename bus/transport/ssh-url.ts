import { RemoteUrlInvalidError } from './errors.js';
import { hasAsciiCaseless, hasUrlScheme } from '../../schemas/text-scan.js';

/** Where an SSH remote points, as git reads `ssh://` URLs and scp-like `[user@]host:path`. */
export interface SshRemote {
  /** User from the URL; undefined lets ~/.ssh/config (User) or the local user name decide. */
  user: string | undefined;
  /** Host or ~/.ssh/config alias, as written (brackets of an IPv6 address removed). */
  host: string;
  /** Port from an ssh:// URL; undefined lets ~/.ssh/config (Port) or 22 decide. */
  port: number | undefined;
  /** The path as the remote's git must see it: absolute, `~/…`/`~user/…`, or relative to the login directory. */
  path: string;
  /** The remote as stored in node.yaml and shown in messages (no trailing slash). */
  display: string;
}

/**
 * The length of an ssh URL's scheme and `://` at the start of `remote` (`ssh://`, git's `git+ssh://` and `ssh+git://`,
 * any case), else 0: `/^(ssh|git\+ssh|ssh\+git):\/\//i` without compiling it (schemas/text-scan.ts).
 */
function sshSchemeLength(remote: string): number {
  for (const scheme of ['ssh://', 'git+ssh://', 'ssh+git://']) if (hasAsciiCaseless(remote, 0, scheme)) return scheme.length;
  return 0;
}

/** True for `ssh://` URLs (and git's `git+ssh://`, `ssh+git://`) and scp-like `[user@]host:path`. */
export function isSshRemote(remote: string): boolean {
  if (sshSchemeLength(remote) > 0) return true;
  if (hasUrlScheme(remote)) return false;
  // git's rule: scp-like when a colon comes before any slash (so ./a:b and /a:b are local paths).
  const colon = remote.indexOf(':');
  const slash = remote.indexOf('/');
  return colon > 0 && (slash < 0 || colon < slash);
}

export function parseSshRemote(remote: string): SshRemote {
  const invalid = (reason: string): never => {
    throw new RemoteUrlInvalidError(JSON.stringify(remote), reason, 'give the remote as ssh://[user@]host[:port]/path/bus.git or [user@]host:path/bus.git (host may be an alias from ~/.ssh/config)');
  };
  const scheme = sshSchemeLength(remote);
  if (scheme > 0) {
    let url: URL;
    try {
      // WHATWG URL parsing keeps the path as written for ssh:// (not a special scheme), IPv6 hosts included.
      url = new URL(`ssh://${remote.slice(scheme)}`);
    } catch {
      return invalid('not a valid URL');
    }
    if (url.password !== '') return invalid('it contains a password; gitbus authenticates over SSH with keys only');
    if (url.search !== '' || url.hash !== '') return invalid('it has a query or fragment');
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (host === '') return invalid('it has no host');
    const decoded = (part: string, what: string): string => {
      try {
        return decodeURIComponent(part);
      } catch {
        return invalid(`its ${what} is not valid percent-encoding (a "%" must start an escape of UTF-8 text, such as %20)`);
      }
    };
    let path = decoded(url.pathname, 'path');
    if (path === '' || path === '/') return invalid('it has no repository path');
    // git: ssh://host/~/repo and ssh://host/~user/repo are relative to a home directory.
    if (path.startsWith('/~')) path = path.slice(1);
    path = trimSlash(path);
    const user = url.username === '' ? undefined : decoded(url.username, 'user name');
    const port = url.port === '' ? undefined : Number(url.port);
    const hostPart = host.includes(':') ? `[${host}]` : host;
    const display = `ssh://${user ? `${user}@` : ''}${hostPart}${port ? `:${port}` : ''}${path.startsWith('/') ? '' : '/'}${path}`;
    return { user, host, port, path, display };
  }
  if (!isSshRemote(remote)) return invalid('it is neither an ssh:// URL nor host:path');
  const colon = remote.indexOf(':');
  let userHost = remote.slice(0, colon);
  const path = trimSlash(remote.slice(colon + 1));
  if (path === '') return invalid('it has no repository path after the colon');
  let user: string | undefined;
  const at = userHost.lastIndexOf('@');
  if (at >= 0) {
    user = userHost.slice(0, at);
    userHost = userHost.slice(at + 1);
    if (user === '') return invalid('the user name before @ is empty');
  }
  if (userHost === '' || /\s/.test(userHost)) return invalid('it has no usable host name before the colon');
  return { user, host: userHost, port: undefined, path, display: `${user ? `${user}@` : ''}${userHost}:${path}` };
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/**
 * The command the remote's shell runs, quoted like git does (`git-upload-pack '/srv/bus.git'`): a quote inside
 * the path becomes '\'' and `!` is escaped for csh-like login shells. A leading `~` stays inside the quotes,
 * also like git: upload-pack and receive-pack expand it themselves.
 */
export function remoteGitCommand(service: 'git-upload-pack' | 'git-receive-pack' | 'git-upload-archive', path: string): string {
  return `${service} ${quote(path)}`;
}

/** Quotes one argument for the remote's POSIX shell, as git quotes paths. */
export function shellQuote(s: string): string {
  return quote(s);
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`).replace(/!/g, `'\\!'`)}'`;
}
