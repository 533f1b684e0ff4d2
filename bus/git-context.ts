import type { Answer, CheckoutLook } from './project/checkout-look.js';
import { publishableRepo } from './project/remote-url.js';
import { remotesOfConfig } from './project/checkout.js';
import { parseStatusV2 } from './project/status-v2.js';

/** The git state of the directory a task is dispatched from, as the seed's tw-handoff records it. */
export interface GitContext {
  root: string;
  branch: string;
  /** The first 20 changes, as `git status --short` prints them (unmerged paths first). */
  status: string;
  recent: string;
  /** origin's URL without the credentials it may carry (the body goes to every node of the bus), or null. */
  remote: string | null;
}

/**
 * The git state a look at the dispatching folder saw (`lookAtWorkTree(cwd, { recent: true })`); null for no work tree
 * there. What git could not answer is left empty: the context is a courtesy, never an error. Pure.
 */
export function gitContextOf(look: CheckoutLook | null): GitContext | null {
  if (look === null) return null;
  const status = parseStatusV2(out(look.status));
  const origin = remotesOfConfig(out(look.config), look.top).find((r) => r.name === 'origin');
  return {
    root: look.top,
    branch: status.branch ?? '',
    status: status.short.slice(0, 20).join('\n'),
    recent: look.recent !== undefined ? out(look.recent).trimEnd() : '',
    remote: origin !== undefined ? publishableRepo(origin.url).repo : null,
  };
}

function out(a: Answer): string {
  return 'out' in a ? a.out : '';
}
