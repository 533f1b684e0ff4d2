import { isAbsolute, resolve } from 'node:path';
import { urlUserinfo } from '../../schemas/project.js';
import { handoffFieldOk } from '../../schemas/handoff-fast.js';
import { byteSpelling, decodedPathSpelling, isFileUrl, localFileUrlPath } from '../../schemas/file-url.js';

/**
 * Remote URLs as git reads them (git's connect.c): `scheme://…` is a URL, `host:path` with the colon before any
 * slash is scp-like SSH, and anything else is a path on this machine. A relative path means something only where
 * it was written, so what goes into a handoff is made absolute first.
 */

/** Whether git reads `url` as a path on this machine (a `file://` URL is one too, already absolute). Pure. */
const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

export function isLocalPath(url: string): boolean {
  if (SCHEME_RE.test(url)) return /^file:\/\//i.test(url);
  const colon = url.indexOf(':');
  const slash = url.indexOf('/');
  // `[::1]:repo` (a bracketed IPv6 host) is scp-like too: its colon comes after the closing bracket.
  if (url.startsWith('[') && url.includes(']:')) return false;
  return colon === -1 || (slash !== -1 && slash < colon);
}

/** node.yaml's projects, name -> URL as git on this node needs it (nodeRemoteUrl), for dispatch, fanout and MCP alike. Pure. */
export function nodeProjectUrls(projects: Readonly<Record<string, { url: string }>> | undefined, home: string, userHome: string): Record<string, string> {
  return Object.fromEntries(Object.entries(projects ?? {}).map(([name, p]) => [name, nodeRemoteUrl(p.url, home, userHome)]));
}

/** `url` with a relative path made absolute against `base` (where git would resolve it). Pure. */
export function absoluteRemoteUrl(url: string, base: string): string {
  return !SCHEME_RE.test(url) && isLocalPath(url) && !isAbsolute(url) ? resolve(base, url) : url;
}

/**
 * A remote URL written in node.yaml, as git on this node needs it: `~/…` in the user's home directory (git does not
 * expand it), and a relative path relative to the bus home, like node.yaml's other paths. Pure.
 */
export function nodeRemoteUrl(url: string, home: string, userHome: string): string {
  if (url === '~' || url.startsWith('~/')) return resolve(userHome, url.slice(2));
  return absoluteRemoteUrl(url, home);
}

/**
 * The one spelling of a remote on this machine, for comparing two: the absolute path git opens, or null for a
 * remote elsewhere (or a relative path, which means something only where it was written). Each rule is what git
 * 2.39 does with the spellings (tried with `git ls-remote`): `file:///p`, `file://localhost/p` (in any case, as the
 * bus's transport reads it: schemas/file-url.ts localFileUrlPath) and `/p` open one repository (the scheme is case-sensitive: `FILE://` is no transport), and so do percent escapes in a `file://`
 * URL, trailing slashes, repeated slashes and `.` parts. A `..` part stays: the system takes it after following a
 * link (`/srv/lnk/../r.git` is not `/srv/r.git` when lnk is one). A trailing `.git` is left out, as for a remote
 * elsewhere: git opens `/srv/x.git` for `/srv/x` when only the former exists, and `git clone /srv/x` records origin
 * `/srv/x` for it, which is the common case; only when both are repositories are they two, and that is not told
 * apart here. It stays where the rest of the last part would be empty, `.` or `..` (`/srv/..git` is no spelling of
 * `/srv/.`); a last part `.git` is the working tree above it. The path is spelled as bytes (schemas/file-url.ts
 * byteSpelling: a `%`, and bytes that are no UTF-8, as `%XX`), so that two equal keys are one byte path: git opens
 * three paths for `file:///srv/%E0`, `file:///srv/%FF` and `/srv/\uFFFD`. `keepGitSuffix`: the trailing `.git`
 * stays (sameBusRemote). Pure.
 */
export function localRemotePath(url: string, keepGitSuffix = false): string | null {
  let path: string;
  if (isFileUrl(url)) {
    const text = localFileUrlPath(url);
    if (text === null) return null;
    path = decodedPathSpelling(text);
  } else if (isLocalPath(url)) {
    path = byteSpelling(Buffer.from(url, 'utf8'));
  } else {
    return null;
  }
  if (!path.startsWith('/')) return null;
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  const last = parts.at(-1);
  if (last === '.git') parts.pop();
  else if (!keepGitSuffix && last !== undefined && last.endsWith('.git') && !['', '.', '..'].includes(last.slice(0, -'.git'.length))) parts[parts.length - 1] = last.slice(0, -'.git'.length);
  return `/${parts.join('/')}`;
}

/** One spelling per remote, for comparing two (a path on this machine as localRemotePath spells it; elsewhere, no trailing slash). Pure. */
export function remoteKey(url: string): string {
  return localRemotePath(url) ?? (url.length > 1 ? url.replace(/\/+$/, '') : url);
}

/**
 * A remote URL as a handoff may record it, and as messages show it: without a password (the repo schema refuses
 * one) and, over http(s), without a user name either (GitHub and others take a token there, as the bus remote's
 * does: README). An SSH user name stays: it is part of the address. `dropped` says whether anything went. Pure.
 */
