import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { branchUpstream, configEntries, lookAtWorkTree, type Answer, type CheckoutLook } from './checkout-look.js';
import { absoluteRemoteUrl } from './remote-url.js';
import { parseStatusV2 } from './status-v2.js';

/** What `gitbus dispatch` learns from the checkout it runs in (docs/PROTOCOL.md §3a). */
export interface Checkout {
  /** The top of the work tree. */
  top: string;
  /** A checkout of a bus (gitbus.yaml at its top): people write handoffs there; it is not a project. */
  isBus: boolean;
  /** Every remote with its fetch URL, a relative path made absolute (a worker resolves it against nothing). */
  remotes: { name: string; url: string }[];
  /** The remote project work uses (see chooseRemote); null with `remoteWhy` saying why there is none. */
  remote: { name: string; url: string } | null;
  remoteWhy?: string;
  /** The current branch; null when HEAD is detached (or unborn on no branch). */
  branch: string | null;
  /** The current branch's upstream, when it is a branch of a remote (not `.`). */
  upstream: { remote: string; branch: string } | null;
  /** HEAD's commit (full id); null in a repository without commits yet. */
  head: string | null;
  /** The changes `git status` lists, staged or not, and untracked files. */
  changes: number;
  /** The remote-tracking refs at HEAD's commit (`refs/remotes/<remote>/<branch>`); absent: not looked at. */
  trackingAtHead?: string[];
  /**
   * The remotes whose pushes go to another URL than theirs (`remote.<name>.pushurl`, `url.<base>.pushInsteadOf`): a
   * push to them moves their remote-tracking refs, for a commit that went there, a fork's or the same repository's
   * under another URL (ssh for an https remote), which their names cannot tell.
   */
  pushElsewhere?: string[];
}

/** The current branch's upstream remote, else `origin`, else the only remote. Pure. */
export function chooseRemote(remotes: Checkout['remotes'], upstream: Checkout['upstream']): { remote: Checkout['remote']; why?: string } {
  const byName = (name: string) => remotes.find((r) => r.name === name) ?? null;
  const up = upstream ? byName(upstream.remote) : null;
  if (up) return { remote: up };
  const origin = byName('origin');
  if (origin) return { remote: origin };
  const only = remotes.length === 1 ? remotes[0] : undefined;
  if (only) return { remote: only };
  if (remotes.length === 0) return { remote: null, why: 'the checkout has no remote' };
  return { remote: null, why: `the checkout has ${remotes.length} remotes (${remotes.map((r) => r.name).join(', ')}), none named origin or set as the branch's upstream` };
}

/**
 * Every remote with its fetch URL as `git remote -v` lists them, from `git config -z --get-regexp` of the remotes'
 * URLs and the rewrites (checkout-look.ts LOOK_CONFIG): each remote's first `remote.<name>.url`, rewritten as git
 * rewrites it (`url.<base>.insteadOf`: the longest matching prefix, the first base met among equally long ones),
 * a relative path made absolute against `top`, in git's order (by name). Where they differ: an entry without a value,
 * for which `git remote -v` fails ("bad config variable"), is passed over here; remotes only the legacy files
 * `.git/remotes/` and `.git/branches/` define are listed by neither. A partial clone's remote, which `git remote -v`
 * prints with its filter after "(fetch)", is read as any other. Pure.
 */
export function remotesOfConfig(out: string, top: string): Checkout['remotes'] {
  const urls = new Map<string, string>();
  /** Each base's prefixes, the bases in the order first met (git's list of rewrites). */
  const rewrites = new Map<string, string[]>();
  for (const { key, value } of configEntries(out)) {
    if (value === null) continue;
    if (key.startsWith('remote.') && key.endsWith('.url')) {
      const name = key.slice('remote.'.length, -'.url'.length);
      // git ignores a remote whose name begins with "/" (with a warning): a path is never a remote's name.
      if (name !== '' && !name.startsWith('/') && !urls.has(name)) urls.set(name, value);
    } else if (key.startsWith('url.') && key.endsWith('.insteadof')) {
      const base = key.slice('url.'.length, -'.insteadof'.length);
      rewrites.set(base, [...(rewrites.get(base) ?? []), value]);
    }
  }
  const rewrite = (url: string): string => {
    let best: { base: string; prefix: string } | null = null;
    for (const [base, prefixes] of rewrites) for (const prefix of prefixes) if (url.startsWith(prefix) && (best === null || best.prefix.length < prefix.length)) best = { base, prefix };
    return best === null ? url : best.base + url.slice(best.prefix.length);
  };
  return [...urls]
    .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map(([name, url]) => ({ name, url: absoluteRemoteUrl(rewrite(url), top) }));
}

