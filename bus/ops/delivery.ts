import { renderBusFile } from '../../schemas/bus-file.js';
import type { Delivery } from '../../schemas/delivery.js';
import { pathFor } from '../../schemas/layout.js';
import { pushedNothing, unfinishedResolve, type ProjectReport } from '../../schemas/project.js';
import { publishedRemote } from '../project/remote-url.js';
import { transact, type TransactStats } from '../cas.js';
import type { BusContext } from '../context.js';
import { besideBranch } from '../model/delivery-merge.js';
import type { Snapshot } from '../model/snapshot.js';

/** A push that landed after its response went out saying it had not: what the node that holds the attempt publishes. */
export interface LandedPush {
  id: string;
  attempt: number;
  /** Where the project remote took the results: the response's branch, or the branch beside it. */
  branch: string;
  /** The commit the remote now has there: the response's `headCommit`. */
  headCommit: string;
  /**
   * The URL this node pushed to, as node.yaml has it (credentials and all): published, without them, only when the
   * response's `repo` is a project name, as the response's Branch section would have (publishedRemote).
   */
  url?: string;
}

/**
 * What came of publishing a landed push:
 * - `written`: the delivery is on the bus now;
 * - `already`: this node's delivery of that attempt was on the bus already (written before a crash);
 * - `wait`: the response is not on the bus yet (it is on its way, in this node's outbox): try again later;
 * - `moot`: nothing will ever be published for it, `why` says why (the task was archived, another node's response
 *   ends it, its response says the branch was pushed): the local note of the push is dropped.
 */
export type DeliveryOutcome = { outcome: 'written' | 'already' } | { outcome: 'wait' | 'moot'; why: string };

/**
 * Publishes `landed` as `deliveries/<id>.<attempt>.md` (docs/PROTOCOL.md §3a, "A push that lands later"), decided
 * from one snapshot by the compare-and-swap like every write: only for a response of this node's attempt that went
 * out with `project.pushed: false`, and once.
 */
export async function publishDelivery(ctx: BusContext, landed: LandedPush, now = () => new Date()): Promise<DeliveryOutcome & TransactStats> {
  const node = ctx.config.node;
  return transact(ctx, 'deliver', async (snap) => {
    const judged = await whyNot(snap, node, landed);
    if ('outcome' in judged) return { result: judged };
    // A project name means nothing to git elsewhere: without the URL a reader's fetch command would name it.
    const url = landed.url !== undefined ? publishedRemote(judged.repo, landed.url) : undefined;
    const data: Delivery = { id: landed.id, attempt: landed.attempt, node, branch: landed.branch, headCommit: landed.headCommit, ...(url !== undefined ? { url } : {}), delivered: now().toISOString() };
    const body = `The project remote has the results of attempt ${landed.attempt} on \`${landed.branch}\` at ${landed.headCommit.slice(0, 12)} now; the response went out before it took them.\n`;
    return {
      result: { outcome: 'written' as const },
      commit: { changes: [{ path: pathFor({ kind: 'delivery', id: landed.id, attempt: landed.attempt }), content: renderBusFile('delivery', data, body) }], message: `gitbus: deliver ${landed.id} attempt ${landed.attempt} by ${node}` },
    };
  });
}

/** Why no delivery is written for `landed`, or the project report of the response it completes. */
async function whyNot(snap: Snapshot, node: string, landed: LandedPush): Promise<DeliveryOutcome | ProjectReport> {
  const { id, attempt } = landed;
  const files = snap.index.tasks.get(id);
  if (!files) return { outcome: 'moot', why: `task ${id} is not on main any more (archived, or never there): a delivery moves only with its task` };
  if (files.deliveries?.has(attempt)) {
    const v = await snap.view(id);
    return v?.delivery?.node === node && v.delivery.attempt === attempt ? { outcome: 'already' } : { outcome: 'moot', why: `deliveries/${id}.${attempt}.md is on the bus already and does not count as this node's (gitbus show ${id})` };
  }
  const v = await snap.view(id);
  const r = v?.response;
  if (!r) return { outcome: 'wait', why: `the response of ${id} is not on the bus yet` };
  if (r.attempt !== attempt || r.node !== node) return { outcome: 'moot', why: `the response of ${id} ends ${r.attempt === undefined ? 'no attempt' : `attempt ${r.attempt}`} by node ${r.node}, not attempt ${attempt} of this node` };
  const p = r.project;
  if (!p) return { outcome: 'moot', why: `the response of ${id} reports no project work` };
  if (p.pushed) return { outcome: 'moot', why: `the response of ${id} says its branch was pushed already` };
  if (pushedNothing(p)) return { outcome: 'moot', why: `the response of ${id} pushed nothing on purpose (${unfinishedResolve(p) ? 'a resolve that did not succeed' : 'no commit over its base'})` };
  if (p.headCommit !== landed.headCommit || (landed.branch !== p.branch && landed.branch !== besideBranch(p.branch, p.headCommit))) {
    return { outcome: 'moot', why: `the push of ${landed.branch} at ${landed.headCommit.slice(0, 12)} is not the result the response of ${id} names (${p.branch} at ${p.headCommit.slice(0, 12)})` };
  }
  return p;
}
