import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { branchUpstream, lookAtWorkTree, type Answer, type CheckoutLook } from './checkout-look.js';
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

/** Parses `git remote -v` (fetch URLs, insteadOf already applied). Pure. */
export function parseRemotes(out: string, top: string): Checkout['remotes'] {
  const seen = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^(\S+)\t(.*) \(fetch\)$/.exec(line);
    if (m?.[1] && m[2] !== undefined && !seen.has(m[1])) seen.set(m[1], absoluteRemoteUrl(m[2], top));
  }
  return [...seen].map(([name, url]) => ({ name, url }));
}

/** The checkout a look saw; null for none. A failure of `git status` or `git remote -v` is the error it was. */
export function checkoutOf(look: CheckoutLook | null): Checkout | null {
  if (look === null) return null;
  const { top } = look;
  const status = parseStatusV2(answered(look.status));
  const remotes = parseRemotes(answered(look.remotes), top);
  const up = status.branch !== null ? branchUpstream(answered(look.upstreams), status.branch) : { remote: null, merge: null };
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
  };
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
