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

/**
 * git's hooks folder for this clone is outside it — core.hooksPath set globally or to a folder shared by several
 * repositories — so hooks installed there would lint and push every repository that uses the folder.
 */
export class SharedHooksDirError extends GitbusError {
  readonly code = 'HOOKS_DIR_SHARED';
  /** `origin`: where core.hooksPath is set, as `git config --show-origin` says (null when it is not set). */
  constructor(hooksDir: string, top: string, origin: string | null, fix: string) {
    super(
      `${hooksDir}, where git looks for this clone's hooks, is outside the clone ${top} (${origin !== null ? `core.hooksPath, set in ${origin}` : 'git rev-parse --git-path hooks'}): hooks installed there would run in every repository that uses that folder, linting and pushing them as a bus; nothing was installed`,
      fix,
      { hooksDir, top, origin },
    );
  }
}
