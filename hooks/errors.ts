import { GitbusError } from '../schemas/errors.js';

export class NotARepoError extends GitbusError {
  readonly code = 'NOT_A_REPO';
  constructor(dir: string, why: string) {
    super(`${dir} ${why}`, 'run it inside your clone of the bus (make one with "git clone URL"), or point at it with --dir PATH', { dir, why });
  }
}

export class NotABusCheckoutError extends GitbusError {
  readonly code = 'NOT_A_BUS_CHECKOUT';
  constructor(top: string) {
    super(
      `${top} is not a checkout of a bus: there is no gitbus.yaml at its top`,
      'run it in a clone of the bus repository (the one with gitbus.yaml, handoffs/ and responses/ at the top), or point at it with --dir PATH',
      { dir: top },
    );
  }
}

export class HookExistsError extends GitbusError {
  readonly code = 'HOOK_EXISTS';
  constructor(paths: string[], fix: string, why = 'gitbus did not write') {
    super(`${paths.length === 1 ? `${paths[0] ?? ''} exists and ${why} it` : `${paths.join(', ')} exist and ${why} them`}; nothing was installed`, fix, { paths });
  }
}
