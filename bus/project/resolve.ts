import { COMMIT_RE } from '../../schemas/project.js';
import { BaseNotFoundError, BaseNotPushedError, ProjectRemoteError, type ProjectCommand } from './base-errors.js';
import { fullRefName, localBranch, onRemote, pushCommand, reachableFrom, remoteAbove, remotesBelow, resolveLocally, tagTooWarning, trackingTips, type BaseSource } from './base-check.js';
import { checkoutOf, readCheckout } from './checkout.js';
import type { CheckoutLook } from './checkout-look.js';
import { publishableRepo } from './remote-url.js';
import { shellWord } from './shell-word.js';
import { planProject, type PlanInput, type ProjectFlags, type ProjectPlan } from './fields.js';
import { lsRemote, remoteRef, type LsRemoteScope, type RemoteListing } from './ls-remote.js';

/** The handoff's project fields, as dispatch writes them (`branch` absent: dispatch fills in `gitbus/<id>`). */
export interface ProjectFields {
  repo: string;
  base: string;
  baseCommit: string;
  branch?: string;
}

export interface ProjectOutcome {
  /** Null: a plain task. */
  fields: ProjectFields | null;
  /** Said to the user, not errors: uncommitted changes, a check made against what the checkout last saw. */
  warnings: string[];
  /** Why a task that could have been project work is not (a checkout without a remote). */
  notes: string[];
  /** What the project remote advertised when the base was checked; null when it could not be asked. */
  listing?: RemoteListing | null;
  /** The base commit in words, where the base's name alone would mislead (baseFromHead). */
  baseFrom?: string;
}

/**
 * Resolves a plan into fields: the base commit, checked to be on the project remote: HEAD at a tip of the remote's
 * tracking refs without asking it (pushedAsSeen), unless the caller `needsListing` (a fan-out: its group's
 * branches). One `git ls-remote` of its branches and tags (of every ref when the base needs them, listingScope), and of every ref after it only when the
 * commit is on none of them and the checkout's remote-tracking refs do not reach it either; when the remote cannot
 * be reached, a checkout of the project answers from its remote-tracking refs (what it last saw of the remote,
 * updated by every push and fetch) with a warning, and otherwise the outage is the answer.
 */
