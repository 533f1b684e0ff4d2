/**
 * The code of an error that means the remote, or the way to it, is failing — unreachable, gone, refusing this
 * node, timing out, its git service dying — as opposed to a problem with what was asked (a task already claimed)
 * or with this node. Null for any other error. The watcher backs off on these and reports the outage once
 * instead of once per attempt (watcher/watch.ts).
 *
 * Transports name their errors by family so that this stays short: every code that starts with `REMOTE_` (local
 * and http(s): bus/transport/errors.ts) or `SSH_` (the SSH transport), plus the generic transport failures in
 * the set below. A new transport error that is not a remote failure must not use those prefixes.
 */
export function remoteFailureCode(err: unknown): string | null {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code !== 'string') return null;
  return code.startsWith('REMOTE_') || code.startsWith('SSH_') || GENERIC_TRANSPORT_FAILURES.has(code) ? code : null;
}

const GENERIC_TRANSPORT_FAILURES: ReadonlySet<string> = new Set(['TRANSPORT_TIMEOUT', 'GIT_SERVICE_FAILED']);
