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