export function publishableRepo(url: string): { repo: string; dropped: boolean } {
  const info = urlUserinfo(url);
  if (info === null) return { repo: url, dropped: false };
  const http = /^https?:\/\//i.test(url);
  if (!http && info.password === undefined) return { repo: url, dropped: false };
  const at = url.indexOf('://') + 3;
  const rest = url.slice(at + info.user.length + (info.password === undefined ? 0 : info.password.length + 1) + 1);
  return { repo: `${url.slice(0, at)}${http ? '' : `${info.user}@`}${rest}`, dropped: true };
}

/**
 * Whether a handoff's `repo` is a node.yaml project name rather than a remote: dispatch records a path absolute
 * and a URL with its scheme or host, so what is left, a bare word like `proj`, names a project. Pure.
 */
export function isProjectName(repo: string): boolean {
  return isLocalPath(repo) && !isAbsolute(repo) && !/^file:\/\//i.test(repo);
}

/**
 * The remote a person elsewhere can fetch a project task's branch from, when the handoff's `repo` is a node.yaml
 * project name (which git does not read) and this node reaches it at `url`: the URL without its credentials. None
 * when `repo` is a remote itself, or `url` is a path on this node (meaningless on the person's machine), or the
 * URL could not be a handoff's repo. Pure.
 */
export function publishedRemote(repo: string, url: string): string | undefined {
  if (!isProjectName(repo) || isLocalPath(url)) return undefined;
  const shown = publishableRepo(url).repo;
  return handoffFieldOk('repo', shown) ? shown : undefined;
}

export function sameRemote(a: string, b: string): boolean {
  return remoteKey(a) === remoteKey(b);
}

/**
 * Whether a checkout's remote `url` is the bus at `busRemote`: as sameRemote, but a path on this machine keeps its
 * `.git`. The bus's transport opens the path it is configured with and looks for no `.git` twin, and git opens
 * /srv/w.git for /srv/w only when /srv/w is no repository: a project at /srv/w beside a bus at /srv/w.git is a
 * project, which this must not take for the bus. A checkout of that bus made by `git clone /srv/w` (origin /srv/w)
 * is still told by its gitbus.yaml (checkout.ts isBus). A remote elsewhere is compared as a project's is
 * (sameProjectRemote): hosts serve x and x.git alike, and credentials are not part of the address. Pure.
 */
export function sameBusRemote(url: string, busRemote: string): boolean {
  const a = localRemotePath(url, true);
  const b = localRemotePath(busRemote, true);
  if (a !== null || b !== null) return a === b;
  return sameProjectRemote(url, busRemote);
}

/**
 * Whether a handoff's `repo` and a URL of node.yaml name one project remote, whatever credentials either carries:
 * dispatch records a URL without its password and, over http(s), without its user name, while node.yaml keeps the
 * node's own (`https://me@host/x.git`). An SSH user name on one side only is the other side's default (its
 * ~/.ssh/config says it); two different ones may mean two homes (`~/x.git`), so they stay two remotes. Trailing
 * slashes and `.git` do not matter (hosts serve both). A path on this machine is compared as git opens it
 * (localRemotePath): `file://` or not, and `.git` does not matter there either. Pure.
 */
export function sameProjectRemote(a: string, b: string): boolean {
  if (sameAllowedRemote(a, b)) return true;
  if (localRemotePath(a) !== null || localRemotePath(b) !== null) return false;
  const na = comparable(a);
  const nb = comparable(b);
  const ua = sshUser(na);
  const ub = sshUser(nb);
  return (ua === null) !== (ub === null) && withoutSshUser(na) === withoutSshUser(nb);
}

/**
 * Whether a handoff's `repo` is a remote an allow-list entry names (node.yaml `policy.repos`, and a node card's):
 * as sameProjectRemote, but an SSH user name counts as written. sameProjectRemote may take a user on one side only
 * for the other's default because a match there makes the node use its own node.yaml URL; an allow-list admits the
 * repo as the task gives it, and `ssh://mallory@host/~/p.git` or `evil@host:org/p` is another home's repository
 * than `host:org/p` (`~` and a relative path are per user). Over http(s) the user name is a credential, not an
 * address, and dispatch leaves it out: it does not count. Pure.
 */
export function sameAllowedRemote(a: string, b: string): boolean {
  // A path on this machine, however written, in one spelling; never the same as a remote elsewhere.
  const la = localRemotePath(a);
  const lb = localRemotePath(b);
  if (la !== null || lb !== null) return la === lb;
  return comparable(a) === comparable(b);
}

/** A remote elsewhere without its password, its http(s) user name, trailing slashes and `.git`. Pure. */
function comparable(url: string): string {
  return publishableRepo(url).repo.replace(/\/+$/, '').replace(/\.git$/, '');
}

/** The user name of an ssh:// or scp-like (`git@host:x.git`) remote, or null. Pure. */
function sshUser(url: string): string | null {
  if (SCHEME_RE.test(url)) return urlUserinfo(url)?.user ?? null;
  if (isLocalPath(url)) return null;
  return /^([^@/:]+)@/.exec(url)?.[1] ?? null;
}

function withoutSshUser(url: string): string {
  return SCHEME_RE.test(url) ? url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1') : url.replace(/^[^@/:]+@/, '');
}
