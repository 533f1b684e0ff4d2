import type { Transport } from './transport.js';
import { TransportTimeoutError } from './errors.js';

export interface ListingBudget {
  /** How long one caller waits for a ref listing before it goes on without the remote. */
  budgetMs: number;
  /** After a listing ran out of time: how long later listings fail at once instead of waiting again. */
  rememberMs: number;
}

/**
 * A transport whose ref listing, the first thing every sync asks the remote, answers within a budget: a remote that
 * takes the connection and never answers (packets dropped on the way back) otherwise holds every caller for the
 * transport's own timeout (two minutes over http). Past the budget the caller gets TransportTimeoutError, an
 * outage, so it answers from the last known state as when the remote is down; for `rememberMs` later callers get it
 * at once. The listing itself goes on, one at a time, and a caller that comes while it runs waits for that one: when
 * it succeeds the outage is over. What follows a listing (a fetch, a push) is left to the transport: the remote has
 * just answered. For a long-lived process serving callers that must not wait (the MCP server); the watcher has
 * its own backoff (watcher/remote-health.ts).
 */
export function withListingBudget(inner: Transport, b: ListingBudget, now: () => number = Date.now): Transport {
  let listing: Promise<Map<string, string>> | null = null;
  let down: { until: number; err: TransportTimeoutError } | null = null;
  const listRefs = (): Promise<Map<string, string>> => {
    if (down && now() < down.until) return Promise.reject(down.err);
    if (!listing) {
      const started = inner.listRefs();
      listing = started;
      started.then(
        () => {
          down = null;
        },
        () => {
          // Its callers have its error; one that gave up waiting has its own.
        },
      ).finally(() => {
        if (listing === started) listing = null;
      });
    }
    const current = listing;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new TransportTimeoutError('listing the refs', inner.display, b.budgetMs);
        down = { until: now() + b.rememberMs, err };
        reject(err);
      }, b.budgetMs);
    });
    return Promise.race([current, late]).finally(() => clearTimeout(timer));
  };
  // Every other member as the transport has it (optional ones only when it has them).
  const out: Transport = {
    display: inner.display,
    listRefs,
    advertise: (service) => inner.advertise(service),
    rpc: (service, body) => inner.rpc(service, body),
    close: () => inner.close(),
  };
  if (inner.rpcAdvertised) out.rpcAdvertised = (service, build) => (inner.rpcAdvertised as NonNullable<Transport['rpcAdvertised']>).call(inner, service, build);
  if (inner.uploadArchive) out.uploadArchive = (body) => (inner.uploadArchive as NonNullable<Transport['uploadArchive']>).call(inner, body);
  // One ref read alone (a local remote's file, for a dispatch's delivery): within the outage a listing found, as a
  // listing would be; else as the transport reads it, since only a transport that reads a file has one.
  if (inner.readRef) {
    const readRef = inner.readRef.bind(inner);
    out.readRef = (ref) => (down && now() < down.until ? Promise.reject(down.err) : readRef(ref));
  }
  return out;
}
