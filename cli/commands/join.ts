import type { Command } from 'commander';
import { RUNNER_FLAG_HELP, intFlag, repeatableFlag, repeatableOneOf, schemaFlag } from '../flags.js';
import { labelSchema, nodeNameSchema } from '../../schemas/fields.js';
import { RUNNERS } from '../../schemas/field-limits.js';

import { joinBus } from '../../bus/ops/join.js';
import { rejoinBus } from '../../bus/ops/rejoin.js';
import { openBus } from '../../bus/context.js';
import { homeHasNode } from '../../bus/home.js';
import { leftNote } from '../../bus/left-home.js';
import { normalizeRemote } from '../../bus/remote.js';
import { InputError } from '../../bus/errors.js';
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
      // A home whose node left the bus (gitbus leave): that node joins again, as its node.yaml has it.
      if (homeHasNode(home) && leftNote(home)) return joinAgain(home, url, opts);
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

/**
 * `gitbus join URL` in a home whose node left the bus: it comes back to that bus, as its node.yaml has it, so flags
 * that would make another node of it are refused (edit node.yaml instead, or give another home).
 */
async function joinAgain(home: string, url: string, opts: Opts): Promise<void> {
  const ctx = await openBus(home);
  try {
    const node = ctx.config.node;
    const other = (['label', 'runner', 'parallel', 'force', 'trust', 'trustRoot'] as const).find((k) => opts[k] !== undefined);
    if (other || (opts.node !== undefined && opts.node !== node)) {
      const flag = other === undefined ? '--node' : `--${other.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new InputError(`node ${node} of ${home} left the bus, and joins it again as its node.yaml has it: ${flag} would make another node of it`, `run "gitbus join ${ctx.config.remote}" without ${flag} (edit labels, runners or parallel in ${home}/node.yaml); for another node, give another home: --home DIR`, { flag });
    }
    if (normalizeRemote(url) !== normalizeRemote(ctx.config.remote)) {
      throw new InputError(`node ${node} of ${home} left the bus ${ctx.config.remote}, and this home joins that bus only`, `run "gitbus join ${ctx.config.remote}" to bring it back; to join ${url}, give another home: --home DIR`, { flag: 'URL' });
    }
    const missing = unavailableRunners(ctx.config.runners, opts.json, ctx.config);
    const r = await rejoinBus(ctx, { unavailable: missing.map((m) => m.runner) });
    emit(opts, { ...r, rejoined: true, ...(missing.length ? { missingRunners: missing } : {}) }, () => `node ${r.node} joined ${r.remote} again (home ${r.home}): its card is back on the bus; start its watcher ("gitbus watch", or "gitbus service install")`);
  } finally {
    await ctx.repo.close();
  }
}
