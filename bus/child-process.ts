import { ownRequire } from '../schemas/own-require.js';

/**
 * node:child_process, loaded on first use. Importing it loads net, dgram and their stream code (~16 M
 * instructions, ~175 page faults), which `status` and `dispatch` paid at every start for modules they load but
 * whose git or ssh-keygen processes they rarely start (docs/PERFORMANCE.md "Node's own modules (issue 14, session 10)").
 */
let loaded: typeof import('node:child_process') | undefined;

export function childProcess(): typeof import('node:child_process') {
  loaded ??= ownRequire('node:child_process') as typeof import('node:child_process');
  return loaded;
}
