import { InputError } from '../errors.js';
import { repoSchema } from '../../schemas/project-schema.js';
import { repoViolation } from '../../schemas/project.js';
import { handoffFieldOk } from '../../schemas/handoff-fast.js';
import { fileUrlOtherHost } from '../../schemas/file-url.js';
import { FileUrlOtherHostError } from '../transport/errors.js';
import type { Checkout } from './checkout.js';
import { absoluteRemoteUrl, publishableRepo, sameBusRemote, sameRemote } from './remote-url.js';

/**
 * Which code a dispatched task works on, decided from the flags and the checkout the command runs in, without
 * I/O (docs/PROTOCOL.md §3a). resolve.ts then asks git for the commits and checks the base is on the remote.
 */

export interface ProjectFlags {
  /** `--repo URL|NAME`; false: `--no-repo`. */
  repo?: string | false;
  /** `--base REF`. */
  base?: string;
  /** `--branch NAME`. */
  branch?: string;
}

export interface PlanInput {
  flags: ProjectFlags;
  /** Whether a checkout makes project work without flags (`dispatch` yes, unless --no-git; `run` no). */
  implicit: boolean;
  /** The checkout the command runs in; null outside one, or when it is not to be read. */
  checkout: Checkout | null;
  /** node.yaml's projects: name → URL as this node reaches it. */
  projects: Record<string, string>;
  /** Where the command runs: a relative `--repo` path is relative to it. */
  cwd: string;
  /** Why `checkout` is null, for the message when flags need one. */
  noCheckout?: string;
  /** The bus's own remote: a checkout of the bus is not a project. */
  busRemote?: string;
}

export interface ProjectPlan {
  /** `repo` as the handoff records it: a URL, or a node.yaml project name. */
  repo: string;
  /** The URL this node lists and checks. */
  url: string;
  /** The checkout's name for the remote (for the push command), or null when no checkout of it is at hand. */
  remoteName: string | null;
  /** A checkout of the project: refs are resolved and ancestry checked there. */
  local: Checkout | null;
  /** The base as written; null: the remote's default branch. */
  base: string | null;
  /** The base is the checkout's HEAD (`local.head`). */
  head: boolean;
  branch?: string;
  warnings: string[];
  /** `--repo WORD` taken as a relative path since no node.yaml project or checkout remote has that name; the project names node.yaml has. */
  guessed?: { word: string; projects: string[] };
}

export type PlanResult = { project: ProjectPlan } | { project: null; note?: string };

function needsProject(flags: ProjectFlags, why: string): InputError {
  const flag = flags.base !== undefined ? '--base' : '--branch';
  return new InputError(`${flag} needs project work, and ${why}`, 'run it inside a checkout of the project (one with a remote), or name the project with --repo URL', { flag });
}

/**
 * A remote URL as the handoff records it, checked: credentials in it (a password, or a user name over http(s)) are
 * left out, with a warning, since the bus publishes the handoff to every node and keeps it in its history. The
 * dispatching node still lists the remote with the URL as written.
 */
export function checkedRepo(url: string, flag: string, warnings: string[]): string {
  refuseOtherHostFileUrl(url);
  const { repo, dropped } = publishableRepo(url);
  if (dropped) warnings.push(`${flag === '--repo' ? 'the --repo URL' : flag} carries credentials (a password, or a user name or token over http(s)): the task records ${repo} without them; each node authenticates with its own git credential helper or SSH key`);
  // The field's own check, without the schemas script (zod and yaml, ~15 ms); the schema words a refusal.
  if (handoffFieldOk('repo', repo)) return repo;
  const r = repoSchema.safeParse(repo);
  if (r.success) return r.data;
  const problem = r.error.issues[0]?.message ?? 'it is not a remote gitbus can record';
  // The rule's own fix where it has one (a path with a space: the file:// URL git reads it as), for the URL itself.
  const ruled = repoViolation(repo)?.fix;
  const fix = flag === '--repo' ? (ruled ? `${ruled}, and give that to --repo` : 'give the remote URL or path itself') : `${ruled ? `${ruled}, and give that as --repo URL` : 'give --repo URL'}, or --no-repo for a plain task`;
  throw new InputError(`${flag}: ${JSON.stringify(repo)} cannot be a task's repo: ${problem}`, fix, { flag });
}

/**
 * Throws FILE_URL_OTHER_HOST for a `file://` URL on another host: git would list and clone the path on this machine
 * (and the schema refuses it in a handoff), so the dispatching node must not read a local folder in its place.
 */