export async function resolveProject(plan: ProjectPlan, by: ProjectCommand, needsListing = false): Promise<{ fields: ProjectFields; warnings: string[]; listing: RemoteListing | null; baseFrom?: string }> {
  const warnings = [...plan.warnings];
  const dir = plan.local?.top ?? null;
  const pushed = needsListing ? null : pushedAsSeen(plan);
  if (pushed !== null) {
    const from = baseFromHead(plan, pushed.base, pushed.baseCommit, undefined);
    return { fields: { repo: plan.repo, ...pushed, ...(plan.branch !== undefined ? { branch: plan.branch } : {}) }, warnings, listing: null, ...(from !== undefined ? { baseFrom: from } : {}) };
  }
  // Messages name the remote without the credentials its URL may carry (they are the checkout's, not the bus's).
  const shown = publishableRepo(plan.url).repo;
  let listing: RemoteListing | null = null;
  let outage: ProjectRemoteError | null = null;
  try {
    listing = await lsRemote(plan.url, by, dir ?? undefined, shown, listingScope(plan));
  } catch (err) {
    if (err instanceof ProjectRemoteError && plan.guessed) throw new ProjectRemoteError(shown, String(err.data['message']), err.data['outage'] === true, by, plan.guessed);
    if (!(err instanceof ProjectRemoteError && err.data['outage'] === true && dir !== null && plan.remoteName !== null)) throw err;
    outage = err;
  }

  let base = plan.base;
  let commit: string | null = plan.head ? plan.local?.head ?? null : null;
  let known = false;
  if (commit === null && base !== null && dir !== null) {
    const branch = await localBranch(base, dir, plan.remoteName);
    // No branch of that name here: the remote's branch still comes before a tag this checkout has (git's rule).
    const remoteBranch = branch === null && listing !== null && base !== 'HEAD' && !base.startsWith('refs/') ? listing.refs.get(`refs/heads/${base}`) : undefined;
    // A remote-tracking ref is where the branch was when this checkout last fetched: the remote, when it answered,
    // says where it is now, and the task starts from that.
    const tracked = branch !== null && !branch.ref.startsWith('refs/heads/');
    const now = tracked && listing !== null ? listing.refs.get(`refs/heads/${base}`) : undefined;
    if (branch && now !== undefined && now !== branch.commit) {
      if (branch.tag || listing?.refs.has(`refs/tags/${base}`)) warnings.push(tagTooWarning(base, `refs/heads/${base} of ${shown}`, now));
      warnings.push(`--base ${base}: the branch ${base} of ${shown} is at ${now.slice(0, 12)} now, and ${dir} last saw it at ${branch.commit.slice(0, 12)} (${branch.ref}): the task starts from ${now.slice(0, 12)}, as the remote has it (git fetch ${shellWord(plan.remoteName ?? shown)} updates the checkout)`);
      commit = now;
      known = true;
    } else if (branch) {
      if (branch.tag) warnings.push(tagTooWarning(base, branch.ref, branch.commit));
      if (tracked && listing === null) warnings.push(`--base ${base}: the project remote cannot be reached, so the task starts from ${branch.commit.slice(0, 12)}, where ${dir} last saw the branch (${branch.ref}); the remote may have moved it since`);
      commit = branch.commit;
      if (now !== undefined) known = true;
    } else if (remoteBranch !== undefined && listing !== null) {
      if (listing.refs.has(`refs/tags/${base}`) || (await resolveLocally(`refs/tags/${base}`, dir)) !== null) warnings.push(tagTooWarning(base, `refs/heads/${base} of ${shown}`, remoteBranch));
      commit = remoteBranch;
      known = true;
    } else {
      commit = await resolveLocally(base, dir);
    }
  }
  if (commit === null) {
    if (listing === null) throw outage ?? new BaseNotFoundError(base, shown, 'here');
    if (base === null) {
      const sha = listing.head !== null ? listing.refs.get(listing.head) : undefined;
      if (listing.head === null || sha === undefined) throw new BaseNotFoundError(null, shown, '');
      base = listing.head.replace(/^refs\/heads\//, '');
      commit = sha;
      known = true;
    } else {
      const hit = remoteRef(base, listing);
      if (hit?.ref === `refs/heads/${base}` && listing.refs.has(`refs/tags/${base}`)) warnings.push(tagTooWarning(base, hit.ref, hit.sha));
      if (hit) {
        commit = hit.sha;
        known = true;
      } else if (COMMIT_RE.test(base)) {
        commit = base;
        known = true;
        if (!listing.complete && ![...listing.refs.values()].includes(base)) {
          const whole = await wholeListing(plan.url, by, dir, shown);
          if (whole instanceof ProjectRemoteError) warnings.push(`${base.slice(0, 12)} is on no branch or tag of ${shown}, and listing its other refs failed (${String(whole.data['message'] ?? '')}): it was checked against its branches and tags alone`);
          else listing = whole;
        }
        if (![...listing.refs.values()].includes(base)) warnings.push(`${base} is no branch or tag tip of ${shown}, and no checkout here has it to tell whether it is on the remote: the task fails on the worker if it is not`);
        // An annotated tag's own id (what `git ls-remote` shows for refs/tags/v1): the task starts from its commit.
        commit = peeledTag(base, listing) ?? commit;
      } else {
        throw new BaseNotFoundError(base, shown, dir !== null ? `in ${dir}, nor a branch or tag of ${shown}` : `of ${shown}: no branch or tag has that name (a short commit id needs a checkout of the project)`);
      }
    }
  }
  if (base === null) base = commit;

  if (!known) {
    const remote = plan.remoteName ?? shown;
    // The remote-tracking refs say what the remote had when this checkout last fetched or pushed: a commit they
    // reach was on it. Only a checkout with a name for the remote has them.
    const mine = dir !== null && plan.remoteName !== null ? { dir, name: plan.remoteName } : null;
    // Not those of another remote named below it (`origin/mirror`), nor any when one is named above it (`origin` for
    // `origin/a`: its refs sit among them). A remote whose pushes go to another URL (a push URL, a pushInsteadOf)
    // still counts: most such are the same repository over ssh, and only a fork's would say what the fork has; the
    // warning says so, and a refusal's push goes to the URL the task reads.
    const elsewhere = mine !== null && (plan.local?.pushElsewhere ?? []).includes(mine.name);
    const remotes = plan.local?.remotes ?? [];
    const tracked = async (): Promise<boolean> =>
      mine !== null && !remoteAbove(remotes, mine.name) && (await reachableFrom(commit, await trackingTips(mine.name, mine.dir, remotesBelow(remotes, mine.name)), mine.dir));
    const pushedTo = elsewhere && mine !== null ? `; ${mine.name}'s pushes go to another URL than ${shown} (a push URL or url.*.pushInsteadOf): if that is another repository (a fork), the commit may be there alone, and the task then fails to fetch it from ${shown}` : '';
    if (listing !== null) {
      let on = await onRemote(commit, listing, dir);
      let vouched: boolean | undefined;
      /** Why the remote's refs besides branches and tags are unknown: its whole listing failed. */
      let unlisted: string | undefined;
      if (!on && !listing.complete) {
        vouched = await tracked();
        // On no branch or tag, and not where the checkout last saw the remote: another ref may have it (a pull
        // request's), which only the whole listing shows.
        if (!vouched) {
          const whole = await wholeListing(plan.url, by, dir, shown);
          if (whole instanceof ProjectRemoteError) {
            unlisted = String(whole.data['message'] ?? '');
          } else {
            listing = whole;
            on = await onRemote(commit, whole, dir);
          }
        }
      }
      if (!on) {
        // The remote's branches moved on past what this checkout has (someone else pushed): their tips are unknown
        // here, so they cannot say. The remote-tracking refs can.
        if (mine === null || !(vouched ?? (await tracked()))) throw await notPushed(plan, base, commit, remote, shown, by, unlisted, elsewhere);
        warnings.push(`${mine.name} has commits ${mine.dir} has not fetched; ${commit.slice(0, 12)} is on it as ${mine.dir} last saw it (git fetch ${shellWord(mine.name)} to update)${pushedTo}`);
      }
    } else if (mine !== null && (await tracked())) {
      warnings.push(`the project remote cannot be reached (${String(outage?.data['message'] ?? '')}); ${commit.slice(0, 12)} is on ${mine.name} as ${mine.dir} last saw it${pushedTo}`);
    } else {
      throw outage ?? new BaseNotFoundError(base, shown, 'here');
    }
  }
  const from = baseFromHead(plan, base, commit, listing === null ? undefined : (listing.refs.get(`refs/heads/${base}`) ?? null));
  return { fields: { repo: plan.repo, base, baseCommit: commit, ...(plan.branch !== undefined ? { branch: plan.branch } : {}) }, warnings, listing, ...(from !== undefined ? { baseFrom: from } : {}) };
}

/**
 * The base commit in words when the checkout's HEAD gave it and the branch's name alone would mislead: HEAD is not
 * that branch's tip on the project remote (a local branch ahead of it, behind it, or another branch that tracks
 * it). `tip`: the branch's commit in the remote's listing (null: the listing has no such branch; undefined: no
 * listing, so the remote-tracking refs at HEAD say where the checkout last saw it). Undefined when HEAD is that tip,
 * or detached (the base is then the commit itself). Pure.
 */
export function baseFromHead(plan: Pick<ProjectPlan, 'head' | 'local' | 'remoteName'>, base: string, commit: string, tip: string | null | undefined): string | undefined {
  const local = plan.local;
  const branch = local?.branch ?? null;
  const remote = plan.remoteName;
  if (!plan.head || local === null || branch === null || remote === null || base === commit) return undefined;
  const seenAtTip = (local.trackingAtHead ?? []).includes(`refs/remotes/${remote}/${base}`);
  if (tip === undefined ? seenAtTip : tip === commit) return undefined;
  const where = tip === null ? `a branch ${remote} does not have` : `not the tip of ${base} on ${remote}${tip !== undefined ? ` (${tip.slice(0, 12)})` : ''}`;
  return `${commit.slice(0, 12)}, the HEAD of your local branch ${branch}${branch !== base ? ` (it tracks ${base})` : ''}, ${where}`;
}

/**
 * The base when it is the checkout's HEAD and one of the project remote's remote-tracking refs is at its commit: the
 * commit was on the remote when the checkout last pushed or fetched (`git push` moves the ref), which the check then
 * takes without listing the remote, a network round trip on a git host (a dispatch right after `git push` is the
 * common case). A remote that lost the commit since (a force-push, a deleted branch) fails the task on the worker,
 * where the listing would have refused it here, or taken it with a warning from these same refs. Not for a remote
 * with a push URL of its own, whose refs a push moves for another repository. Null: the remote is listed. Pure.
 */
export function pushedAsSeen(plan: Pick<ProjectPlan, 'head' | 'base' | 'remoteName' | 'local'>): { base: string; baseCommit: string } | null {
  const local = plan.local;
  const name = plan.remoteName;
  if (!plan.head || plan.base === null || local === null || local.head === null || name === null) return null;
  // A push URL of its own (a fork's workflow): `git push` moved the refs, but the commit went to the fork.
  if (local.pushElsewhere === undefined || local.pushElsewhere.includes(name)) return null;
  // Refs of a remote named above this one (`origin` for `origin/a`) may sit among its own: none is taken then.
  if (remoteAbove(local.remotes, name)) return null;
  const prefix = `refs/remotes/${name}/`;
  // Another remote's refs when its name goes on past this one's (`origin/mirror` beside `origin`).
  const longer = remotesBelow(local.remotes, name);
  const at = (local.trackingAtHead ?? []).some(
    // The remote's HEAD (refs/remotes/origin/HEAD) names one of its branches, set at clone and not moved by a push.
    (ref) => ref.startsWith(prefix) && ref !== `${prefix}HEAD` && !longer.some((n) => ref.startsWith(`refs/remotes/${n}/`)),
  );
  return at ? { base: plan.base, baseCommit: local.head } : null;
}

/**
 * How much of the remote the check lists first: its branches and tags, unless the base is a ref outside them
 * (`refs/pull/1/head`), the remote's HEAD (`--base HEAD` with no checkout, or no commit, to read it in), or its default branch (no
 * base: no checkout). A commit on no branch or tag is looked for in the whole listing after (resolveProject). Pure.
 */
export function listingScope(plan: Pick<ProjectPlan, 'base'> & { local: { head: string | null } | null }): LsRemoteScope {
  if (plan.base === null) return 'all';
  // A checkout with no commit yet has no HEAD to read: the remote's is the base.
  if (plan.base === 'HEAD') return plan.local?.head ? 'branches-and-tags' : 'all';
  return plan.base.startsWith('refs/') && !/^refs\/(heads|tags)\//.test(plan.base) ? 'all' : 'branches-and-tags';
}

/**
 * The commit an annotated tag object `id` points at, when the listing has a tag of that id and its peeled value
 * (git peels a tag all the way down; a tag of a tree peels to the tree, which the worker then refuses as it did the
 * tag's id). Pure.
 */
export function peeledTag(id: string, listing: RemoteListing): string | null {
  for (const [ref, sha] of listing.refs) {
    if (sha !== id || !ref.startsWith('refs/tags/') || ref.endsWith('^{}')) continue;
    const peeled = listing.refs.get(`${ref}^{}`);
    if (peeled !== undefined) return peeled;
  }
  return null;
}

/**
 * Every ref of the remote, listed after its branches and tags; its failure is returned, not thrown (the remote
 * answered a moment ago): the check then goes on from the branches and tags, as for a remote that has no other
 * refs, and says so (a warning, or in BASE_NOT_PUSHED).
 */
async function wholeListing(url: string, by: ProjectCommand, dir: string | null, shown: string): Promise<RemoteListing | ProjectRemoteError> {
  try {
    return await lsRemote(url, by, dir ?? undefined, shown);
  } catch (err) {
    if (!(err instanceof ProjectRemoteError)) throw err;
    return err;
  }
}

/** `elsewhere`: the remote's pushes go to another URL; the command then pushes to the URL the task reads. */
async function notPushed(plan: ProjectPlan, base: string, commit: string, remote: string, shown: string, by: ProjectCommand, unlisted?: string, elsewhere = false): Promise<BaseNotPushedError> {
  const local = plan.local;
  let source: BaseSource = { kind: 'commit' };
  if (local !== null) {
    const ref = plan.head ? (local.branch !== null ? `refs/heads/${local.branch}` : null) : await fullRefName(base, local.top);
    if (ref?.startsWith('refs/heads/')) {
      const branch = ref.slice('refs/heads/'.length);
      source = branch === local.branch && !elsewhere ? { kind: 'current-branch', branch, upstream: local.upstream } : { kind: 'branch', branch };
    } else if (ref?.startsWith('refs/tags/')) {
      source = { kind: 'tag', tag: ref.slice('refs/tags/'.length) };
    }
  }
  const command = pushCommand(elsewhere ? shown : remote, commit, source);
  // HEAD of a local branch of another name than the base it tracks: "(main)" alone would say it is main's commit.
  const headOf = plan.head && local !== null && local.branch !== null && local.branch !== base ? local.branch : undefined;
  return new BaseNotPushedError({ commit, base, remote, url: shown, command, dir: local?.top ?? '', ...(headOf !== undefined ? { headOf } : {}), ...(unlisted !== undefined ? { unlisted } : {}), ...(elsewhere ? { elsewhere } : {}) }, by);
}

/**
 * The project fields of a task dispatched from `cwd`: reads the checkout (unless `readCheckout` is false, or the
 * flags make reading it pointless; `look` is the look taken at `cwd` when the caller has one), plans (fields.ts) and resolves. Errors: BAD_INPUT, BASE_NOT_PUSHED,
 * BASE_NOT_FOUND, PROJECT_REMOTE_UNREACHABLE.
 */
export async function projectForTask(o: Omit<PlanInput, 'checkout'> & { readCheckout: boolean; by: ProjectCommand; look?: CheckoutLook | null; needsListing?: boolean }): Promise<ProjectOutcome> {
  const f: ProjectFlags = o.flags;
  const wanted = f.repo !== false && (o.implicit || f.repo !== undefined || f.base !== undefined || f.branch !== undefined);
  const { readCheckout: read, by, look, needsListing, ...input } = o;
  // A look the caller took at `cwd` already (for the handoff body) is read again, not git.
  const checkout = read && wanted ? (look !== undefined ? checkoutOf(look) : await readCheckout(o.cwd)) : null;
  // Why no checkout gives the project, in the caller's words (the MCP server's are its arguments), else the CLI's.
  const plan = planProject({ ...input, checkout, noCheckout: o.noCheckout ?? (read ? 'this directory is not inside a git checkout' : '--no-git leaves the checkout unread') });
  if (plan.project === null) return { fields: null, warnings: [], notes: plan.note !== undefined ? [plan.note] : [] };
  const r = await resolveProject(plan.project, by, needsListing);
  return { fields: r.fields, warnings: r.warnings, notes: [], listing: r.listing, ...(r.baseFrom !== undefined ? { baseFrom: r.baseFrom } : {}) };
}
