/**
 * The code of an error that means the remote, or the way to it, is failing — unreachable, gone, refusing this
 * node, timing out, its git service dying — as opposed to a problem with what was asked (a task already claimed)
 * or with this node. Null for any other error. The watcher backs off on these and reports the outage once
 * instead of once per attempt (watcher/remote-health.ts).
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

/**
 * Remote failures that a person must fix — a refused login or token, a host key to check, a URL or config that
 * cannot work — as opposed to an outage that ends by itself (the network, the host, a mount coming back).
 */
const NEEDS_A_PERSON: ReadonlySet<string> = new Set([
  'REMOTE_AUTH_FAILED',
  'REMOTE_CREDENTIALS_INVALID',
  'REMOTE_URL_INVALID',
  'REMOTE_NOT_SMART_HTTP',
  'REMOTE_INSECURE_REDIRECT',
  'REMOTE_NOT_A_REPOSITORY',
  'REMOTE_NOT_BARE',
  // A read-only mount or changed permissions: a person makes it writable again.
  'REMOTE_NOT_WRITABLE',
  'SSH_AUTH_FAILED',
  'SSH_KEY_PASSPHRASE',
  'SSH_HOST_KEY_CHANGED',
  'SSH_HOST_KEY_UNKNOWN',
  'SSH_KNOWN_HOSTS_LINE_INVALID',
  'SSH_CONFIG_INVALID',
  // main rewound or deleted (bus/remote-main-errors.ts): a person decides whether to put it back.
  'REMOTE_MAIN_REWOUND',
  'REMOTE_MAIN_GONE',
]);

/**
 * The code of an error that means the remote cannot be reached right now (a laptop off the VPN): a
 * change is then queued and a reading command shows the last known state. A failure that needs a person is
 * reported instead, even though the watcher backs off on it too. Null for any other error.
 */
export function outageCode(err: unknown): string | null {
  const code = remoteFailureCode(err);
  return code !== null && !NEEDS_A_PERSON.has(code) ? code : null;
}

/** Errors that came from a push (BusRepo.push), as opposed to a listing or a fetch. */
const pushFailures = new WeakSet<object>();

/** Notes that `err` is a push's failure (the remote may still list fine: a read-only token); returns it. */
export function markPushFailure(err: unknown): unknown {
  if (typeof err === 'object' && err !== null) pushFailures.add(err);
  return err;
}

/** Whether `err` came from a push (markPushFailure). */
export function isPushFailure(err: unknown): boolean {
  return typeof err === 'object' && err !== null && pushFailures.has(err);
}
