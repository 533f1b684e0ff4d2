import type { Violation } from './rule.js';
import type { TextOptions } from './text-rule.js';
import type { ProjectReport } from './project-schema.js';
import { decodedPathSpelling, fileUrlOtherHost, isFileUrl, otherHostFileUrl } from './file-url.js';

/**
 * The fields of project work (docs/PROTOCOL.md §3a): which code a task changes and where its results go. Every
 * value becomes an argument of the git CLI on a worker, and comes from the shared repository, so each is checked
 * here to be what it says and nothing a git command could read as an option or a command. Pure, without zod (the
 * schemas are in project-schema.ts), so that a command that reads no file never loads zod (cli/schemas-script.ts).
 */

export type { ProjectReport } from './project-schema.js';

export const REPO_RULE =
  'a git remote (a path, host:path, ssh://, https://, file://) or a short name the node maps to one in node.yaml: one line, not starting with "-", no ext:: or fd:: transport, no "." or ".." path part (in a file:// URL also once decoded), no "/" or "\\" written as a percent escape in the path of another URL, no password in it, and no file:// URL on another host than localhost (git would open the path on the reading machine)';

/** `ext::` runs a command and `fd::` reads a descriptor: no URL from the bus may name either. */
const FORBIDDEN_TRANSPORT_RE = /^(ext|fd)::/i;

/** A URL's user info: everything between `scheme://` and the last "@" of the authority. */
const USERINFO_RE = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i;

/** The user info of a URL remote (`user`, or `user:password`), or null when it has none. Pure. */
export function urlUserinfo(repo: string): { user: string; password?: string } | null {
  const m = USERINFO_RE.exec(repo);
  if (!m || m[2] === undefined) return null;
  const info = m[2];
  const colon = info.indexOf(':');
  return colon === -1 ? { user: info } : { user: info.slice(0, colon), password: info.slice(colon + 1) };
}

/** `repo` with the password of its user info (if any) shown as "***": for messages about a refused one. Pure. */
export function redactedRepo(repo: string): string {
  const info = urlUserinfo(repo);
  return info?.password === undefined ? repo : repo.replace(USERINFO_RE, `$1${info.user}:***@`);
}

