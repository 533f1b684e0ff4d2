import type { Command } from 'commander';
import { RUNNER_FLAG_HELP, intFlag, repeatableFlag, repeatableOneOf, schemaFlag } from '../flags.js';
import { labelSchema, nodeNameSchema } from '../../schemas/fields.js';
import { RUNNERS } from '../../schemas/field-limits.js';

import { joinBus } from '../../bus/ops/join.js';
import { run, withCommon, type CommonOptions } from '../common.js';
import type { NodeConfig } from '../../bus/home.js';
import { emit } from '../output.js';
import { unavailableRunners } from '../runner-check.js';
import { digestFlag, fingerprintsFlag, trustChoiceOf } from '../trust-prompt.js';
import { ownKeyAfterPin, ownKeyFailed, ownKeyText } from '../node-keys.js';

interface Opts extends CommonOptions {
  node?: string;
  label?: string[];
  runner?: string[];
  parallel?: number;
  force?: boolean;
  trust?: string[];
  trustRoot?: string;
}

export function register(program: Command): void {
  withCommon(
    program
      .command('join')
      .argument('<url>', 'the bus remote: a path or file:// URL, an SSH remote (host:path or ssh://user@host[:port]/path, host may be an ~/.ssh/config alias) or an https:// URL')
      .description('add this machine to an existing bus as a new node')
      .option('--node <name>', 'this node\'s name (default: the host name)', schemaFlag('--node', nodeNameSchema))
      .option('--label <label>', 'a label of this node (repeatable)', repeatableFlag('--label', labelSchema))
      .option('--runner <runner>', RUNNER_FLAG_HELP, repeatableOneOf('--runner', RUNNERS))
      .option('--parallel <n>', 'how many tasks the watcher runs at once (default 1)', intFlag('--parallel', 1, 1000))
      .option('--force', 'take over the name of a node already on the bus, when this machine replaces it (refused while that node\'s heartbeat is within the lease)')
      .option('--trust <fingerprints>', 'on a bus with a trust root: the admin key fingerprints you checked (SHA256:..., comma-separated); without it a terminal asks', fingerprintsFlag)
      .option('--trust-root <digest>', 'on a bus with a trust root: pin the version with this digest (sha256:..., from "gitbus trust list" on an admin\'s node)', digestFlag),
  ).action(async (url: string, opts: Opts) =>
    run(opts, async (home) => {
      const runners = (opts.runner ?? []) as NodeConfig['runners'];
      const missing = unavailableRunners(runners, opts.json);
      const r = await joinBus(home, url, { ...(opts.node ? { node: opts.node } : {}), labels: opts.label ?? [], ...(opts.runner ? { runners } : {}), ...(missing.length ? { unavailable: missing.map((m) => m.runner) } : {}), ...(opts.parallel !== undefined ? { parallel: opts.parallel } : {}), ...(opts.force ? { force: true } : {}), trust: trustChoiceOf(opts) });
      // On a bus with a trust root: this node's key is listed now when its configured key is an admin's, else an admin is told how.
      const own = r.trust
        ? await ownKeyAfterPin(home).catch((err: unknown) => {
            ownKeyFailed(err);
            return null;
          })
        : null;
      emit(opts, { ...r, ...(own ? { nodeKey: own } : {}), ...(missing.length ? { missingRunners: missing } : {}) }, () => `joined ${r.remote} as node ${r.node}${r.replaced ? ', replacing the node of that name' : ''} (home ${r.home})${r.trust ? `\npinned trust root version ${r.trust.version} (${r.trust.digest}); admins ${r.trust.admins.map((a) => `${a.principal} ${a.fingerprint}`).join(', ')}` : ''}${own ? `\n${ownKeyText(own)}` : ''}`);
    }),
  );
}