export function refuseOtherHostFileUrl(url: string): void {
  const other = fileUrlOtherHost(url);
  if (other) throw new FileUrlOtherHostError(url, other.host, other.path);
}

/** The base of work from the checkout's HEAD: the branch as the remote calls it, or the commit when detached. Pure. */
export function headBase(c: Checkout, remoteName: string | null): string | null {
  if (c.head === null) return null;
  if (c.branch === null) return c.head;
  return c.upstream && c.upstream.remote === remoteName ? c.upstream.branch : c.branch;
}

/** Decides the project fields' sources; throws BAD_INPUT for flags that contradict each other or the checkout. Pure. */
export function planProject(input: PlanInput): PlanResult {
  const { flags, checkout } = input;
  const extra = flags.base !== undefined || flags.branch !== undefined;
  if (flags.repo === false) {
    if (extra) throw new InputError(`${flags.base !== undefined ? '--base' : '--branch'} and --no-repo contradict each other: --no-repo makes a plain task`, 'leave out --no-repo for project work, or --base/--branch for a plain task', { flag: '--no-repo' });
    return { project: null };
  }
  const isBus = (c: Checkout) => c.isBus || (input.busRemote !== undefined && c.remote !== null && sameBusRemote(c.remote.url, input.busRemote));

  let repo: string;
  let url: string;
  let guessed: ProjectPlan['guessed'];
  const warnings: string[] = [];
  if (typeof flags.repo === 'string') {
    const named = input.projects[flags.repo];
    const remote = checkout?.remotes.find((r) => r.name === flags.repo);
    if (named !== undefined) {
      refuseOtherHostFileUrl(named);
      repo = flags.repo;
      url = named;
    } else if (remote) {
      repo = checkedRepo(remote.url, '--repo', warnings);
      url = remote.url;
    } else {
      url = absoluteRemoteUrl(flags.repo, input.cwd);
      repo = checkedRepo(url, '--repo', warnings);
      // A word that is no URL and no absolute path may have meant a project or a remote: said if the path fails.
      if (url !== flags.repo && !flags.repo.includes('/')) guessed = { word: flags.repo, projects: Object.keys(input.projects).sort() };
    }
  } else {
    if (!input.implicit && !extra) return { project: null };
    if (checkout === null) {
      if (extra) throw needsProject(flags, input.noCheckout ?? 'this directory is not inside a git checkout');
      return { project: null };
    }
    if (isBus(checkout)) {
      if (extra) throw needsProject(flags, `${checkout.top} is a checkout of the bus, not of a project`);
      return { project: null, note: `${checkout.top} is a checkout of the bus, not of a project: a plain task` };
    }
    if (checkout.remote === null) {
      const why = checkout.remoteWhy ?? 'the checkout has no remote';
      if (extra) throw needsProject(flags, why);
      return { project: null, note: `not project work: ${why}, so no worker could fetch its code (push it to a remote, or give --repo URL)` };
    }
    if (checkout.head === null && flags.base === undefined) {
      if (extra) throw needsProject(flags, `${checkout.top} has no commit yet`);
      return { project: null, note: `not project work: ${checkout.top} has no commit yet` };
    }
    repo = checkedRepo(checkout.remote.url, `the checkout's remote ${checkout.remote.name}`, warnings);
    url = checkout.remote.url;
  }

  // The checkout is this project's when one of its remotes is the project remote; the chosen remote first.
  const usable = checkout !== null && !isBus(checkout) ? checkout : null;
  const match = usable ? [usable.remote, ...usable.remotes].find((r) => r !== null && r !== undefined && sameRemote(r.url, url)) ?? null : null;
  const local = match ? usable : null;
  const remoteName = match?.name ?? null;

  let base: string | null = flags.base ?? null;
  let head = false;
  if (base === null && local !== null && local.head !== null) {
    base = headBase(local, remoteName);
    head = true;
  }
  if (head && local && local.changes > 0) {
    const one = local.changes === 1;
    warnings.push(`${local.changes} uncommitted change${one ? '' : 's'} in ${local.top} ${one ? 'is' : 'are'} not part of the task: commit and push ${one ? 'it' : 'them'} first if the task needs ${one ? 'it' : 'them'}`);
  }
  return { project: { repo, url, remoteName, local, base, head, ...(flags.branch !== undefined ? { branch: flags.branch } : {}), warnings, ...(guessed ? { guessed } : {}) } };
}
