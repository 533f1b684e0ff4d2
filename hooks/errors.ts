import { GitbusError } from '../schemas/errors.js';

export class NotARepoError extends GitbusError {
  readonly code = 'NOT_A_REPO';
  constructor(dir: string, why: string) {
    super(`${dir} ${why}`, 'run it inside your clone of the bus (make one with "git clone -b main URL"), or point at it with --dir PATH', { dir, why });
  }
}

export class NotABusCheckoutError extends GitbusError {
  readonly code = 'NOT_A_BUS_CHECKOUT';
  /** `busBranch`: a remote-tracking main this clone has (the bus), when the checkout is on something else. */
  constructor(top: string, busBranch: string | null = null) {
    super(
      `${top} is not a checkout of a bus: there is no gitbus.yaml at its top`,
      busBranch
        ? `the bus is the main branch, which this clone has as ${busBranch} but has not checked out (git clone checks out the remote's HEAD, which a bus ignores): run "git switch main", then try again`
        : 'run it in a clone of the bus repository (the one with gitbus.yaml, handoffs/ and responses/ at the top; clone it with "git clone -b main URL"), or point at it with --dir PATH',
      { dir: top, busBranch },
    );
  }
}

export class HookExistsError extends GitbusError {
  readonly code = 'HOOK_EXISTS';
  constructor(paths: string[], fix: string, why = 'gitbus did not write') {
    super(`${paths.length === 1 ? `${paths[0] ?? ''} exists and ${why} it` : `${paths.join(', ')} exist and ${why} them`}; nothing was installed`, fix, { paths });
  }
}