/** A path part that is "." or ".." (also percent-encoded, as curl decodes it): `/allowed/../other` is not under `/allowed`. */
const DOT_SEGMENT_RE = /(?:^|[/:])(?:\.|%2e){1,2}(?=$|[/?#])/i;

/** Whether a repo has a "." or ".." path part, which node.yaml's policy.repos globs could not judge. Pure. */
export function hasDotSegment(repo: string): boolean {
  return DOT_SEGMENT_RE.test(repo) || hasDecodedDotSegment(repo);
}

/**
 * Whether a `file://` repo has a "." or ".." part only once its escapes are decoded: git decodes `%2F` to "/" too,
 * so `file:///srv/allowed/x%2F..%2F..%2Fsecret.git` opens /srv/secret.git, while as text it has no such part. Pure.
 */
function hasDecodedDotSegment(repo: string): boolean {
  if (!isFileUrl(repo) || !repo.includes('%')) return false;
  return decodedPathSpelling(repo.slice('file://'.length)).split('/').some((part) => part === '.' || part === '..');
}

/** The path (and what follows it) of a URL other than `file://`, after its authority; null for a path or an scp-like remote. */
const URL_PATH_RE = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([/?#].*)?$/is;

/**
 * Whether a URL other than `file://` writes a "/" or "\\" in its path as a percent escape (`%2F`, `%5C`): git decodes
 * an ssh:// URL before it names the path to the host (`ssh://h/allowed/x%2F..%2F..%2Fsecret.git` runs
 * git-upload-pack on /secret.git there), and an HTTP server may decode one, so the path it leads to is not the one
 * a policy.repos glob sees. A `file://` URL is judged by its decoded path instead (hasDotSegment, and the glob
 * matches the decoded path); a path or an scp-like remote is opened as written. The user info is no path: a
 * Windows domain user (`CORP%5Cada@`) stays valid. Pure.
 */
export function hasEscapedSeparator(repo: string): boolean {
  if (isFileUrl(repo)) return false;
  const path = URL_PATH_RE.exec(repo)?.[1];
  return path !== undefined && /%(?:2f|5c)/i.test(path);
}

/** Each white space character as its percent escapes (UTF-8), and "%" itself when `percentToo`. Pure. */
function escapeWhiteSpace(s: string, percentToo: boolean): string {
  return s.replace(percentToo ? /[\s%]/g : /\s/g, (c) => encodeURIComponent(c));
}

/**
 * How to write a remote with white space so the field holds it: git decodes percent escapes in a URL (a file://
 * URL's path on the node, an ssh:// path before it names it to the host), never in a path or a host:path remote,
 * so a path becomes a file:// URL, with its "%" escaped too. Pure.
 */
function whiteSpaceFix(repo: string): string {
  if (repo.startsWith('/')) return `write it as a file:// URL, in which git reads %20 as a space: file://${escapeWhiteSpace(repo, true)}`;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repo)) return `write each white space character as its percent escape, which git decodes (a space as %20): ${escapeWhiteSpace(repo, false)}`;
  return 'write it as a URL (file:///path, ssh://host/path) with each space as %20, which git decodes in a URL; a path or a host:path remote is read as written';
}

export function repoViolation(repo: string): Violation | undefined {
  const shown = JSON.stringify(redactedRepo(repo));
  if (repo.startsWith('-')) return { reason: `${shown} starts with "-", which git would read as an option`, fix: 'write the remote URL or path itself' };
  if (FORBIDDEN_TRANSPORT_RE.test(repo)) return { reason: `${shown} uses a transport that runs a command`, fix: 'use a path, an SSH or an HTTPS URL' };
  // git would open the path on the node that reads it, whatever folder is there: never the other host's repository.
  const other = fileUrlOtherHost(redactedRepo(repo));
  if (other) return otherHostFileUrl(redactedRepo(repo), other);
  if (/\s/.test(repo)) return { reason: `${shown} contains white space`, fix: whiteSpaceFix(redactedRepo(repo)) };
  if (hasDecodedDotSegment(repo)) return { reason: `${shown} has a "." or ".." path part once its percent escapes are decoded, as git opens a file:// URL ("%2F" is a "/")`, fix: 'write the path without escaped "/" and without "." or ".." parts (the folder they lead to, as it is)' };
  if (hasDotSegment(repo)) return { reason: `${shown} has a "." or ".." path part`, fix: 'write the path without them (the folder they lead to, as it is)' };
  if (hasEscapedSeparator(repo)) return { reason: `${shown} has a "/" or "\\" written as a percent escape (%2F, %5C) in its path: git decodes it in an ssh:// URL, and a server may in an https:// one, so the path it leads to is not the one node policies judge`, fix: 'write the path with plain "/" (the repository\'s path as its host serves it)' };
  // Everything on the bus is read by every node and kept in its history: a password or token there is published.
  if (urlUserinfo(repo)?.password !== undefined) return { reason: `${shown} carries a password or token`, fix: 'write the URL without it; each node authenticates with its own git credential helper or SSH key' };
  return undefined;
}

export const BRANCH_RULE =
  'a branch name as git accepts it: parts separated by "/", none empty or starting with "." or ending with ".lock", no "..", "@{", space, "~", "^", ":", "?", "*", "[" or "\\", not starting with "-"; the short name (not starting with "refs/" or "origin/", not "HEAD", not a whole commit id); not "gitbus", and under "gitbus/" only one lower-case word (gitbus/<task id>)';

/** A whole commit id (SHA-1 or SHA-256): as a branch name, git would read it as the commit. */
const COMMIT_ID_RE = /^([0-9a-f]{40}|[0-9a-f]{64})$/i;

/** Under `gitbus/` the result branches of tasks (`gitbus/<id>`): one part each, so none of them is a folder of another. */
const GITBUS_BRANCH_RE = /^gitbus\/[a-z0-9][a-z0-9_-]*$/;

/** git check-ref-format's rules for a branch name, without running git. Pure. */
export function branchViolation(name: string): Violation | undefined {
  const bad = (why: string): Violation => ({ reason: `${JSON.stringify(name)} is not a branch name git accepts: ${why}`, fix: `write ${BRANCH_RULE}` });
  if (name.startsWith('-')) return bad('it starts with "-"');
  if (name === '@' || name === 'HEAD') return bad(`"${name}" is reserved`);
  if (/[\s~^:?*[\\\u0000-\u001f\u007f]/.test(name)) return bad('it contains a character git forbids');
  if (name.includes('..') || name.includes('@{')) return bad('it contains ".." or "@{"');
  if (name.endsWith('/') || name.endsWith('.')) return bad('it ends with "/" or "."');
  for (const part of name.split('/')) {
    if (part === '') return bad('it has an empty part ("//" or a leading "/")');
    if (part.startsWith('.')) return bad('a part starts with "."');
    if (part.endsWith('.lock')) return bad('a part ends with ".lock"');
  }
  // Names git takes as a branch but reads as something else: the branch would be made beside what was meant.
  const misread = (why: string, fix: string): Violation => ({ reason: `${JSON.stringify(name)} is not taken as a branch name: ${why}`, fix });
  if (name.startsWith('refs/')) {
    return misread(`git would make the branch refs/heads/${name}, and every plain "git push origin ${name.replace(/^refs\/(heads\/)?/, '')}" of the project then fails ("matches more than one")`, `write the branch's short name (${JSON.stringify(name.replace(/^refs\/(heads\/)?/, '') || 'main')}, not ${JSON.stringify(name)})`);
  }
  if (name.startsWith('origin/')) {
    return misread(`a branch of that name in a clone hides the remote-tracking ${name} from every later git command there`, `write the branch's name on the remote (${JSON.stringify(name.slice('origin/'.length))}, not ${JSON.stringify(name)})`);
  }
  if (COMMIT_ID_RE.test(name)) return misread('it is a whole commit id, which git reads as that commit rather than as the branch', 'name the branch with a word (feature/x); to start from that commit, give it as the base');
  // A branch "gitbus" (or "gitbus/a/b") would stop git making gitbus/<id> for every other task on the project.
  // Compared without case: on a case-insensitive disk "GitBus" is in the way too.
  const lower = name.toLowerCase();
  if ((lower === 'gitbus' || lower.startsWith('gitbus/')) && !GITBUS_BRANCH_RE.test(name)) {
    return { reason: `${JSON.stringify(name)} is in the gitbus/ namespace, which holds the result branches gitbus/<task id>: git could then not make those`, fix: 'name the branch outside gitbus/ (feature/x), or gitbus/<one lower-case word>' };
  }
  return undefined;
}

export const BASE_RULE = 'the ref to start from as written (a branch, a tag or a commit): one word, not starting with "-"';

/** The text rules of `repo`, `branch` and `base` (project-schema.ts builds their schemas from them). */
export const REPO_TEXT: TextOptions = { what: 'a git remote or a project name', maxChars: 1000, oneLine: true };
export const BRANCH_TEXT: TextOptions = { what: 'a branch name', maxChars: 250, oneLine: true };
export const BASE_TEXT: TextOptions = { what: 'a branch, tag or commit', maxChars: 250, oneLine: true };

export function baseViolation(base: string): Violation | undefined {
  return base.startsWith('-') || /\s/.test(base) ? { reason: `${JSON.stringify(base)} is not a ref: it starts with "-" or contains white space`, fix: `write ${BASE_RULE}` } : undefined;
}

export const COMMIT_RE = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
export const GROUP_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const GROUP_NAME_RULE = 'a name: 1–63 characters of lower-case letters a–z, digits, ".", "-" and "_", starting with a letter or digit';
/** The default result branch of a task that names none. Pure. */
export function defaultBranch(id: string): string {
  return `gitbus/${id}`;
}

/** Where a project task starts and where its results go, as the commands and the MCP dispatch tool report it. */
export type ProjectSummary = { repo: string; base: string; baseCommit?: string; branch?: string };

/**
 * The project of a handoff made otherwise than from the flags (a resume: the resumed task's), as the commands'
 * projectSummary gives it: the base as written, else its commit (a handoff may name only one). Pure.
 */
export function handoffProject(h: { repo?: string; base?: string; baseCommit?: string; branch?: string }, id: string): ProjectSummary | null {
  const base = h.base ?? h.baseCommit;
  if (h.repo === undefined || base === undefined) return null;
  return { repo: h.repo, base, ...(h.baseCommit !== undefined ? { baseCommit: h.baseCommit } : {}), branch: h.branch ?? defaultBranch(id) };
}

/**
 * Where a result goes when its branch refused a fast-forward: beside it, never over it (docs/PROTOCOL.md §3a). The
 * watcher pushes there and a reader checks a delivery's branch against it, so both take it from here: one rule, or
 * a long branch's delivery would be refused for a name the push really used. Pure.
 */
export function movedBranch(branch: string, commit: string): string {
  // Within the 250 characters a branch may have; a cut that ends a part badly ("." or ".lock") is trimmed back.
  const stem = branch.slice(0, 250 - '-moved-'.length - 8).replace(/[./]+$/, '').replace(/\.lock$/, '');
  return `${stem}-moved-${commit.slice(0, 8)}`;
}

/** The branch of a fan-out's workstream, and of its integration. Pure. */
export function workstreamBranch(group: string, workstream: string): string {
  return `${group}/${workstream}`;
}

export const MAX_SUBJECTS = 50;

/**
 * Whether a report is of a run that pushed nothing on purpose (docs/PROTOCOL.md §3a step 5): a failed, timed-out or
 * cancelled run that left its branch at its base, whose push would only have made a branch holding nothing on the
 * project remote; or a resolve follow-up (`merge`, reported with `merged`) that did not succeed, whose push would
 * have put a half-done merge on the integration's branch for the next resolve or merge to build on (unfinishedResolve).
 * Told from the fields alone (a response's fields are fixed, §6): not pushed, with no pushError (nothing failed, and
 * nothing is retried) and no conflicts (an integration's own "nothing pushed"), at its base or with `merged`. Pure.
 */
export function pushedNothing(r: Pick<ProjectReport, 'pushed' | 'baseCommit' | 'headCommit'> & Partial<Pick<ProjectReport, 'pushError' | 'conflicts' | 'merged'>>): boolean {
  return !r.pushed && r.pushError === undefined && (r.conflicts?.length ?? 0) === 0 && (r.headCommit === r.baseCommit || r.merged !== undefined);
}

/** Of the reports that pushed nothing on purpose (pushedNothing), a resolve that did not succeed with commits of its own. Pure. */
export function unfinishedResolve(r: Pick<ProjectReport, 'pushed' | 'baseCommit' | 'headCommit'> & Partial<Pick<ProjectReport, 'pushError' | 'conflicts' | 'merged'>>): boolean {
  return pushedNothing(r) && r.headCommit !== r.baseCommit;
}

/**
 * Why a project task's results went beside the branch they were meant for, as the response's Branch section, the
 * watcher's `pushed` event and the outbox say it: `moved`, the branch they were meant for (the push there was not
 * a fast-forward); with it, `rewritten`, the commit of that branch on the remote the run built on and then
 * rewrote (a rebase, an amend), or `apart`, the commit it was at when the run started beside it (it lacked the
 * task's base); with neither, the branch moved on the remote.
 */
export interface BesideCause {
  moved?: string;
  rewritten?: string;
  apart?: string;
}