/** The checkout a look saw; null for none. A failure of `git status` or `git config` is the error it was. */
export function checkoutOf(look: CheckoutLook | null): Checkout | null {
  if (look === null) return null;
  const { top } = look;
  const status = parseStatusV2(answered(look.status));
  const config = answered(look.config);
  const remotes = remotesOfConfig(config, top);
  const up = status.branch !== null ? branchUpstream(config, status.branch) : { remote: null, merge: null };
  const upstream = up.remote !== null && up.remote !== '.' && up.merge?.startsWith('refs/heads/') ? { remote: up.remote, branch: up.merge.slice('refs/heads/'.length) } : null;
  const chosen = chooseRemote(remotes, upstream);
  return {
    top,
    isBus: existsSync(join(top, 'gitbus.yaml')),
    remotes,
    remote: chosen.remote,
    ...(chosen.why !== undefined ? { remoteWhy: chosen.why } : {}),
    branch: status.branch,
    upstream,
    head: status.head,
    changes: status.short.length,
    ...(look.tracking === undefined ? {} : { trackingAtHead: status.head === null ? [] : refsAt('out' in look.tracking ? look.tracking.out : '', status.head) }),
    pushElsewhere: pushElsewhere(config),
  };
}

/** The refs of `for-each-ref --format='%(objectname) %(refname)'` whose commit is `commit`. Pure. */
export function refsAt(out: string, commit: string): string[] {
  const refs: string[] = [];
  for (const line of out.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0 && line.slice(0, space) === commit && line.startsWith('refs/remotes/', space + 1)) refs.push(line.slice(space + 1));
  }
  return refs;
}

/**
 * The remotes a push sends elsewhere than their URL, from the look's `git config -z` (LOOK_CONFIG): a `pushurl` other
 * than their first `url`, or (without a `pushurl`) a `url` a `url.<base>.pushInsteadOf` rewrites for pushes. Pure.
 */
export function pushElsewhere(out: string): string[] {
  const urls = new Map<string, string[]>();
  const pushes = new Map<string, string[]>();
  const pushPrefixes: string[] = [];
  for (const { key, value } of configEntries(out)) {
    if (value === null) continue;
    if (key.startsWith('url.') && key.endsWith('.pushinsteadof')) {
      pushPrefixes.push(value);
      continue;
    }
    const m = /^remote\.(.+)\.(url|pushurl)$/.exec(key);
    if (m === null) continue;
    const into = m[2] === 'url' ? urls : pushes;
    into.set(m[1] as string, [...(into.get(m[1] as string) ?? []), value]);
  }
  const elsewhere = (name: string): boolean => {
    const push = pushes.get(name);
    const url = urls.get(name) ?? [];
    if (push !== undefined) return push.some((p) => p !== url[0]);
    return url.some((u) => pushPrefixes.some((prefix) => u.startsWith(prefix)));
  };
  return [...new Set([...urls.keys(), ...pushes.keys()])].filter(elsewhere).sort();
}

function answered(a: Answer): string {
  if ('failed' in a) throw a.failed;
  return a.out;
}

/**
 * The checkout `dir` is in, or null when it is in none (or git is missing, or it is a bare repository): reading
 * the checkout is a convenience of dispatch, so its absence is an answer, not an error.
 */
export async function readCheckout(dir: string): Promise<Checkout | null> {
  return checkoutOf(await lookAtWorkTree(dir, { recent: false }));
}
