import { GitbusError } from '../schemas/errors.js';

/** `gitbus ui`: another process listens on the port already. */
export class UiPortInUseError extends GitbusError {
  readonly code = 'UI_PORT_IN_USE';
  constructor(host: string, port: number) {
    super(`port ${port} on ${host} is in use`, 'pick another with --port N, or --port 0 for any free one', { host, port });
  }
}

/** `gitbus ui`: the address cannot be listened on (not this machine's, or a port below 1024 without the right). */
export class UiListenError extends GitbusError {
  readonly code = 'UI_LISTEN_FAILED';
  constructor(host: string, port: number, reason: string) {
    super(`cannot listen on ${host}:${port}: ${reason}`, 'give --host an address of this machine (default 127.0.0.1) and --port a free port above 1023', { host, port, reason });
  }
}

/** The web view's files (web/assets/) are not where this gitbus expects them: a broken install. */
export class UiAssetsMissingError extends GitbusError {
  readonly code = 'UI_ASSETS_MISSING';
  constructor(where: string) {
    super(`the web view's files are not at ${where}`, 'reinstall gitbus (its package includes web/assets/)', { where });
  }
}

/** More event streams open than the web view serves at once (answered 503): each holds a connection and, for output, a task's window. */
export class UiTooManyStreamsError extends GitbusError {
  readonly code = 'UI_TOO_MANY_STREAMS';
  constructor(kind: string, max: number) {
    super(`${max} ${kind} streams are open already, as many as the web view serves at once`, 'close pages you no longer read (each open task page follows its output), then reload', { kind, max });
  }
}

/** The endpoints of `gitbus ui`'s API, for the fix of an answer to a path that is none of them. */
const ENDPOINTS = 'GET /api/fleet, /api/tasks, /api/task/ID, /api/task/ID/output, /api/group/NAME, /api/problems or /api/events';

/** A request to a path under /api that is no endpoint (answered 404). */
export class UiUnknownEndpointError extends GitbusError {
  readonly code = 'UI_UNKNOWN_ENDPOINT';
  constructor(path: string) {
    super(`no endpoint of the web view's API at ${shownPath(path)}`, `ask for one of ${ENDPOINTS}`, { path: shownPath(path) });
  }
}

/** A request to the API with a method that would change something: the web view is read-only (answered 405). */
export class UiMethodNotAllowedError extends GitbusError {
  readonly code = 'UI_METHOD_NOT_ALLOWED';
  constructor(method: string, path: string) {
    super(`${method} ${shownPath(path)}: the web view is read-only and answers GET and HEAD only`, `read it with GET (the CLI changes the bus: gitbus dispatch, respond, cancel, ...)`, { method, path: shownPath(path) });
  }
}

/**
 * A request whose Host header names none of the names this server was bound to (answered 421): a page on another
 * site reaching it through a DNS name it rebinds to this machine, or a name the server does not know it has.
 */
export class UiHostNotAllowedError extends GitbusError {
  readonly code = 'UI_HOST_NOT_ALLOWED';
  constructor(host: string | undefined, allowed: readonly string[]) {
    const shown = allowed.slice(0, 8).join(', ') + (allowed.length > 8 ? `, … (${allowed.length} in all)` : '');
    super(
      host === undefined ? 'the request has no Host header' : `this server does not answer to the host ${JSON.stringify(shownPath(host))}`,
      `open it by one of the names it answers to: ${shown} (a name it was not bound to is refused, so that no other site's page can reach it through DNS)`,
      { host: host === undefined ? null : shownPath(host), allowed },
    );
  }
}

/** A request path as an error quotes it: a client may send one of any length. */
function shownPath(path: string): string {
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}
